"""`tinyml emulate FILE.tflite...`: build each model's firmware for QEMU's Cortex-M4 (mps2-an386),
run it headless and print instructions per inference, per-layer instructions and the arena.

With --json and one file: one JSON object. With several files: one JSON object per line, in the
order given; a model that fails prints {"model", "tflite", "error"} and the others go on."""
from __future__ import annotations

import argparse
import json
import sys

from pipeline.emulator import stage as emu
from pipeline.emulator.build import DEFAULT_KERNEL_OPT, KERNEL_OPT_LEVELS, default_work_dir
from pipeline.emulator.qemu import DEFAULT_TIMEOUT_S, QEMU_MACHINE
from pipeline.emulator import toolchain
from pipeline.emulator.toolchain import TFLM_ENV
from pipeline.commands.options import add_kernels_argument, add_measurements_argument
from pipeline.errors import ModelError, PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", nargs="+", metavar="FILE.tflite", help="int8 .tflite model(s)")
    parser.add_argument("--tflm-dir", default=None,
                        help=f"root of the TFLM Arduino library checkout (default: ${TFLM_ENV})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help="wall-time limit of one emulator run in seconds "
                             f"(default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--kernel-opt", default=DEFAULT_KERNEL_OPT,
                        choices=KERNEL_OPT_LEVELS,
                        help="optimisation of TFLM kernels and CMSIS-NN (default %(default)s)")
    parser.add_argument("--runs", type=int, default=10, help="timed invokes (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed invokes first (default 2)")
    add_kernels_argument(parser)
    add_measurements_argument(parser)
    parser.add_argument("--work-dir", default=None,
                        help=f"build folder (default {default_work_dir()})")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.board import DEFAULT_BOARD, load_board
    from pipeline.report.render import write_report
    from pipeline.kernel_sets import result_file_name
    from pipeline.store import EMULATED_RESULT, measurement_store, report_board, results_folder, write_json

    if args.runs < 1 or args.warmup < 0:
        raise PipelineError(f"--runs {args.runs} --warmup {args.warmup}: use at least 1 run and 0 or "
                            "more warm-up invokes")
    if len(args.tflite) == 1:  # a bad model says so before the environment is looked at
        from pipeline.emulator.arena_retry import check_model_for_emulator

        check_model_for_emulator(args.tflite[0])
    # Environment problems are the same for every model: report them once, before any build.
    toolchain.require_tools()
    toolchain.resolve_tflm_dir(args.tflm_dir)
    failed = 0
    outs = set()
    for path in args.tflite:
        try:
            result = emu.emulate(path, args.tflm_dir, work_dir=args.work_dir,
                                 kernel_opt=args.kernel_opt, timeout_s=args.timeout,
                                 runs=args.runs, warmup=args.warmup, kernels=args.kernels)
        except PipelineError as exc:
            failed += 1
            if args.json:
                print(json.dumps({"model": Path(path).stem, "tflite": path, "error": str(exc)}),
                      flush=True)
            # A ModelError already starts with the file (the line analyze and firmware print).
            text = str(exc) if isinstance(exc, ModelError) else f"{path}: {exc}"
            print(f"tinyml emulate: error: {text}", file=sys.stderr, flush=True)
            continue
        if result.estimate_skipped:  # instruction counts stand; only the cycle estimate is missing
            print(f"tinyml emulate: {path}: {result.estimate_skipped}", file=sys.stderr, flush=True)
        measurement_store(Path(path), args.measurements).record_arena(
            result.tflite_sha256, result.arena_used_bytes, result.model)
        folder = results_folder(Path(path))
        if folder is not None:  # a model of `tinyml run`: its report gets the emulated column
            write_json(folder / result_file_name(EMULATED_RESULT, args.kernels), result.to_dict())
            outs.add(folder.parent.parent)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2 if len(args.tflite) == 1 else None),
                  flush=True)
        else:
            print(format_result(result), flush=True)
    for out in sorted(outs):
        write_report(out, load_board(report_board(out, DEFAULT_BOARD)))
    return 2 if failed else 0


def format_result(result: emu.EmulationResult) -> str:
    """A human-readable block: summary lines and the per-layer table."""
    lines = [
        f"{result.model}: emulated Cortex-M4 (QEMU {QEMU_MACHINE}, kernels {result.kernels}, "
        f"TFLM kernels {result.kernel_opt}); instructions, not cycles",
        f"  instructions/inference  median {result.instructions:,}  min {result.instructions_min:,}"
        f"  max {result.instructions_max:,}  ({result.runs} runs)",
    ]
    if result.macs:
        lines.append(f"  MACs {result.macs:,}  instructions/MAC {result.instructions / result.macs:.2f}")
    if result.estimate is not None:
        from pipeline.perf.cycles import macs_per_cycle
        est = result.estimate
        lines.append(
            f"  estimated Cortex-M4 @ {est.clock_hz / 1e6:g} MHz (docs/cycle_model.md): cache on "
            f"{est.cycles['cache_on']:,} cycles {est.ms['cache_on']:.1f} ms, cache off "
            f"{est.cycles['cache_off']:,} cycles {est.ms['cache_off']:.1f} ms; MAC/cycle "
            f"{macs_per_cycle(result.macs, est.cycles['cache_on'])} (cache on)")
    lines += [
        f"  arena used {result.arena_used_bytes:,} B  predicted {result.arena_predicted_bytes:,} B"
        f"  ({result.arena_error_pct:+.2f} %)  reserved {result.arena_size_bytes:,} B",
        f"  firmware text {result.size.text_bytes:,} B  data {result.size.data_bytes:,} B"
        f"  bss {result.size.bss_bytes:,} B",
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
            f" {layer.estimated_cycles['cache_on'] if layer.estimated_cycles else '':>22}"
            f"  {layer.kernel or ''}")
    lines.append("  by kind: " + "; ".join(
        f"{kind} {v['instructions_per_mac']} instr/MAC ({v['layers']} layers)"
        for kind, v in emu.instructions_by_kind(result.layers).items() if v["macs"]))
    return "\n".join(lines)
