"""tinyml measure: read benchmark runs over serial (board, Renode, QEMU, test double) into the report."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import add_kernels_argument, add_measurements_argument
from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", nargs="+", type=Path, help="int8 .tflite files (as `tinyml run` wrote them)")
    parser.add_argument("--port", help="serial port or pyserial URL (socket://host:port, loop://, a pty); "
                                       "default: find the board by USB VID:PID")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a run (default 60)")
    parser.add_argument("--no-flash", action="store_true", help="read what the device already runs")
    parser.add_argument("--force", action="store_true", help="measure again models measured before")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--board", default=DEFAULT_BOARD)
    add_kernels_argument(parser)


def _versus_emulated(tflites: list[Path], results) -> dict:
    """Per measured model: board vs estimate and emulated instructions (emulated.json beside it)."""
    from pipeline.store import EMULATED_RESULT, read_json, results_folder
    from pipeline.perf.board_vs_estimate import compare

    versus = {}
    for tflite, m in zip(tflites, results):
        if m.record is not None:
            folder = results_folder(tflite)
            versus[m.name] = compare(m.record, read_json(folder / EMULATED_RESULT) if folder else None)
    return versus


def run(args: argparse.Namespace) -> int:
    from pipeline.perf.board_vs_estimate import format_lines
    from pipeline.device.measure import MeasureOptions, measure_models
    from pipeline.report.render import write_report
    from pipeline.store import report_board, results_folder

    board = load_board(args.board)
    missing = [str(p) for p in args.tflite if not p.is_file()]
    if missing:
        raise PipelineError(f"not found: {', '.join(missing)}: pass .tflite files (tinyml run writes them)")
    if args.timeout <= 0:
        raise PipelineError(f"--timeout {args.timeout}: use a positive number of seconds")
    options = MeasureOptions(port=args.port, timeout_s=args.timeout, flash=not args.no_flash, force=args.force,
                             kernels=args.kernels)
    results = measure_models(args.tflite, board, options)
    versus = _versus_emulated(args.tflite, results)
    outs = {results_folder(p).parent.parent for p in args.tflite if results_folder(p) is not None}
    for out in outs:
        write_report(out, load_board(report_board(out, board.key)))
    if args.json:
        print(json.dumps({"models": [{"name": m.name, "measured": m.record, "error": m.error,
                                      "vs_emulated": versus[m.name].to_dict() if m.name in versus else None}
                                     for m in results]}, indent=2))
    else:
        for m in results:
            if m.record:
                r = m.record
                print(f"{m.name}: {r['ticks']:,} {r['unit']} median ({r['ticks_min']:,}-{r['ticks_max']:,}, "
                      f"{r['runs']} runs), {r['us']:,} µs, arena {r['arena_used_bytes']:,} B")
                if m.name in versus:
                    print("\n".join(format_lines(versus[m.name])))
    failed = [m for m in results if m.error]
    if failed:
        if len(failed) == 1 and len(results) == 1:
            raise PipelineError(failed[0].error)
        for m in failed:
            print(f"{m.name}: {m.error}", file=sys.stderr)
        raise PipelineError(f"{len(failed)} of {len(results)} model(s) failed: "
                            f"{', '.join(m.name for m in failed)} (reasons above)")
    return 0
