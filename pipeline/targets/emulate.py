"""Stage: a .tflite on the emulated Cortex-M4 (QEMU mps2-an386): build the benchmark firmware with
CMake and Debian's arm-none-eabi toolchain, run it headless, read its protocol records from the
emulated UART over a TCP socket, and return arena and instruction counts.

Timing unit: QEMU runs with `-icount shift=0`, so the firmware's SysTick clock counts executed
instructions (40 per SysTick tick at the modelled 25 MHz; see firmware/ports/qemu_mps2/systick_clock.h).
Instructions are not cycles: QEMU models no pipeline, caches or wait states.

Build layout under the work folder (default build/emulate in the repo):
  models/<model>/      generated model sources, one folder per model (pipeline.codegen.generate)
  tflm<kernel>-<rest>/ one CMake build tree per TFLM flag set: the library compiles once there,
                       each model is its own firmware target `fw_<model>`
  results/<model><kernel>.json  the run's protocol records (pipeline.targets.serial_reader.save_run_result)
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.board import load_board
from pipeline.errors import PipelineError
from pipeline.targets.emulate_cycles import estimate_fields, try_estimate, try_prepare
from pipeline.targets.protocol import RunResult

REPO_ROOT = Path(__file__).resolve().parents[2]
PORT_DIR = REPO_ROOT / "firmware" / "ports" / "qemu_mps2"
TOOLCHAIN_FILE = REPO_ROOT / "cmake" / "arm-none-eabi.cmake"
DEFAULT_WORK_DIR = REPO_ROOT / "build" / "emulate"
TFLM_ENV = "TFLM_ARDUINO_DIR"
# Files that identify the 2023 Arduino TFLM library (relative to its root).
TFLM_MARKER = Path("src/tensorflow/lite/micro/micro_interpreter.h")
TFLM_DEBUG_LOG = Path("src/tensorflow/lite/micro/debug_log.h")
TFLM_CMSIS_NN_CONV = Path("src/tensorflow/lite/micro/kernels/cmsis_nn/conv.cpp")

QEMU_MACHINE = "mps2-an386"
EMULATOR_BOARD = "qemu_mps2_an386"  # pipeline/boards/qemu_mps2_an386.toml
DEFAULT_TIMEOUT_S = 120.0
BUILD_TIMEOUT_S = 3600
KERNEL_OPT_LEVELS = ("-Os", "-O1", "-O2", "-O3")
DEFAULT_KERNEL_OPT = "-O2"  # measured best for TFLM kernels + CMSIS-NN (benchmarks/compiler_flags.py)
DEFAULT_OTHER_OPT = "-Os"

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


@dataclass(frozen=True)
class EmulatedLayer:
    index: int
    op: str
    instructions: int
    kind: str | None = None   # conv | depthwise | pointwise | fully_connected | other (from analysis)
    macs: int | None = None
    estimated_cycles: dict | None = None  # {"cache_on", "cache_off"} (pipeline.targets.cycles)
    kernel: str | None = None  # the kernel function that ran it (pipeline.analysis.kernel_plan)

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None


@dataclass(frozen=True)
class FirmwareSize:
    text_bytes: int
    data_bytes: int
    bss_bytes: int

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes


@dataclass(frozen=True)
class EmulationResult:
    model: str
    tflite_path: str
    kernel_opt: str
    runs: int
    instructions: int          # median per inference
    instructions_min: int
    instructions_max: int
    layers: tuple[EmulatedLayer, ...]
    arena_size_bytes: int      # reserved in the firmware (prediction + codegen margin)
    arena_used_bytes: int      # what TFLM reports on the 32-bit target
    arena_predicted_bytes: int
    macs: int
    size: FirmwareSize
    elf_path: str
    run_result_path: str
    output_crc32: int | None = None  # CRC-32/ISO-HDLC of the output after the last invoke
    estimate: object | None = None        # pipeline.targets.cycles.CycleEstimate
    estimate_skipped: str | None = None   # why there is no estimate (one line)
    kernels: str = "cmsis-nn"  # kernel set of the op resolver (--kernels)

    @property
    def arena_error_pct(self) -> float:
        return 100.0 * (self.arena_predicted_bytes - self.arena_used_bytes) / self.arena_used_bytes

    def to_dict(self) -> dict:
        """The JSON object `tinyml emulate --json` prints (interface of issue 4 plus extras)."""
        return {
            "model": self.model,
            "tflite": self.tflite_path,
            "unit": "instructions",
            "kernel_opt": self.kernel_opt,
            "kernels": self.kernels,
            "runs": self.runs,
            "instructions": self.instructions,
            "instructions_min": self.instructions_min,
            "instructions_max": self.instructions_max,
            "macs": self.macs,
            "instructions_per_mac": round(self.instructions / self.macs, 3) if self.macs else None,
            "arena_used_bytes": self.arena_used_bytes,
            "arena_size_bytes": self.arena_size_bytes,
            "arena_predicted_bytes": self.arena_predicted_bytes,
            "arena_error_pct": round(self.arena_error_pct, 2),
            "text_bytes": self.size.text_bytes,
            "data_bytes": self.size.data_bytes,
            "bss_bytes": self.size.bss_bytes,
            "flash_bytes": self.size.flash_bytes,
            "layers": [
                {**asdict(layer), "instructions_per_mac": _round(layer.instructions_per_mac)}
                for layer in self.layers
            ],
            "layer_kinds": instructions_by_kind(self.layers),
            "elf": self.elf_path,
            "run_result": self.run_result_path,
            "output_crc32": self.output_crc32,
            **estimate_fields(self.estimate, self.macs, self.estimate_skipped),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def kind_names(kinds) -> list[str]:
    """The layer kinds the reports group by: the first convolution is its own kind
    ('first_conv': one input channel, no CMSIS-NN fast path)."""
    names, first_conv_seen = [], False
    for kind in kinds:
        kind = kind or "unknown"
        if kind == "conv" and not first_conv_seen:
            kind, first_conv_seen = "first_conv", True
        names.append(kind)
    return names


def instructions_by_kind(layers: tuple[EmulatedLayer, ...]) -> dict[str, dict]:
    """Instructions and MACs summed per layer kind (kind_names)."""
    totals: dict[str, dict] = {}
    for layer, kind in zip(layers, kind_names(layer.kind for layer in layers)):
        entry = totals.setdefault(kind, {"layers": 0, "macs": 0, "instructions": 0})
        entry["layers"] += 1
        entry["macs"] += layer.macs or 0
        entry["instructions"] += layer.instructions
    for entry in totals.values():
        entry["instructions_per_mac"] = (
            round(entry["instructions"] / entry["macs"], 3) if entry["macs"] else None)
    return totals


# --- environment checks ---------------------------------------------------------------------------

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


def platformio_tflm_dirs(project_dir: Path = REPO_ROOT) -> list[Path]:
    """Where `pio run` downloads the pinned library: .pio/libdeps/<env>/Arduino_TensorFlowLite."""
    return sorted((project_dir / ".pio" / "libdeps").glob("*/Arduino_TensorFlowLite"))


def resolve_tflm_dir(tflm_dir: str | os.PathLike | None, project_dir: Path = REPO_ROOT) -> Path:
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


# --- build ----------------------------------------------------------------------------------------

def build_tree_name(kernel_opt: str, other_opt: str) -> str:
    return f"tflm{kernel_opt}{other_opt}"


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def _run_step(command: list[str], what: str, timeout_s: float) -> str:
    # Own process group: on a timeout ninja's compilers must stop too, not only cmake.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PipelineError(f"{what} did not finish in {timeout_s:g} s: {' '.join(command)}") from None
    if proc.returncode != 0:
        errors = [line for line in (stdout + stderr).splitlines()
                  if "error" in line.lower() or "expected" in line.lower()]
        detail = " | ".join(errors[:6]) if errors else _tail(stdout + stderr)
        raise PipelineError(f"{what} failed (exit {proc.returncode}): {detail}")
    return stdout


def configure(work_dir: Path, tflm_root: Path | None, *, kernel_opt: str = DEFAULT_KERNEL_OPT,
              other_opt: str = DEFAULT_OTHER_OPT, runs: int = 10, warmup: int = 2) -> Path:
    """Configures (or re-configures: fast, nothing recompiles) the build tree of one flag set with
    every model folder under work_dir/models. Without tflm_root only the port self-test firmware
    (target qemu_selftest) can be built. Returns the tree."""
    if kernel_opt not in KERNEL_OPT_LEVELS or other_opt not in KERNEL_OPT_LEVELS:
        raise PipelineError(f"optimisation level must be one of {', '.join(KERNEL_OPT_LEVELS)}")
    tree = work_dir / build_tree_name(kernel_opt, other_opt)
    command = ["cmake", "-S", str(PORT_DIR), "-B", str(tree),
               f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN_FILE}",
               f"-DTFLM_ARDUINO_DIR={tflm_root or ''}",
               f"-DTINYML_MODELS_DIR={work_dir / 'models'}",
               f"-DTFLM_KERNEL_OPT={kernel_opt}", f"-DTFLM_OTHER_OPT={other_opt}",
               f"-DTINYML_RUNS={runs}", f"-DTINYML_WARMUP={warmup}",
               f"-DTFLM_KERNEL_SOURCES={_kernel_list(tflm_root, work_dir / 'models')}"]
    if shutil.which("ninja") and not (tree / "Makefile").exists():
        command += ["-G", "Ninja"]
    _run_step(command, "CMake configure of the QEMU firmware", 300)
    return tree


def _kernel_list(tflm_root: Path | None, models_dir: Path) -> str:
    """Only the TFLM kernels the models' resolvers need (pipeline/targets/kernel_sources.py);
    empty (all kernels) without models or library."""
    from pipeline.targets.kernel_sources import cmake_list, models_kernel_sources

    sources = models_kernel_sources(tflm_root / "src", models_dir) if tflm_root else None
    return cmake_list(sources) if sources else ""


def build_target(tree: Path, target: str, *, jobs: int = 2) -> None:
    """Builds one firmware target with a progress line; the TFLM library of the tree compiles
    only the first time (and for kernels of new ops)."""
    from pipeline.targets.build_progress import run_build

    run_build(["cmake", "--build", str(tree), "--target", target, "-j", str(jobs)],
              f"build of {target}", BUILD_TIMEOUT_S, label=f"building {target}")


def firmware_size(elf: Path) -> FirmwareSize:
    """text/data/bss of the ELF as arm-none-eabi-size reports them (Berkeley format)."""
    out = _run_step(["arm-none-eabi-size", str(elf)], "arm-none-eabi-size", 60)
    numbers = out.strip().splitlines()[-1].split()
    return FirmwareSize(int(numbers[0]), int(numbers[1]), int(numbers[2]))


# --- run ------------------------------------------------------------------------------------------

_LISTENING = re.compile(r"waiting for connection on: \S*tcp:([0-9.]+):(\d+)")


def qemu_command(elf: Path, extra_args: tuple | list = ()) -> list[str]:
    """Headless QEMU: UART0 on a TCP server that holds the guest until the reader connects
    (so no output is lost), semihosting so the firmware's exit ends QEMU, instruction counting."""
    return ["qemu-system-arm", "-M", QEMU_MACHINE, "-nographic", "-monitor", "none",
            "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
            "-serial", "tcp:127.0.0.1:0,server=on,wait=on", "-kernel", str(elf), *extra_args]


class _StderrPump:
    """Drains QEMU's stderr on a thread (a full pipe would stall QEMU) and keeps the last lines."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.recent: deque[str] = deque(maxlen=8)
        self.fatal: str | None = None  # QEMU's first fatal line ("qemu: fatal: Lockup ..."), not the register dump after it
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            line = line.rstrip()
            if not _LISTENING.search(line):  # the expected notice is not worth quoting in errors
                self.recent.append(line)
                if self.fatal is None and "fatal" in line.lower():
                    self.fatal = line
            self.lines.put(line)

    def text(self) -> str:
        return self.fatal or " | ".join(self.recent) or "(nothing)"


def _wait_for_listening_port(proc: subprocess.Popen, pump: _StderrPump, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            line = pump.lines.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                raise PipelineError(f"qemu-system-arm exited ({proc.returncode}) before starting "
                                    f"the firmware: {pump.text()}") from None
            continue
        match = _LISTENING.search(line)
        if match:
            return int(match.group(2))
    raise PipelineError(f"qemu-system-arm did not open its serial socket: {pump.text()}")


@dataclass
class QemuInstance:
    """A running qemu-system-arm whose guest waits for a client on 127.0.0.1:port (UART0)."""
    proc: subprocess.Popen
    port: int
    pump: _StderrPump

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def said(self) -> str:
        return f" (qemu-system-arm: {self.pump.text()})" if self.pump.recent else ""

    def stop(self) -> None:
        """QEMU normally exits by itself after DONE (semihosting exit); otherwise it is ended."""
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_qemu(elf: Path, startup_timeout_s: float = 30, extra_args: tuple | list = ()) -> QemuInstance:
    """Starts QEMU on `elf`; returns once its serial socket listens (the guest has not run yet)."""
    if not Path(elf).is_file():
        raise PipelineError(f"firmware {elf} does not exist: build it first")
    proc = subprocess.Popen(qemu_command(elf, extra_args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pump = _StderrPump(proc.stderr)
    try:
        port = _wait_for_listening_port(proc, pump, time.monotonic() + startup_timeout_s)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return QemuInstance(proc, port, pump)


def run_firmware(elf: Path, timeout_s: float = DEFAULT_TIMEOUT_S,
                 extra_args: tuple | list = ()) -> RunResult:
    """Runs `elf` in QEMU and returns the protocol run it prints on UART0. The whole run is limited
    to timeout_s of wall time; a firmware that hangs, faults or prints TFLM's HALTED raises a
    PipelineError quoting the last lines seen."""
    from pipeline.targets.serial_reader import ReadTimeoutError, read_run  # pyserial only needed here

    deadline = time.monotonic() + timeout_s
    qemu = start_qemu(elf, min(timeout_s, 30), extra_args)
    try:
        return read_run(qemu.url, max(1.0, deadline - time.monotonic()))
    except ReadTimeoutError as exc:
        raise PipelineError(f"{elf.name} in QEMU stopped at the time limit of {timeout_s:g} s: "
                            f"{exc}{qemu.said()}") from None
    except PipelineError as exc:
        raise PipelineError(f"{elf.name} in QEMU: {exc}{qemu.said()}") from None
    finally:
        qemu.stop()


# --- the stage ------------------------------------------------------------------------------------

def _layers(run: RunResult, analysis, estimate=None, plan=()) -> tuple[EmulatedLayer, ...]:
    """Firmware layers (execution order) joined with the analysis' per-operator costs and the
    kernel plan when the operator sequences agree."""
    costs = list(analysis.layers) if analysis is not None else []
    ops = [layer.op for layer in run.layers]
    matched = len(costs) == len(ops) and all(c.op == op for c, op in zip(costs, ops))
    planned = len(plan) == len(ops) and all(k.op == op for k, op in zip(plan, ops))
    return tuple(
        EmulatedLayer(index=layer.index, op=layer.op, instructions=layer.ticks,
                      kind=costs[i].kind if matched else None,
                      macs=costs[i].macs if matched else None,
                      estimated_cycles=estimate.layer_cycles[i] if estimate else None,
                      kernel=plan[i].kernel if planned else None)
        for i, layer in enumerate(run.layers))


def emulate(tflite_path: str | os.PathLike, tflm_dir: str | os.PathLike | None = None, *,
            work_dir: str | os.PathLike | None = None, kernel_opt: str = DEFAULT_KERNEL_OPT,
            other_opt: str = DEFAULT_OTHER_OPT, timeout_s: float = DEFAULT_TIMEOUT_S,
            runs: int = 10, warmup: int = 2, kernels: str = "cmsis-nn") -> EmulationResult:
    """Builds the benchmark firmware for `tflite_path`, runs it in QEMU and returns its numbers.
    The model is checked against the emulator's memory, not the Nano's: whether it fits the board
    is `tinyml firmware`'s check."""
    from pipeline.codegen.generate import c_identifier, generate_from_file
    from pipeline.targets.serial_reader import save_run_result
    from pipeline.analysis.tflite_model import analyze_tflite
    from pipeline.analysis.kernel_plan import plan_kernels
    from pipeline.codegen.kernels import check_kernels, model_folder_suffix

    check_kernels(kernels)
    require_tools()
    tflm_root = resolve_tflm_dir(tflm_dir)
    path = Path(tflite_path)
    work = (Path(work_dir) if work_dir else DEFAULT_WORK_DIR).resolve()
    # The prediction, not a recorded measurement: emulate measures it again and compares.
    generated = generate_from_file(path, load_board(EMULATOR_BOARD),
                                   work / "models" / (c_identifier(path.stem) +
                                                      model_folder_suffix(kernels)),
                                   kernels=kernels, use_recorded=False)
    analysis = analyze_tflite(path)  # per-layer MACs for the instructions table (parsing is cheap)
    predicted = generated.arena.predicted_bytes
    tree = configure(work, tflm_root, kernel_opt=kernel_opt, other_opt=other_opt,
                     runs=runs, warmup=warmup)
    target = f"fw_{generated.out_dir.name}"
    build_target(tree, target)
    elf = tree / f"{target}.elf"
    size = firmware_size(elf)

    plugin_run, skipped = try_prepare(elf, work, generated.out_dir.name, warmup)
    run = run_firmware(elf, timeout_s, plugin_run.qemu_args if plugin_run else ())
    if run.error is not None and run.error.code == "alloc_failed":
        # Measurements win: rebuild once with all the arena the emulator has, measure the need.
        from pipeline.targets.emulate_arena import rebuild_with_largest_arena, still_failed

        first_error = run.error
        generated = rebuild_with_largest_arena(path, generated, tree)
        size = firmware_size(elf)
        plugin_run, skipped = try_prepare(elf, work, generated.out_dir.name, warmup)
        run = run_firmware(elf, timeout_s, plugin_run.qemu_args if plugin_run else ())
        still_failed(first_error, run, generated)
    result_path = save_run_result(run, work / "results" / f"{generated.out_dir.name}{kernel_opt}.json")
    if run.error is None and run.arena_used:
        from pipeline.results import record_emulated_arena

        record_emulated_arena(generated.source_sha256, run.arena_used, generated.model_name)
    if run.error is not None:
        raise PipelineError(f"the firmware reported {run.error.code}: "
                            f"{run.error.detail.replace('_', ' ')}")
    if run.unit != "instructions" or run.summary is None or run.arena_used is None:
        raise PipelineError(f"the firmware's run is incomplete (unit {run.unit}): "
                            f"rebuild it from this repository's firmware/ports/qemu_mps2")
    estimate, skipped = try_estimate(plugin_run, len(run.layers), skipped)
    return EmulationResult(
        model=generated.model_name, tflite_path=str(path), kernel_opt=kernel_opt, runs=run.runs,
        instructions=run.summary.ticks_median, instructions_min=run.summary.ticks_min,
        instructions_max=run.summary.ticks_max,
        arena_size_bytes=run.arena_size or 0, arena_used_bytes=run.arena_used,
        arena_predicted_bytes=predicted, macs=analysis.total_macs, size=size,
        elf_path=str(elf), run_result_path=str(result_path), output_crc32=run.output_crc32,
        layers=_layers(run, analysis, estimate, plan_kernels(path.read_bytes(), kernels, str(path))),
        estimate=estimate, estimate_skipped=skipped, kernels=kernels)



