"""CMake build of the QEMU firmware (firmware/ports/qemu_mps2): one build tree per TFLM flag set
under the work folder, where the library compiles once and each model is its own target."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.emulator.build_progress import run_build
from pipeline.emulator.kernel_sources import cmake_list, models_kernel_sources
from pipeline.errors import PipelineError
from pipeline.project import cache_dir, firmware_dir

BUILD_TIMEOUT_S = 3600
KERNEL_OPT_LEVELS = ("-Os", "-O1", "-O2", "-O3")
DEFAULT_KERNEL_OPT = "-O2"  # measured best for TFLM kernels + CMSIS-NN (benchmarks/compiler_flags.py)
DEFAULT_OTHER_OPT = "-Os"


def port_dir() -> Path:
    return firmware_dir() / "ports" / "qemu_mps2"


def toolchain_file() -> Path:
    return port_dir() / "arm-none-eabi.cmake"


def default_work_dir() -> Path:
    """Build trees, generated model sources and run records of the emulator (user cache)."""
    return cache_dir() / "emulate"


@dataclass(frozen=True)
class FirmwareSize:
    text_bytes: int
    data_bytes: int
    bss_bytes: int

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes


def build_tree_name(kernel_opt: str, other_opt: str) -> str:
    return f"tflm{kernel_opt}{other_opt}"


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def _run_step(command: list[str], what: str, timeout_s: float) -> str:
    # Own process group: on a timeout ninja's compilers must stop too, not only cmake.
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PipelineError(f"{what} did not finish in {timeout_s:g} s: {' '.join(command)}") from None
    if proc.returncode != 0:
        errors = [
            line for line in (stdout + stderr).splitlines() if "error" in line.lower() or "expected" in line.lower()
        ]
        detail = " | ".join(errors[:6]) if errors else _tail(stdout + stderr)
        raise PipelineError(f"{what} failed (exit {proc.returncode}): {detail}")
    return stdout


def configure(
    work_dir: Path,
    tflm_root: Path | None,
    *,
    kernel_opt: str = DEFAULT_KERNEL_OPT,
    other_opt: str = DEFAULT_OTHER_OPT,
    runs: int = 10,
    warmup: int = 2,
) -> Path:
    """Configures (or re-configures: fast, nothing recompiles) the build tree of one flag set with
    every model folder under work_dir/models. Without tflm_root only the port self-test firmware
    (target qemu_selftest) can be built. Returns the tree."""
    if kernel_opt not in KERNEL_OPT_LEVELS or other_opt not in KERNEL_OPT_LEVELS:
        raise PipelineError(f"optimisation level must be one of {', '.join(KERNEL_OPT_LEVELS)}")
    tree = work_dir / build_tree_name(kernel_opt, other_opt)
    _drop_tree_of_another_checkout(tree)
    command = [
        "cmake",
        "-S",
        str(port_dir()),
        "-B",
        str(tree),
        f"-DCMAKE_TOOLCHAIN_FILE={toolchain_file()}",
        f"-DTFLM_ARDUINO_DIR={tflm_root or ''}",
        f"-DTINYML_MODELS_DIR={work_dir / 'models'}",
        f"-DTFLM_KERNEL_OPT={kernel_opt}",
        f"-DTFLM_OTHER_OPT={other_opt}",
        f"-DTINYML_RUNS={runs}",
        f"-DTINYML_WARMUP={warmup}",
        f"-DTFLM_KERNEL_SOURCES={_kernel_list(tflm_root, work_dir / 'models')}",
    ]
    if shutil.which("ninja") and not (tree / "Makefile").exists():
        command += ["-G", "Ninja"]
    _run_step(command, "CMake configure of the QEMU firmware", 300)
    return tree


def _drop_tree_of_another_checkout(tree: Path) -> None:
    """A build tree configured from another copy of the firmware project (a moved checkout, a
    second checkout sharing the user cache) is refused by CMake: start it afresh."""
    cache = tree / "CMakeCache.txt"
    if not cache.is_file():
        return
    prefix = "CMAKE_HOME_DIRECTORY:INTERNAL="
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith(prefix):
            if Path(line[len(prefix) :]).resolve() != port_dir().resolve():
                shutil.rmtree(tree)
            return


def _kernel_list(tflm_root: Path | None, models_dir: Path) -> str:
    """Only the TFLM kernels the models' resolvers need (pipeline/emulator/kernel_sources.py);
    empty (all kernels) without models or library."""
    sources = models_kernel_sources(tflm_root / "src", models_dir) if tflm_root else None
    return cmake_list(sources) if sources else ""


def build_target(tree: Path, target: str, *, jobs: int = 2) -> None:
    """Builds one firmware target with a progress line; the TFLM library of the tree compiles
    only the first time (and for kernels of new ops)."""
    run_build(
        ["cmake", "--build", str(tree), "--target", target, "-j", str(jobs)],
        f"build of {target}",
        BUILD_TIMEOUT_S,
        label=f"building {target}",
    )


def firmware_size(elf: Path) -> FirmwareSize:
    """text/data/bss of the ELF as arm-none-eabi-size reports them (Berkeley format)."""
    out = _run_step(["arm-none-eabi-size", str(elf)], "arm-none-eabi-size", 60)
    numbers = out.strip().splitlines()[-1].split()
    return FirmwareSize(int(numbers[0]), int(numbers[1]), int(numbers[2]))
