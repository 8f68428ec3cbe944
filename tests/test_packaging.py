"""A non-editable install carries everything the commands read at run time (the default zoo, the
boards, the code templates, the firmware project) and runs from any folder."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("src") / "tinyml"
    # a copy: building in place would leave build/ and *.egg-info in the checkout
    shutil.copytree(REPO, build, ignore=shutil.ignore_patterns(".git", ".pio", "build", "out", "*.egg-info",
                                                               "__pycache__", ".venv"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(build)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = out.glob("*.whl")
    return path


def test_wheel_holds_the_run_time_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pipeline/bundled/models/zoo.toml" in names and "pipeline/bundled/platformio.ini" in names
    assert "pipeline/bundled/models/space.toml" in names  # tinyml sweep's default space
    firmware = {n.removeprefix("pipeline/bundled/") for n in names if n.startswith("pipeline/bundled/firmware/")}
    if (REPO / ".git").exists() and shutil.which("git"):  # exactly the tracked firmware sources
        tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "firmware"], capture_output=True,
                                 text=True, check=True).stdout.split()
        assert firmware == set(tracked)
    assert {"pipeline/boards/nano33ble.toml", "pipeline/boards/qemu_mps2_an386.toml"} <= names
    assert {"pipeline/codegen/templates/model_data.cc.tmpl", "pipeline/codegen/templates/model_ops.h.tmpl"} <= names


def test_installed_package_loads_the_default_zoo_from_elsewhere(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    code = ("import pipeline.model.specs as s, pipeline.board as b; "
            "print(s.default_zoo().parents[3] == __import__('pathlib').Path(%r), "
            "len(s.load_zoo()), b.load_board().key)" % str(target))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(target)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "6", "nano33ble"]


def test_a_local_venv_is_ignored():
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", ".venv/bin/python"])
    assert proc.returncode == 0


def test_every_subpackage_is_in_the_wheel():
    """pyproject.toml names the packages (the bundled folders are mapped): a new subpackage must be
    named there too, or the wheel would lack it."""
    from pipeline.tomlcompat import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "pipeline").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    return target


def _installed_cli(installed, cwd, *args, env=None):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(installed), **(env or {})})


def test_installed_package_analyzes_and_generates_from_any_folder(installed, tmp_path):
    from suite_models import _keras, convert

    keras = _keras()
    inputs = keras.Input((8, 8, 1), batch_size=1)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(inputs)
    x = keras.layers.Conv2D(4, 1)(x)
    outputs = keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(x)))
    model = tmp_path / "m.tflite"
    model.write_bytes(convert(keras.Model(inputs, outputs), float_io=False))
    analyzed = _installed_cli(installed, tmp_path, "analyze", model, "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    generated = _installed_cli(installed, tmp_path, "firmware", model, "--out", tmp_path / "gen",
                               "--measurements", tmp_path / "m")
    assert generated.returncode == 0, generated.stderr
    assert sorted(p.name for p in (tmp_path / "gen").iterdir()) == ["model_data.cc", "model_data.h", "model_ops.h"]


def test_installed_package_builds_and_runs_the_qemu_firmware_from_its_own_copy(installed, tmp_path):
    """The emulator's sources come from the wheel (no checkout): the port's self-test firmware,
    built with CMake and run in QEMU from the installed package."""
    from cbuild import require_emulator_tools

    require_emulator_tools("the installed emulator build")
    code = ("from pathlib import Path; from pipeline.emulator import build, qemu; "
            "import pipeline.project as p; assert 'site' in str(p.firmware_dir()), p.firmware_dir(); "
            "tree = build.configure(Path('work'), None); build.build_target(tree, 'qemu_selftest'); "
            "print(qemu.run_firmware(tree / 'qemu_selftest.elf', 60).model)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONPATH": str(installed)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "qemu_selftest"
