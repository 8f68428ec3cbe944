"""`tinyml emulate FILE.tflite...`: build each model's firmware for QEMU's Cortex-M4 (mps2-an386),
run it headless and print instructions per inference, per-layer instructions, the arena and the
cycle estimate for the board.

With --verify, the same firmware then runs real inputs (the test split of the data a run trained
the model on, --data, or seeded inputs) and its outputs are compared with TFLite's reference
kernels; a difference fails the model and names the first layer whose output differs.

With --json and one file: one JSON object. With several files: one JSON object per line, in the
order given; a model that fails prints {"model", "tflite", "error"} and the others go on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline import driver
from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import (
    add_kernels_argument,
    add_measurements_argument,
    add_verify_arguments,
    format_verify,
    verify_request,
)
from pipeline.emulator.build import DEFAULT_KERNEL_OPT, KERNEL_OPT_LEVELS, default_work_dir
from pipeline.emulator.qemu import DEFAULT_TIMEOUT_S, QEMU_MACHINE
from pipeline.emulator.toolchain import TFLM_ENV
from pipeline.errors import PipelineError
from pipeline.records import EmulatedRecord, instructions_by_kind, to_plain
from pipeline.verify.compare import divergence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", nargs="+", type=Path, metavar="FILE.tflite", help="int8 .tflite model(s)")
    parser.add_argument(
        "--tflm-dir", default=None, help=f"root of the TFLM Arduino library checkout (default: ${TFLM_ENV})"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"wall-time limit of one emulator run in seconds (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--kernel-opt",
        default=DEFAULT_KERNEL_OPT,
        choices=KERNEL_OPT_LEVELS,
        help="optimisation of TFLM kernels and CMSIS-NN (default %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=10, help="timed invokes (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed invokes first (default 2)")
    parser.add_argument(
        "--board",
        default=DEFAULT_BOARD,
        help="the board of the fit verdict and the cycle estimate (key or board .toml)",
    )
    add_kernels_argument(parser)
    add_measurements_argument(parser)
    add_verify_arguments(parser)
    parser.add_argument("--work-dir", type=Path, default=None, help=f"build folder (default {default_work_dir()})")


def run(args: argparse.Namespace) -> int:

    if args.runs < 1 or args.warmup < 0:
        raise PipelineError(
            f"--runs {args.runs} --warmup {args.warmup}: use at least 1 run and 0 or more warm-up invokes"
        )
    if args.timeout <= 0:
        raise PipelineError(f"--timeout {args.timeout}: use a positive number of seconds")
    request = driver.EmulateRequest(
        board=load_board(args.board),
        tflm_dir=args.tflm_dir,
        kernels=args.kernels,
        work_dir=args.work_dir,
        kernel_opt=args.kernel_opt,
        timeout_s=args.timeout,
        runs=args.runs,
        warmup=args.warmup,
        measurements=args.measurements,
        verify=verify_request(args),
    )
    events = driver.Events(warn=lambda text: print(f"tinyml emulate: warning: {text}", file=sys.stderr, flush=True))
    failed = 0
    for outcome in driver.emulate_files(args.tflite, request, events):
        if outcome.error is not None:
            failed += 1
            if args.json:
                print(
                    json.dumps({"model": outcome.path.stem, "tflite": str(outcome.path), "error": outcome.error}),
                    flush=True,
                )
            # A model's error already starts with the file (the line analyze and firmware print).
            text = outcome.error if outcome.model_error else f"{outcome.path}: {outcome.error}"
            print(f"tinyml emulate: error: {text}", file=sys.stderr, flush=True)
            continue
        record = outcome.record
        if record is None:
            continue
        if record.arena_note:
            print(f"tinyml emulate: warning: {outcome.path}: {record.arena_note}", file=sys.stderr, flush=True)
        if record.estimate_skipped:  # instruction counts stand; only the cycle estimate is missing
            print(f"tinyml emulate: {outcome.path}: {record.estimate_skipped}", file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps(to_plain(record), indent=2 if len(args.tflite) == 1 else None), flush=True)
        else:
            print(format_result(record), flush=True)
        differs = divergence(record.verify) if record.verify is not None else None
        if differs:
            failed += 1
            print(f"tinyml emulate: error: {outcome.path}: {differs}", file=sys.stderr, flush=True)
    return 2 if failed else 0


def format_result(result: EmulatedRecord) -> str:
    """A human-readable block: summary lines and the per-layer table."""
    lines = [
        f"{result.model}: emulated Cortex-M4 (QEMU {QEMU_MACHINE}, kernels {result.kernels}, "
        f"TFLM kernels {result.kernel_opt}); instructions, not cycles",
        f"  instructions/inference  median {result.instructions:,}  min {result.instructions_min:,}"
        f"  max {result.instructions_max:,}  ({result.runs} runs)",
    ]
    if result.macs:
        lines.append(f"  MACs {result.macs:,}  instructions/MAC {result.instructions / result.macs:.2f}")
    if result.estimated_cycles is not None and result.estimated_ms is not None:
        cycles, ms = result.estimated_cycles, result.estimated_ms
        per_cycle = result.estimated_macs_per_cycle or {}
        lines.append(
            f"  estimated on {result.board} @ {result.clock_hz / 1e6:g} MHz (docs/cycle_model.md): cache on "
            f"{cycles.cache_on:,} cycles {ms.cache_on:.1f} ms, cache off "
            f"{cycles.cache_off:,} cycles {ms.cache_off:.1f} ms; MAC/cycle "
            f"{per_cycle.get('cache_on')} (cache on)"
        )
    lines += [
        f"  arena used {result.arena_used_bytes:,} B  predicted {result.arena_predicted_bytes:,} B"
        f"  ({result.arena_error_pct:+.2f} %)  reserved {result.arena_size_bytes:,} B",
        f"  firmware text {result.text_bytes:,} B  data {result.data_bytes:,} B  bss {result.bss_bytes:,} B",
        f"  {'#':>3} {'op':<20} {'kind':<16} {'MACs':>11} {'instructions':>13} {'instr/MAC':>9}"
        f" {'est. cycles (cache on)':>22}"
        f"  kernel",
    ]
    for layer in result.layers:
        per_mac = layer.instructions_per_mac
        lines.append(
            f"  {layer.index:>3} {layer.op:<20} {layer.kind or '':<16} "
            f"{layer.macs if layer.macs is not None else '':>11} {layer.instructions:>13,} "
            f"{f'{per_mac:.2f}' if per_mac is not None else '':>9}"
            f" {layer.estimated_cycles.cache_on if layer.estimated_cycles else '':>22}"
            f"  {layer.kernel or ''}"
        )
    lines.append(
        "  by kind: "
        + "; ".join(
            f"{kind} {v['instructions_per_mac']} instr/MAC ({v['layers']} layers)"
            for kind, v in instructions_by_kind(result.layers).items()
            if v["macs"]
        )
    )
    if result.verify is not None:
        lines += format_verify(result.verify)
    return "\n".join(lines)
