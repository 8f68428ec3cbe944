"""Stage: a .tflite on the emulated Cortex-M4 (QEMU mps2-an386): build the benchmark firmware with
CMake and Debian's arm-none-eabi toolchain, run it headless, read its protocol records from the
emulated UART over a TCP socket, and return arena and instruction counts.

Timing unit: QEMU runs with `-icount shift=0`, so the firmware's SysTick clock counts executed
instructions (40 per SysTick tick at the modelled 25 MHz; see firmware/ports/qemu_mps2/systick_clock.h).
Instructions are not cycles: QEMU models no pipeline, caches or wait states.

Build layout under the work folder (default: the user cache, pipeline.project.cache_dir):
  models/<model>/      generated model sources, one folder per model (pipeline.codegen.generate)
  tflm<kernel>-<rest>/ one CMake build tree per TFLM flag set: the library compiles once there,
                       each model is its own firmware target `fw_<model>`
  results/<model><kernel>.json  the run's protocol records (pipeline.serial_link.reader.save_run_result)
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.analysis.kernel_plan import plan_kernels
from pipeline.analysis.tflite_model import analyze_tflite
from pipeline.board import DEFAULT_BOARD, Board, load_board
from pipeline.codegen.generate import c_identifier, generate_from_file
from pipeline.emulator.arena_retry import rebuild_with_largest_arena, still_failed
from pipeline.emulator.build import (DEFAULT_KERNEL_OPT, DEFAULT_OTHER_OPT, FirmwareSize, build_target,
                                     configure, default_work_dir, firmware_size)
from pipeline.emulator.estimate import estimate_fields, try_estimate, try_prepare
from pipeline.emulator.qemu import DEFAULT_TIMEOUT_S, EMULATOR_BOARD, run_firmware
from pipeline.emulator.toolchain import require_tools, resolve_tflm_dir
from pipeline.errors import PipelineError
from pipeline.kernel_sets import check_kernels, model_folder_suffix
from pipeline.serial_link.protocol import RunResult
from pipeline.serial_link.reader import save_run_result

@dataclass(frozen=True)
class EmulatedLayer:
    index: int
    op: str
    instructions: int
    kind: str | None = None   # conv | depthwise | pointwise | fully_connected | other (from analysis)
    macs: int | None = None
    estimated_cycles: dict | None = None  # {"cache_on", "cache_off"} (pipeline.perf.cycles)
    kernel: str | None = None  # the kernel function that ran it (pipeline.analysis.kernel_plan)

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None


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
    estimate: object | None = None        # pipeline.perf.cycles.CycleEstimate
    estimate_skipped: str | None = None   # why there is no estimate (one line)
    kernels: str = "cmsis-nn"  # kernel set of the op resolver (--kernels)
    tflite_sha256: str = ""   # the model bytes measured (the key of pipeline.store.MeasurementStore)
    board: Board | None = None  # the board of the cycle estimate

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
            **estimate_fields(self.estimate, self.macs, self.estimate_skipped, self.board or load_board()),
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
            runs: int = 10, warmup: int = 2, kernels: str = "cmsis-nn",
            board: Board | None = None) -> EmulationResult:
    """Builds the benchmark firmware for `tflite_path`, runs it in QEMU and returns its numbers.
    The model is checked against the emulator's memory, not the Nano's: whether it fits the board
    is `tinyml firmware`'s check."""

    check_kernels(kernels)
    board = board or load_board(DEFAULT_BOARD)  # the board the cycle estimate is for
    require_tools()
    tflm_root = resolve_tflm_dir(tflm_dir)
    path = Path(tflite_path)
    work = (Path(work_dir) if work_dir else default_work_dir()).resolve()
    # The prediction, not a recorded measurement: emulate measures it again and compares.
    generated = generate_from_file(path, load_board(EMULATOR_BOARD),
                                   work / "models" / (c_identifier(path.stem) +
                                                      model_folder_suffix(kernels)),
                                   kernels=kernels)
    analysis = analyze_tflite(path)  # per-layer MACs for the instructions table (parsing is cheap)
    predicted = generated.arena.predicted_bytes
    tree = configure(work, tflm_root, kernel_opt=kernel_opt, other_opt=other_opt,
                     runs=runs, warmup=warmup)
    target = f"fw_{generated.out_dir.name}"
    build_target(tree, target)
    elf = tree / f"{target}.elf"
    size = firmware_size(elf)

    plugin_run, skipped = try_prepare(elf, work, generated.out_dir.name, warmup, board)
    run = run_firmware(elf, timeout_s, plugin_run.qemu_args if plugin_run else ())
    if run.error is not None and run.error.code == "alloc_failed":
        # Measurements win: rebuild once with all the arena the emulator has, measure the need.
        first_error = run.error
        generated = rebuild_with_largest_arena(path, generated, tree)
        size = firmware_size(elf)
        plugin_run, skipped = try_prepare(elf, work, generated.out_dir.name, warmup, board)
        run = run_firmware(elf, timeout_s, plugin_run.qemu_args if plugin_run else ())
        still_failed(first_error, run, generated)
    result_path = save_run_result(run, work / "results" / f"{generated.out_dir.name}{kernel_opt}.json")
    if run.error is not None:
        raise PipelineError(f"the firmware reported {run.error.code}: "
                            f"{run.error.detail.replace('_', ' ')}")
    if run.unit != "instructions" or run.summary is None or run.arena_used is None:
        raise PipelineError(f"the firmware's run is incomplete (unit {run.unit}): "
                            f"rebuild it from this repository's firmware/ports/qemu_mps2")
    estimate, skipped = try_estimate(plugin_run, len(run.layers), skipped, board)
    return EmulationResult(
        model=generated.model_name, tflite_path=str(path), tflite_sha256=generated.source_sha256,
        kernel_opt=kernel_opt, runs=run.runs,
        instructions=run.summary.ticks_median, instructions_min=run.summary.ticks_min,
        instructions_max=run.summary.ticks_max,
        arena_size_bytes=run.arena_size or 0, arena_used_bytes=run.arena_used,
        arena_predicted_bytes=predicted, macs=analysis.total_macs, size=size,
        elf_path=str(elf), run_result_path=str(result_path), output_crc32=run.output_crc32,
        layers=_layers(run, analysis, estimate, plan_kernels(path.read_bytes(), kernels, str(path))),
        estimate=estimate, estimate_skipped=skipped, kernels=kernels, board=board)
