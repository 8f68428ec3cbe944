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
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from pipeline.analysis.costs import LayerCost
from pipeline.analysis.fit import plan_for_prediction
from pipeline.analysis.kernel_plan import LayerKernel
from pipeline.analysis.model_analysis import ModelAnalysis
from pipeline.board import DEFAULT_BOARD, Board, load_board
from pipeline.codegen.generate import c_identifier, generate_firmware_sources
from pipeline.emulator.arena_retry import check_model_for_emulator, rebuild_with_largest_arena, still_failed
from pipeline.emulator.build import (
    DEFAULT_KERNEL_OPT,
    DEFAULT_OTHER_OPT,
    build_target,
    configure,
    default_work_dir,
    firmware_size,
)
from pipeline.emulator.estimate import try_estimate, try_prepare
from pipeline.emulator.qemu import DEFAULT_TIMEOUT_S, EMULATOR_BOARD, run_firmware
from pipeline.errors import PipelineError
from pipeline.kernel_sets import check_kernels, model_folder_suffix
from pipeline.perf.cycles import CycleEstimate
from pipeline.records import EmulatedLayer, EmulatedRecord, LayerCycles
from pipeline.serial_link.protocol import RunResult
from pipeline.serial_link.reader import save_run_result


@dataclass(frozen=True)
class Emulation:
    """The stage's record and where its artifacts are (in the work folder, not the record)."""

    record: EmulatedRecord
    elf: Path
    run_result: Path


def _cycles(values: dict) -> LayerCycles:
    return LayerCycles(int(values["cache_on"]), int(values["cache_off"]))


def _layers(
    run: RunResult, costs: tuple[LayerCost, ...], estimate: CycleEstimate | None, plan: tuple[LayerKernel, ...]
) -> tuple[EmulatedLayer, ...]:
    """Firmware layers (execution order) joined with the analysis' per-operator costs and the
    kernel plan when the operator sequences agree."""
    ops = [layer.op for layer in run.layers]
    matched = len(costs) == len(ops) and all(c.op == op for c, op in zip(costs, ops))
    planned = len(plan) == len(ops) and all(k.op == op for k, op in zip(plan, ops))
    return tuple(
        EmulatedLayer(
            index=layer.index,
            op=layer.op,
            instructions=layer.ticks,
            kind=costs[i].kind if matched else None,
            macs=costs[i].macs if matched else None,
            estimated_cycles=_cycles(estimate.layer_cycles[i]) if estimate else None,
            kernel=plan[i].kernel if planned else None,
        )
        for i, layer in enumerate(run.layers)
    )


def emulate(
    analysis: ModelAnalysis,
    tflm_root: Path,
    *,
    board: Board | None = None,
    work_dir: str | os.PathLike | None = None,
    kernel_opt: str = DEFAULT_KERNEL_OPT,
    other_opt: str = DEFAULT_OTHER_OPT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    runs: int = 10,
    warmup: int = 2,
    kernels: str = "cmsis-nn",
    build_lock: Callable[[], AbstractContextManager] = nullcontext,
) -> Emulation:
    """Builds the benchmark firmware for the analysed model, runs it in QEMU and returns its
    numbers, with the cycle estimate for `board` (default the Nano). The model is checked against
    the emulator's memory, not the board's: whether it fits the board is the analysis' verdict.
    `tflm_root`: the library (pipeline.emulator.toolchain.resolve_tflm_dir). `build_lock`: held
    while the work folder's tree is configured and built, not while QEMU runs (a sweep's workers
    share the tree: pipeline.sweep.tasks)."""
    check_kernels(kernels)
    board = board or load_board(DEFAULT_BOARD)
    check_model_for_emulator(analysis)
    work = (Path(work_dir) if work_dir else default_work_dir()).resolve()
    # The prediction, not a recorded measurement: emulate measures it again and compares.
    predicted = plan_for_prediction(analysis.arena)
    with build_lock():  # the work folder's build tree, one build at a time
        generated = generate_firmware_sources(
            analysis,
            load_board(EMULATOR_BOARD),
            work / "models" / (c_identifier(analysis.name) + model_folder_suffix(kernels)),
            arena=predicted,
            kernels=kernels,
        )
        tree = configure(work, tflm_root, kernel_opt=kernel_opt, other_opt=other_opt, runs=runs, warmup=warmup)
        target = f"fw_{generated.out_dir.name}"
        build_target(tree, target)
        elf = tree / f"{target}.elf"
        size = firmware_size(elf)
        plugin_run, skipped = try_prepare(elf, work, generated.out_dir.name, warmup, board)

    run = run_firmware(elf, timeout_s, plugin_run.qemu_args if plugin_run else ())
    arena_note = None
    if run.error is not None and run.error.code == "alloc_failed":
        # Measurements win: rebuild once with all the arena the emulator has, measure the need.
        first_error = run.error
        arena_note = (
            f"the reserved arena of {generated.arena.reserved_bytes:,} B was too small "
            f"({first_error.detail.replace('_', ' ')}): rebuilt with the emulator's largest arena to measure "
            "it; the prediction misses something of this model (please report it)"
        )
        with build_lock():
            generated = rebuild_with_largest_arena(analysis, generated, tree)
            size = firmware_size(elf)
            plugin_run, skipped = try_prepare(elf, work, generated.out_dir.name, warmup, board)
        run = run_firmware(elf, timeout_s, plugin_run.qemu_args if plugin_run else ())
        still_failed(first_error, run, generated)
    result_path = save_run_result(run, work / "results" / f"{generated.out_dir.name}{kernel_opt}.json")
    if run.error is not None:
        raise PipelineError(f"the firmware reported {run.error.code}: {run.error.detail.replace('_', ' ')}")
    if run.unit != "instructions" or run.summary is None or run.arena_used is None:
        raise PipelineError(
            f"the firmware's run is incomplete (unit {run.unit}): "
            f"rebuild it from this repository's firmware/ports/qemu_mps2"
        )
    estimate, skipped = try_estimate(plugin_run, len(run.layers), skipped, board)
    record = EmulatedRecord(
        model=generated.model_name,
        tflite=analysis.source,
        tflite_sha256=analysis.sha256,
        kernels=kernels,
        kernel_opt=kernel_opt,
        runs=run.runs,
        instructions=run.summary.ticks_median,
        instructions_min=run.summary.ticks_min,
        instructions_max=run.summary.ticks_max,
        macs=analysis.tflite.total_macs,
        arena_used_bytes=run.arena_used,
        arena_size_bytes=run.arena_size or 0,
        arena_predicted_bytes=predicted.predicted_bytes,
        text_bytes=size.text_bytes,
        data_bytes=size.data_bytes,
        bss_bytes=size.bss_bytes,
        layers=_layers(run, analysis.tflite.layers, estimate, analysis.kernel_plans[kernels]),
        output_crc32=run.output_crc32,
        board=board.key,
        clock_hz=board.clock_hz,
        estimated_cycles=_cycles(estimate.cycles) if estimate else None,
        estimate_skipped=skipped,
        estimate_counts=dict(estimate.counts) if estimate and estimate.counts else None,
        fits_board=analysis.fit(board).fits if board.key in analysis.fits else True,
        arena_note=arena_note,
    )
    return Emulation(record, elf, result_path)
