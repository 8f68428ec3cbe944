"""Find the TFLM Arduino library for the emulator build, or have PlatformIO's package manager fetch
the one platformio.ini pins (its lib_deps), never a download of our own.

`pio pkg install -e <env> -l <lib_deps entry> --no-save --skip-dependencies` puts the library
where `pio run` would (.pio/libdeps/<env>/Arduino_TensorFlowLite), which
pipeline.emulator.toolchain.resolve_tflm_dir already looks at. Without network PlatformIO fails in
seconds (git cannot resolve github.com); that becomes one line saying what to do.
"""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path
from typing import Callable

from pipeline.errors import PipelineError
from pipeline.project import platformio_command

TFLM_LIB_MARKERS = ("tflite-micro-arduino-examples", "Arduino_TensorFlowLite")
INSTALL_TIMEOUT_S = 900
_OFFLINE_SIGNS = (
    "Could not resolve host",
    "HTTPClientError",
    "ConnectionError",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def tflm_lib_dep(project_dir: Path, env: str) -> str:
    """The lib_deps entry of `[env:<env>]` (or what it extends) that names the TFLM library."""
    ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    if not ini.read(project_dir / "platformio.ini"):
        raise PipelineError(f"no platformio.ini in {project_dir}: run inside the project checkout")
    section = f"env:{env}"
    seen = set()
    while section in ini and section not in seen:
        seen.add(section)
        entries = [line.strip() for line in ini[section].get("lib_deps", "").splitlines() if line.strip()]
        for entry in entries:
            if any(marker in entry for marker in TFLM_LIB_MARKERS):
                return entry
        section = ini[section].get("extends", "").strip()
    raise PipelineError(
        f"platformio.ini's [env:{env}] lib_deps name no TFLM library "
        f"({' or '.join(TFLM_LIB_MARKERS)}): add it, or pass --tflm-dir"
    )


def install_command(project_dir: Path, env: str, spec: str) -> list[str]:
    return platformio_command() + [
        "pkg",
        "install",
        "-d",
        str(project_dir),
        "-e",
        env,
        "-l",
        spec,
        "--no-save",
        "--skip-dependencies",
    ]


def install_tflm(
    project_dir: Path, env: str, runner: Callable[..., subprocess.CompletedProcess] = subprocess.run
) -> None:
    """Has PlatformIO install the pinned TFLM library into .pio/libdeps/<env>/; one-line
    PipelineError when it cannot (offline, PlatformIO missing)."""
    command = install_command(project_dir, env, tflm_lib_dep(project_dir, env))
    try:
        proc = runner(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"`{' '.join(command)}` did not finish in {INSTALL_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        if any(sign in output for sign in _OFFLINE_SIGNS):
            raise PipelineError(
                "PlatformIO could not install the TFLM library: GitHub is unreachable "
                "from here; connect once, or pass --tflm-dir / set TFLM_ARDUINO_DIR to a "
                "checkout of tflite-micro-arduino-examples"
            )
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        last = lines[-1] if lines else "(no output)"
        last = last if len(last) <= 160 else last[:157] + "..."
        raise PipelineError(
            f"PlatformIO could not install the TFLM library (exit {proc.returncode}: "
            f"{last}); pass --tflm-dir / set TFLM_ARDUINO_DIR to a checkout of the library"
        )
