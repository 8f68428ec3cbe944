"""tinyml measure: read benchmark runs over serial (board, Renode, QEMU, test double) into the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline import driver
from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import add_kernels_argument, add_verify_arguments, format_verify, verify_request
from pipeline.errors import PipelineError
from pipeline.perf.board_vs_estimate import compare, format_lines
from pipeline.records import to_plain
from pipeline.verify.compare import divergence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", nargs="+", type=Path, help="int8 .tflite files (as `tinyml run` wrote them)")
    parser.add_argument(
        "--port",
        help="serial port or pyserial URL (socket://host:port, loop://, a pty); default: find the board by USB VID:PID",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a run (default 60)")
    parser.add_argument("--no-flash", action="store_true", help="read what the device already runs")
    parser.add_argument("--force", action="store_true", help="measure again models measured before")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--board", default=DEFAULT_BOARD)
    add_kernels_argument(parser)
    add_verify_arguments(parser, board=True)


def run(args: argparse.Namespace) -> int:

    board = load_board(args.board)
    folders = [str(p) for p in args.tflite if p.is_dir()]
    if folders:
        raise PipelineError(
            f"{', '.join(folders)}: a folder: pass the .tflite files in it (a run's are OUT/models/*/*.tflite)"
        )
    missing = [str(p) for p in args.tflite if not p.is_file()]
    if missing:
        raise PipelineError(f"not found: {', '.join(missing)}: pass .tflite files (tinyml run writes them)")
    if args.timeout <= 0:
        raise PipelineError(f"--timeout {args.timeout}: use a positive number of seconds")
    request = driver.MeasureRequest(
        board=board,
        port=args.port,
        timeout_s=args.timeout,
        flash=not args.no_flash,
        force=args.force,
        kernels=args.kernels,
        verify=verify_request(args),
    )
    events = driver.Events(step=lambda text: print(text, file=sys.stderr))
    results = driver.measure_files(args.tflite, request, events)
    versus = {
        m.name: compare(m.record, driver.emulated_record_of(m.path, args.kernels))
        for m in results
        if m.record is not None
    }
    if args.json:
        print(
            json.dumps(
                {
                    "models": [
                        {
                            "name": m.name,
                            "measured": to_plain(m.record) if m.record else None,
                            "error": m.error,
                            "vs_emulated": versus[m.name].to_dict() if m.name in versus else None,
                        }
                        for m in results
                    ]
                },
                indent=2,
            )
        )
    else:
        for m in results:
            if m.record:
                r = m.record
                print(
                    f"{m.name}: {r.ticks:,} {r.unit} median ({r.ticks_min:,}-{r.ticks_max:,}, "
                    f"{r.runs} runs), {r.us:,} µs, arena {r.arena_used_bytes:,} B"
                )
                print("\n".join(format_lines(versus[m.name])))
                if r.verify is not None:
                    print("\n".join(format_verify(r.verify)))
    failed = [m for m in results if m.error]
    diverged = [(m.name, divergence(m.record.verify)) for m in results if m.record and m.record.verify]
    for name, differs in diverged:
        if differs:
            print(f"tinyml measure: error: {name}: {differs}", file=sys.stderr)
    if any(differs for _, differs in diverged) and not failed:
        return 2
    if failed:
        if len(failed) == 1 and len(results) == 1:
            raise PipelineError(failed[0].error)
        for m in failed:
            print(f"{m.name}: {m.error}", file=sys.stderr)
        raise PipelineError(
            f"{len(failed)} of {len(results)} model(s) failed: {', '.join(m.name for m in failed)} (reasons above)"
        )
    return 0
