"""`tinyml firmware` prints PlatformIO commands that work from where the user stands: `-d` names
the project when the current folder is not it."""
import shlex
import shutil
import subprocess

from pipeline.commands.firmware import CHECKOUT_PLACEHOLDER, pio_commands
from pipeline.project import source_checkout

REPO = source_checkout()


def test_outside_the_project_the_commands_name_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = dict(pio_commands(REPO, "nano33ble", tmp_path / "gen"))
    words = shlex.split(commands["build"])
    assert words[0] == f"TINYML_GENERATED_DIR={tmp_path / 'gen'}"
    assert words[words.index("-d") + 1] == str(REPO)
    pio = shutil.which("pio")
    if pio:  # PlatformIO itself finds the project from here with these words
        proc = subprocess.run([pio, "project", "config", "-d", words[words.index("-d") + 1]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "env:nano33ble" in proc.stdout, proc.stderr


def test_inside_the_project_no_d_and_without_a_project_a_placeholder(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    build = dict(pio_commands(REPO, "nano33ble", REPO / "firmware" / "generated"))["build"]
    assert build == "pio run -e nano33ble"
    monkeypatch.chdir(REPO / "firmware")
    assert f" -d {REPO} " in dict(pio_commands(REPO, "nano33ble", REPO / "firmware" / "generated"))["build"]
    assert f"-d {CHECKOUT_PLACEHOLDER}" in dict(pio_commands(None, "nano33ble", tmp_path))["build"]
