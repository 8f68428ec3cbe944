"""`tinyml emulate` and pipeline.emulator: bad-input handling and the JSON interface (run anywhere),
and a real int8 model built, run in QEMU against the TFLM Arduino library (needs TFLM_ARDUINO_DIR,
which CI cannot download: skipped there with that reason)."""
from __future__ import annotations

import json
from dataclasses import replace
import math
import os
from pathlib import Path

import pytest

from pipeline.emulator import build as emu_build, qemu as emu_qemu, stage as emu_stage, toolchain as emu_tools
from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.perf.counts import PRIMARY_CLASSES

INTERFACE_KEYS = {"arena_used_bytes", "instructions", "instructions_min", "instructions_max",
                  "layers", "text_bytes", "arena_predicted_bytes", "output_crc32",
                  "estimated_cycles", "estimated_ms", "clock_hz"}  # issue 10


# --- environment and input checks ------------------------------------------------------------------

def test_missing_library_path_says_how_to_give_it(monkeypatch, tmp_path):
    monkeypatch.delenv(emu_tools.TFLM_ENV, raising=False)
    with pytest.raises(PipelineError, match="--tflm-dir or set TFLM_ARDUINO_DIR"):
        emu_tools.resolve_tflm_dir(None, project_dir=tmp_path)


def test_wrong_library_path_names_the_expected_file(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(PipelineError) as caught:
        emu_tools.resolve_tflm_dir(tmp_path)
    assert str(tmp_path / "src/tensorflow/lite/micro/micro_interpreter.h") in str(caught.value)


def _fake_library(root: Path, debug_log: str) -> Path:
    micro = root / "src/tensorflow/lite/micro"
    (micro / "kernels/cmsis_nn").mkdir(parents=True)
    (micro / "micro_interpreter.h").write_text("// fake\n")
    (micro / "kernels/cmsis_nn/conv.cpp").write_text("// fake\n")
    (micro / "debug_log.h").write_text(debug_log)
    return root


def test_other_tflm_version_is_refused_naming_the_file(tmp_path):
    # Upstream TFLM of 2024+ declares DebugLog(const char* format, va_list args).
    root = _fake_library(tmp_path, 'extern "C" void DebugLog(const char* format, va_list args);\n')
    with pytest.raises(PipelineError, match="another TFLM version: expected .*debug_log.h"):
        emu_tools.resolve_tflm_dir(root)


def test_the_2023_arduino_library_layout_is_accepted(tmp_path, monkeypatch):
    root = _fake_library(tmp_path, "void DebugLog(const char* s);\n")
    monkeypatch.setenv(emu_tools.TFLM_ENV, str(root))
    assert emu_tools.resolve_tflm_dir(None) == root.resolve()


def test_platformio_libdeps_copy_is_found(tmp_path, monkeypatch):
    monkeypatch.delenv(emu_tools.TFLM_ENV, raising=False)
    root = _fake_library(tmp_path / ".pio/libdeps/nano33ble/Arduino_TensorFlowLite",
                         "void DebugLog(const char* s);\n")
    assert emu_tools.resolve_tflm_dir(None, project_dir=tmp_path) == root.resolve()


@pytest.mark.parametrize("program,package", [("qemu-system-arm", "qemu-system-arm"),
                                             ("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
                                             ("cmake", "cmake")])
def test_missing_tool_names_the_debian_package(monkeypatch, program, package):
    real_which = emu_tools.shutil.which
    monkeypatch.setattr(emu_tools.shutil, "which",
                        lambda name: None if name == program else real_which(name) or "/bin/true")
    with pytest.raises(PipelineError, match=f"{program} not found: install the Debian package {package}"):
        emu_tools.require_tools()


def test_cli_reports_a_wrong_library_path_and_exits_2(tmp_path, capsys, monkeypatch):
    if any(emu_tools.shutil.which(tool) is None for tool in emu_tools.TOOLS):
        monkeypatch.setattr(emu_tools, "require_tools", lambda: None)  # the library check comes next
    # Two models: the environment is checked once before either (one model is checked first).
    code = main(["emulate", str(tmp_path / "m.tflite"), str(tmp_path / "n.tflite"),
                 "--tflm-dir", str(tmp_path), "--json"])
    assert code == 2
    assert "micro_interpreter.h" in capsys.readouterr().err


def test_qemu_runs_headless_with_instruction_counting(tmp_path):
    command = emu_qemu.qemu_command(tmp_path / "fw.elf")
    assert command[:3] == ["qemu-system-arm", "-M", "mps2-an386"]
    assert "-nographic" in command
    assert command[command.index("-icount") + 1] == "shift=0"
    assert command[command.index("-serial") + 1].startswith("tcp:127.0.0.1:")


# --- result shape ---------------------------------------------------------------------------------

def test_result_json_has_the_interface_of_issue_4():
    from pipeline.records import EmulatedLayer, to_plain
    from results_fixtures import emulated

    layers = (EmulatedLayer(0, "CONV_2D", 600, "conv", 40), EmulatedLayer(1, "DEPTHWISE_CONV_2D", 300, "depthwise", 36),
              EmulatedLayer(2, "CONV_2D", 80, "pointwise", 32), EmulatedLayer(3, "CONV_2D", 20, "conv", 10))
    record = replace(emulated("m", ["CONV_2D"], [1000]), layers=layers, macs=500, arena_used_bytes=2000,
                     arena_predicted_bytes=2050)
    data = json.loads(json.dumps(to_plain(record)))
    assert INTERFACE_KEYS <= set(data)
    assert data["layers"][0] == {"index": 0, "op": "CONV_2D", "instructions": 600, "kind": "conv",
                                 "macs": 40, "instructions_per_mac": 15.0,
                                 "estimated_cycles": None, "kernel": None}  # no plugin run in this result
    assert data["arena_error_pct"] == 2.5
    assert data["flash_bytes"] == 100_200
    # the first convolution is reported apart from later standard convolutions
    assert data["layer_kinds"]["first_conv"]["instructions_per_mac"] == 15.0
    assert data["layer_kinds"]["conv"] == {"layers": 1, "macs": 10, "instructions": 20,
                                           "instructions_per_mac": 2.0}


# --- the real thing: TFLM in QEMU ------------------------------------------------------------------

def _tflm_dir() -> str:
    path = os.environ.get(emu_tools.TFLM_ENV)
    if not path:
        pytest.skip(f"{emu_tools.TFLM_ENV} not set: the emulator test needs a local checkout of "
                    "tensorflow/tflite-micro-arduino-examples (see DEVELOPERS.md)")
    emu_tools.require_tools()
    return path


@pytest.fixture(scope="module")
def digits_tflite(tmp_path_factory) -> Path:
    """A small separable int8 model (conv, depthwise, pointwise, average pool, dense, softmax)
    trained briefly and calibrated on sklearn's digits, resized to 32x32."""
    _tflm_dir()
    import keras
    import tensorflow as tf

    from pipeline.model.quantize import convert_keras_int8
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = tf.image.resize(digits.images[..., None].astype("float32") / 16.0, (32, 32)).numpy()
    inp = keras.Input((32, 32, 1), batch_size=1)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(h)
    h = keras.layers.Conv2D(16, 1, activation="relu6")(h)
    h = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(h)
    h = keras.layers.Conv2D(32, 1, activation="relu6")(h)
    h = keras.layers.AveragePooling2D(8)(h)
    out = keras.layers.Softmax()(keras.layers.Dense(10)(keras.layers.Flatten()(h)))
    model = keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, digits.target, batch_size=1, epochs=1, verbose=0)

    def representative():
        for i in range(100):
            yield [x[i:i + 1]]

    path = tmp_path_factory.mktemp("emulate") / "digits_sep32.tflite"
    path.write_bytes(convert_keras_int8(model, representative))
    return path


@pytest.mark.tflm
def test_emulate_measures_a_real_model(digits_tflite):
    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.board import load_board
    from pipeline.records import instructions_by_kind, to_plain
    from pipeline.serial_link.reader import load_run_result

    # The default work folder keeps the TFLM library build between runs (it takes minutes).
    analysis = analyze_file(digits_tflite, [load_board()])
    emulation = emu_stage.emulate(analysis, Path(_tflm_dir()), runs=3, warmup=1)
    result = emulation.record

    assert [layer.op for layer in result.layers] == list(analysis.tflite.operators)
    assert [layer.macs for layer in result.layers] == [c.macs for c in analysis.tflite.layers]
    assert all(layer.instructions > 0 for layer in result.layers)
    # Deterministic emulation: repeated invokes differ only by SysTick interrupts.
    assert result.instructions_min <= result.instructions <= result.instructions_max
    assert result.instructions_max - result.instructions_min <= 0.001 * result.instructions
    # Layers add up to the invoke, less the interpreter's own work between them.
    layer_sum = sum(layer.instructions for layer in result.layers)
    assert 0.9 * result.instructions <= layer_sum <= result.instructions
    # CMSIS-NN pointwise convolutions need a handful of instructions per MAC, not hundreds.
    kinds = instructions_by_kind(result.layers)
    assert 0.5 < kinds["pointwise"]["instructions_per_mac"] < 10
    assert 0 < result.arena_used_bytes <= result.arena_size_bytes
    assert abs(result.arena_error_pct) < 1  # the 32-bit prediction (pipeline/analysis/arena.py)
    assert result.text_bytes > 50_000  # TFLM + CMSIS-NN are linked in

    data = to_plain(result)
    assert INTERFACE_KEYS <= set(data)
    assert emulation.run_result.is_file()
    # protocol v2: the firmware's CRC-32 of the output tensor, kept in the run's record too
    run = load_run_result(emulation.run_result)
    assert isinstance(data["output_crc32"], int) and data["output_crc32"] == run.output_crc32
    out = analysis.tflite.outputs[0]
    assert out.dtype == "int8" and run.output.bytes == math.prod(out.shape)
    # The cycle estimate (issue 10): the plugin counted the same invoke the SysTick clock timed
    # (which adds its own reads and 40-instruction ticks), per layer and in total.
    est = result.estimated_cycles
    assert est is not None, result.estimate_skipped
    counted = sum(result.estimate_counts.get(c, 0) for c in PRIMARY_CLASSES)
    assert abs(counted - result.instructions) <= 0.002 * result.instructions + 400
    assert all(layer.estimated_cycles.cache_off > layer.estimated_cycles.cache_on > 0
               for layer in result.layers)
    # Cycles are at least one per instruction, and a Cortex-M4 does at most 2 int8 MACs per cycle.
    assert est.cache_on >= counted
    assert result.macs / est.cache_on < 2
    assert data["estimated_ms"]["cache_on"] == pytest.approx(1000 * est.cache_on / 64_000_000, rel=1e-3)


@pytest.mark.tflm
def test_each_models_firmware_reuses_the_precompiled_tflm_header(digits_tflite):
    """TFLM's headers are most of a model's compile (a sweep builds one model per point under the
    tree's lock): the model's main source takes them precompiled, and GCC really uses them (a
    header compiled with other definitions would be passed over: 'x' under -H, a warning)."""
    import shlex
    import subprocess

    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.board import load_board

    analysis = analyze_file(digits_tflite, [load_board()])
    elf = emu_stage.emulate(analysis, Path(_tflm_dir()), runs=1, warmup=0).elf
    tree = elf.parent
    commands = subprocess.run(["ninja", "-C", str(tree), "-t", "commands", elf.stem], check=True,
                              capture_output=True, text=True).stdout.splitlines()
    main_compile = next(c for c in commands if c.endswith("tflm_main.cc"))
    data_compile = next(c for c in commands if c.endswith("model_data.cc"))
    assert "tinyml_tflm_pch.dir/cmake_pch.hxx" in main_compile
    assert "cmake_pch" not in data_compile  # an array of bytes: loading the header costs more
    words = shlex.split(main_compile)
    words[words.index("-o") + 1] = os.devnull
    words[words.index("-MF") + 1] = os.devnull
    compiled = subprocess.run([*words, "-H"], cwd=tree, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert "not used because" not in compiled.stderr
    assert any(line.startswith("! ") and line.endswith("cmake_pch.hxx.gch")
               for line in compiled.stderr.splitlines()), compiled.stderr[:2000]


@pytest.mark.tflm
def test_cli_json_for_one_model(digits_tflite, capsys):
    code = main(["emulate", str(digits_tflite), "--tflm-dir", _tflm_dir(), "--json",
                 "--runs", "3", "--warmup", "1"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert INTERFACE_KEYS <= set(data)
    assert data["unit"] == "instructions"


@pytest.mark.tflm
def test_a_failing_model_does_not_stop_the_others(digits_tflite, tmp_path, capsys):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer")
    code = main(["emulate", str(broken), str(digits_tflite), "--tflm-dir", _tflm_dir(), "--json",
                 "--runs", "2", "--warmup", "0"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 2
    assert "error" in lines[0] and lines[0]["tflite"] == str(broken)
    assert lines[1]["instructions"] > 0
