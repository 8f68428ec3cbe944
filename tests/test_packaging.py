"""A non-editable install carries everything `tinyml run` reads at run time (the default zoo,
the boards, the code templates) and runs from any folder."""
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
    assert "pipeline/model/zoo.toml" in names
    assert {"pipeline/boards/nano33ble.toml", "pipeline/boards/qemu_mps2_an386.toml"} <= names
    assert {"pipeline/codegen/templates/model_data.cc.tmpl", "pipeline/codegen/templates/model_ops.h.tmpl"} <= names


def test_installed_package_loads_the_default_zoo_from_elsewhere(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    code = ("import pipeline.model.specs as s, pipeline.board as b; "
            "print(s.DEFAULT_ZOO.parent.parent.parent == __import__('pathlib').Path(%r), "
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
