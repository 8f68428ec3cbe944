"""The tools the emulator build needs: QEMU, CMake, Debian's arm-none-eabi toolchain with newlib
and libstdc++, and the pinned TFLM Arduino library (found, never downloaded by us: PlatformIO's
package manager fetches it, pipeline.emulator.tflm_library)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.emulator.tflm_library import install_tflm
from pipeline.errors import PipelineError
from pipeline.project import cache_dir, project_root, source_checkout

TFLM_ENV = "TFLM_ARDUINO_DIR"
# Files that identify the 2023 Arduino TFLM library (relative to its root).
TFLM_MARKER = Path("src/tensorflow/lite/micro/micro_interpreter.h")
TFLM_DEBUG_LOG = Path("src/tensorflow/lite/micro/debug_log.h")
TFLM_CMSIS_NN_CONV = Path("src/tensorflow/lite/micro/kernels/cmsis_nn/conv.cpp")

# program -> Debian package that provides it
TOOLS = {
    "cmake": "cmake",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "arm-none-eabi-g++": "gcc-arm-none-eabi",
    "arm-none-eabi-size": "binutils-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
}
# C/C++ runtime files the firmware links -> Debian package that provides them
TOOLCHAIN_LIBRARIES = {
    "libc_nano.a": "libnewlib-arm-none-eabi",
    "libstdc++_nano.a": "libstdc++-arm-none-eabi-newlib",
}


def require_tools() -> None:
    """QEMU, CMake and the arm-none-eabi toolchain with newlib and libstdc++ must be installed."""
    for program, package in TOOLS.items():
        if shutil.which(program) is None:
            raise PipelineError(
                f"{program} not found: install the Debian package {package} (apt-get install {package})"
            )
    for library, package in TOOLCHAIN_LIBRARIES.items():
        found = subprocess.run(
            ["arm-none-eabi-gcc", f"-print-file-name={library}"], capture_output=True, text=True
        ).stdout.strip()
        if not os.path.isabs(found):
            raise PipelineError(
                f"arm-none-eabi-gcc has no {library}: install the Debian package {package} (apt-get install {package})"
            )


def platformio_project() -> Path:
    """Where PlatformIO installs the pinned library: the checkout of an editable install, else a
    PlatformIO project of ours in the user cache (never inside the installed package)."""
    checkout = source_checkout()
    if checkout is not None:
        return checkout
    folder = cache_dir() / "platformio"
    ini = project_root() / "platformio.ini"
    if not (folder / "platformio.ini").is_file() or (folder / "platformio.ini").read_bytes() != ini.read_bytes():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ini, folder / "platformio.ini")
    return folder


def platformio_tflm_dirs(project_dir: Path | None = None) -> list[Path]:
    """Where `pio run` downloads the pinned library: .pio/libdeps/<env>/Arduino_TensorFlowLite of
    the project (default: the checkout, or our PlatformIO project in the user cache)."""
    folders = [project_dir] if project_dir else [f for f in (source_checkout(), cache_dir() / "platformio") if f]
    return sorted(d for folder in folders for d in (folder / ".pio" / "libdeps").glob("*/Arduino_TensorFlowLite"))


def resolve_tflm_dir(tflm_dir: str | os.PathLike | None, project_dir: Path | None = None) -> Path:
    """The TFLM Arduino library root from the argument, $TFLM_ARDUINO_DIR or PlatformIO's libdeps
    folder, checked to be the 2023 library this firmware is written for (flatbuffers 2.0.6,
    DebugLog(const char*), CMSIS-NN)."""
    raw = tflm_dir if tflm_dir else os.environ.get(TFLM_ENV)
    if not raw and platformio_tflm_dirs(project_dir):
        raw = platformio_tflm_dirs(project_dir)[0]
    if not raw:
        raise PipelineError(
            f"no TFLM library given: pass --tflm-dir or set {TFLM_ENV} to the root of a "
            "tensorflow/tflite-micro-arduino-examples checkout (the folder holding "
            "library.properties and src/), or run `pio run` once to download it"
        )
    root = Path(raw).expanduser().resolve()
    for required in (TFLM_MARKER, TFLM_CMSIS_NN_CONV):
        if not (root / required).is_file():
            raise PipelineError(
                f"{root} is not the TFLM Arduino library: expected {root / required}; point "
                f"--tflm-dir/{TFLM_ENV} at the checkout root (holds library.properties and src/)"
            )
    debug_log = (root / TFLM_DEBUG_LOG).read_text(errors="replace")
    if not re.search(r"void\s+DebugLog\s*\(\s*const\s+char\s*\*\s*\w*\s*\)", debug_log):
        raise PipelineError(
            f"{root} holds another TFLM version: expected {root / TFLM_DEBUG_LOG} to declare "
            "DebugLog(const char* s) as the 2023 Arduino library does; use "
            "tensorflow/tflite-micro-arduino-examples"
        )
    return root


@dataclass(frozen=True)
class EmulationPlan:
    tflm_root: Path | None
    skipped: str | None  # why emulation does not run (None: it runs)


def plan_emulation(
    requested: bool | None,
    tflm_dir: str | None = None,
    *,
    project_dir: Path | None = None,
    env: str = "nano33ble",
    installer=None,
    notify: Callable[[str], None] = lambda text: None,
) -> EmulationPlan:
    """requested: True (--emulate: a missing prerequisite raises), None (default: skip with the
    reason), False (--no-emulate). A library the user named (--tflm-dir, $TFLM_ARDUINO_DIR) that
    is not the pinned one is always an error: it is their input, not a missing tool."""
    if requested is False:
        return EmulationPlan(None, "--no-emulate")
    if tflm_dir or os.environ.get(TFLM_ENV):
        root = resolve_tflm_dir(tflm_dir)
        try:
            require_tools()
        except PipelineError as exc:
            if requested:
                raise
            return EmulationPlan(None, str(exc))
        return EmulationPlan(root, None)
    try:
        require_tools()
        try:
            root = resolve_tflm_dir(None, project_dir)
        except PipelineError:
            project = project_dir or platformio_project()
            notify("no TFLM library given: asking PlatformIO to install the pinned one (platformio.ini lib_deps)")
            (installer or install_tflm)(project, env)
            root = resolve_tflm_dir(None, project)
    except PipelineError as exc:
        if requested:
            raise
        return EmulationPlan(None, str(exc))
    return EmulationPlan(root, None)
