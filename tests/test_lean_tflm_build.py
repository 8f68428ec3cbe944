"""The emulator's lean TFLM build and `tinyml run`'s emulation step, without TFLM sources: kernel
selection on a miniature library tree laid out like the Arduino TFLM library, the build's progress
line, and the prerequisites' skip/fail paths (PlatformIO offline included)."""
from __future__ import annotations

import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.errors import PipelineError
from pipeline.emulator import build as emu_build, qemu as emu_qemu, stage as emu_stage, toolchain as emu_tools
from pipeline.emulator import kernel_sources
from pipeline.emulator.build_progress import progress_of, run_build
from pipeline.emulator.toolchain import plan_emulation
from pipeline.emulator.tflm_library import install_tflm, tflm_lib_dep

REPO = Path(__file__).resolve().parents[1]

RESOLVER = """
  TfLiteStatus AddConv2D(
      const TfLiteRegistration& registration = Register_CONV_2D()) {
    return AddBuiltin(BuiltinOperator_CONV_2D, registration, ParseConv2D);
  }
  TfLiteStatus AddReshape() {
    return AddBuiltin(BuiltinOperator_RESHAPE,
                      tflite::ops::micro::Register_RESHAPE(), ParseReshape);
  }
  TfLiteStatus AddSoftmax(
      const TfLiteRegistration& registration = Register_SOFTMAX()) {
    return AddBuiltin(BuiltinOperator_SOFTMAX, registration, ParseSoftmax);
  }
"""
MODEL_OPS = """inline TfLiteStatus tinyml_register_ops(TinymlOpResolver& r) {
  if (r.AddConv2D() != kTfLiteOk) return kTfLiteError;  // CONV_2D
  if (r.AddReshape() != kTfLiteOk) return kTfLiteError;  // RESHAPE
  return kTfLiteOk;
}"""


def make_library(root: Path) -> Path:
    src = root / "src"
    kernels = src / kernel_sources.KERNELS_DIR
    (kernels / "cmsis_nn").mkdir(parents=True)
    (src / kernel_sources.RESOLVER_HEADER).write_text(RESOLVER)
    files = {
        "conv.cpp": "TfLiteRegistration Register_CONV_2D() { return r; }",   # reference, replaced
        "cmsis_nn/conv.cpp": "TfLiteRegistration Register_CONV_2D() {\n return r; }\n"
                             "TfLiteRegistration Register_CONV_2D_INT8() { return r; }",
        "conv_common.cpp": "void ConvPrepare() {}",
        "reshape.cpp": "namespace micro {\nTfLiteRegistration Register_RESHAPE() { return r; }\n}",
        "softmax.cpp": "TfLiteRegistration Register_SOFTMAX() { return r; }",
        "softmax_common.cpp": "",
        "kernel_util.cpp": "",
        "lstm_eval.cpp": "",
    }
    for name, text in files.items():
        (kernels / name).write_text(text)
    return src


def test_only_the_resolvers_kernels_are_selected(tmp_path):
    src = make_library(tmp_path / "tflm")
    models = tmp_path / "models"
    (models / "a").mkdir(parents=True)
    (models / "a" / "model_ops.h").write_text(MODEL_OPS)
    chosen = [p.as_posix() for p in kernel_sources.models_kernel_sources(src, models)]
    k = "tensorflow/lite/micro/kernels/"
    # CMSIS-NN's conv wins over the reference one; softmax is not used; its common file neither
    assert chosen == [k + "cmsis_nn/conv.cpp", k + "conv_common.cpp", k + "kernel_util.cpp",
                      k + "reshape.cpp"]
    # a second model adds its ops to the union
    (models / "b").mkdir()
    (models / "b" / "model_ops.h").write_text(MODEL_OPS.replace("AddReshape", "AddSoftmax"))
    chosen = [p.as_posix() for p in kernel_sources.models_kernel_sources(src, models)]
    assert k + "softmax.cpp" in chosen and k + "softmax_common.cpp" in chosen
    assert k + "conv.cpp" not in chosen and k + "lstm_eval.cpp" not in chosen
    assert kernel_sources.cmake_list([Path("a/b.cpp"), Path("c.cpp")]) == "a/b.cpp;c.cpp"


def test_no_model_means_the_whole_library(tmp_path):
    src = make_library(tmp_path / "tflm")
    assert kernel_sources.models_kernel_sources(src, tmp_path / "none") is None
    assert emu_build._kernel_list(None, tmp_path) == ""


def test_configure_passes_the_kernel_list_to_cmake(tmp_path, monkeypatch):
    root = tmp_path / "tflm"
    make_library(root)
    (tmp_path / "work" / "models" / "a").mkdir(parents=True)
    (tmp_path / "work" / "models" / "a" / "model_ops.h").write_text(MODEL_OPS)
    seen = []
    monkeypatch.setattr(emu_build, "_run_step", lambda command, what, timeout: seen.append(command) or "")
    emu_build.configure(tmp_path / "work", root)
    (option,) = [a for a in seen[0] if a.startswith("-DTFLM_KERNEL_SOURCES=")]
    assert "cmsis_nn/conv.cpp" in option and "softmax" not in option


@pytest.mark.parametrize("line, expected", [
    ("[3/120] Building CXX object CMakeFiles/tflm.dir/x/conv.cpp.obj", (3 / 120, "Building CXX object CMakeFiles/tflm.dir/x/conv.cpp.obj")),
    ("[ 45%] Building C object x.c.obj", (0.45, "Building C object x.c.obj")),
    ("In file included from foo.h", None),
])
def test_progress_lines_of_ninja_and_make(line, expected):
    assert progress_of(line) == expected


def fake_build(tmp_path, text: str, code: int) -> list[str]:
    script = tmp_path / "build.py"
    script.write_text(f"import sys\nsys.stdout.write({text!r})\nsys.exit({code})\n")
    return [sys.executable, str(script)]


def test_build_shows_progress_and_reports_errors_in_one_line(tmp_path):
    steps = "".join(f"[{i}/20] Building CXX object CMakeFiles/tflm.dir/k{i}.cpp.obj\n" for i in range(1, 21))
    log = StringIO()
    run_build(fake_build(tmp_path, steps, 0), "build of fw", 60, "building fw", log)
    shown = log.getvalue().splitlines()
    assert shown[0] == "building fw:   5% k1.cpp" and shown[-1] == "building fw: 100% k20.cpp"
    assert len(shown) == 11  # one line per tenth when not on a terminal
    with pytest.raises(PipelineError) as info:
        run_build(fake_build(tmp_path, "[1/2] x\nconv.cpp:3: error: boom\n", 1), "build of fw", 60,
                  "building fw", StringIO())
    assert "build of fw failed (exit 1): conv.cpp:3: error: boom" == str(info.value)


def test_tflm_lib_dep_comes_from_platformio_ini():
    spec = tflm_lib_dep(REPO, "nano33ble")
    assert spec.startswith("https://github.com/tensorflow/tflite-micro-arduino-examples.git#")
    assert tflm_lib_dep(REPO, "nano33ble_renode") == spec  # through `extends`


def offline_pio(command, **kwargs):
    assert command[-6:] == ["-e", "nano33ble", "-l", tflm_lib_dep(REPO, "nano33ble"), "--no-save",
                            "--skip-dependencies"]
    assert command[command.index("pkg"):command.index("pkg") + 2] == ["pkg", "install"]
    return SimpleNamespace(returncode=1, stdout="", stderr=(
        "fatal: unable to access 'https://github.com/...': Could not resolve host: github.com\n"))


def test_offline_platformio_install_is_one_line():
    with pytest.raises(PipelineError) as info:
        install_tflm(REPO, "nano33ble", runner=offline_pio)
    message = str(info.value)
    assert "\n" not in message and "unreachable" in message and "--tflm-dir" in message


@pytest.fixture
def no_library(monkeypatch, tmp_path):
    monkeypatch.delenv(emu_tools.TFLM_ENV, raising=False)
    monkeypatch.setattr(emu_tools, "require_tools", lambda: None)
    monkeypatch.setattr(emu_tools, "platformio_tflm_dirs", lambda project_dir=None: [])
    return tmp_path


def test_default_run_skips_with_the_reason_when_platformio_is_offline(no_library):
    def installer(project, env):
        install_tflm(project, env, runner=offline_pio)

    said = []
    plan = plan_emulation(None, project_dir=REPO, installer=installer, notify=said.append)
    assert plan.tflm_root is None and "could not install the TFLM library" in plan.skipped
    assert "\n" not in plan.skipped and said and "asking PlatformIO" in said[0]
    with pytest.raises(PipelineError, match="could not install"):  # --emulate: an error
        plan_emulation(True, project_dir=REPO, installer=installer)
    assert plan_emulation(False).skipped == "--no-emulate"


def test_missing_toolchain_skips_without_asking_platformio(monkeypatch):
    def missing():
        raise PipelineError("qemu-system-arm not found: install the Debian package qemu-system-arm")

    monkeypatch.setattr(emu_tools, "require_tools", missing)
    plan = plan_emulation(None, installer=lambda *a: pytest.fail("must not install"))
    assert plan.skipped.startswith("qemu-system-arm not found")


def test_a_named_library_that_is_wrong_is_an_error_not_a_download(no_library, monkeypatch):
    """--tflm-dir (or $TFLM_ARDUINO_DIR) is the user's input: a wrong one is refused even without
    --emulate, and nothing is downloaded over it."""
    for requested in (None, True):
        with pytest.raises(PipelineError, match="is not the TFLM Arduino library"):
            plan_emulation(requested, str(no_library / "nothing"), installer=lambda *a: pytest.fail("installed"))
    monkeypatch.setenv(emu_tools.TFLM_ENV, str(no_library / "nothing"))
    with pytest.raises(PipelineError, match="is not the TFLM Arduino library"):
        plan_emulation(None, installer=lambda *a: pytest.fail("installed"))


def test_installed_library_is_used(no_library, monkeypatch, tmp_path):
    installed = []
    monkeypatch.setattr(emu_tools, "resolve_tflm_dir", lambda d, project=None: (
        tmp_path / "lib" if installed else (_ for _ in ()).throw(PipelineError("no TFLM library given"))))
    plan = plan_emulation(None, installer=lambda project, env: installed.append(env))
    assert installed == ["nano33ble"] and plan.tflm_root == tmp_path / "lib"


def test_every_built_model_is_emulated_with_each_kernel_set_and_kept_records_stay(tmp_path, monkeypatch):
    """Models that do not fit the board are emulated too (the pair comparison needs them); a
    record from an earlier run stays unless --force; one failure is recorded and the rest go on."""
    from pipeline import driver
    from pipeline.board import load_board
    from pipeline.records import write_record
    from results_fixtures import emulated, result

    out = tmp_path / "out"
    outcomes = []
    for name, fits in (("a", True), ("b", False), ("c", True)):
        (out / "models" / name).mkdir(parents=True)
        outcomes.append(driver.ModelOutcome(name, result(name, "separable", fits=fits), None))
    write_record(out / "models" / "c" / "emulated.json", emulated("c", ["CONV_2D"], [1]))
    calls = []

    def fake_emulate(analysis, root, board, verify=None, kernels="cmsis-nn"):
        calls.append((analysis, kernels))
        if analysis == "a":
            raise PipelineError("firmware reported alloc_failed")
        return emulated(analysis, ["CONV_2D"], [1], kernels=kernels)

    monkeypatch.setattr(driver, "analyze_file", lambda path, boards: Path(path).stem)
    monkeypatch.setattr(driver, "emulate_analysis", fake_emulate)
    request = driver.RunRequest(out=out, board=load_board(), kernels=("cmsis-nn", "tinyml"), verify_samples=0)
    done = [driver._emulate_outcome(o, request, tmp_path, driver.Events(), None) for o in outcomes]
    assert calls == [("a", "cmsis-nn"), ("a", "tinyml"), ("b", "cmsis-nn"), ("b", "tinyml"), ("c", "tinyml")]
    assert [(p.model, p.kernels, p.reason) for p in done[0].problems] == [
        ("a", "cmsis-nn", "firmware reported alloc_failed"), ("a", "tinyml", "firmware reported alloc_failed")]
    assert (out / "models" / "b" / "emulated_tinyml.json").is_file() and not done[1].problems


def _github_resolves() -> bool:
    try:
        socket.gethostbyname("github.com")
        return True
    except OSError:
        return False


@pytest.mark.skipif(_github_resolves(), reason="online: the offline path of the real PlatformIO "
                                               "cannot be shown here")
def test_real_platformio_offline_fails_fast_in_one_line(tmp_path):
    pytest.importorskip("platformio")
    (tmp_path / "platformio.ini").write_text((REPO / "platformio.ini").read_text())
    with pytest.raises(PipelineError) as info:
        install_tflm(tmp_path, "nano33ble")
    assert "\n" not in str(info.value) and "unreachable" in str(info.value)
    assert not (tmp_path / ".pio" / "libdeps" / "nano33ble" / "Arduino_TensorFlowLite").exists()


def test_run_emulate_with_a_wrong_library_fails_before_training(tmp_path, capsys, monkeypatch):
    from pipeline.cli import main

    monkeypatch.setattr(emu_tools, "require_tools", lambda: None)
    zoo = tmp_path / "zoo.toml"
    zoo.write_text('[[model]]\nname = "m"\nconv = "separable"\nalpha = 0.25\nresolution = 16\n'
                   'blocks = 1\nchannels = 1\nclasses = 10\nepochs = 1\n')
    code = main(["run", "--zoo", str(zoo), "--out", str(tmp_path / "out"), "--emulate",
                 "--tflm-dir", str(tmp_path / "nothing")])
    err = capsys.readouterr().err
    assert code == 2 and "is not the TFLM Arduino library" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # failed before any model was built
