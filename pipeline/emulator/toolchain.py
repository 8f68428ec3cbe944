"""The tools the emulator build needs: QEMU, CMake, Debian's arm-none-eabi toolchain with newlib
and libstdc++, and the pinned TFLM Arduino library (found, never downloaded by us: PlatformIO's
package manager fetches it, pipeline.emulator.tflm_library)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.project import project_root

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
            raise PipelineError(f"{program} not found: install the Debian package {package} "
                                f"(apt-get install {package})")
    for library, package in TOOLCHAIN_LIBRARIES.items():
        found = subprocess.run(["arm-none-eabi-gcc", f"-print-file-name={library}"],
                               capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(found):
            raise PipelineError(f"arm-none-eabi-gcc has no {library}: install the Debian package "
                                f"{package} (apt-get install {package})")


def platformio_tflm_dirs(project_dir: Path | None = None) -> list[Path]:
    """Where `pio run` downloads the pinned library: .pio/libdeps/<env>/Arduino_TensorFlowLite."""
    project_dir = project_dir or project_root()
    return sorted((project_dir / ".pio" / "libdeps").glob("*/Arduino_TensorFlowLite"))


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
            "library.properties and src/), or run `pio run` once to download it")
    root = Path(raw).expanduser().resolve()
    for required in (TFLM_MARKER, TFLM_CMSIS_NN_CONV):
        if not (root / required).is_file():
            raise PipelineError(
                f"{root} is not the TFLM Arduino library: expected {root / required}; point "
                f"--tflm-dir/{TFLM_ENV} at the checkout root (holds library.properties and src/)")
    debug_log = (root / TFLM_DEBUG_LOG).read_text(errors="replace")
    if not re.search(r"void\s+DebugLog\s*\(\s*const\s+char\s*\*\s*\w*\s*\)", debug_log):
        raise PipelineError(
            f"{root} holds another TFLM version: expected {root / TFLM_DEBUG_LOG} to declare "
            "DebugLog(const char* s) as the 2023 Arduino library does; use "
            "tensorflow/tflite-micro-arduino-examples")
    return root
