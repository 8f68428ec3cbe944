"""tinyml sweep: a design space of variants pruned, trained, emulated and judged by its Pareto front
per board, on a local pool of workers or a Ray cluster (docs/sweep.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline.board import DEFAULT_BOARD
from pipeline.commands.options import add_emulation_arguments, check_verify_samples
from pipeline.errors import PipelineError
from pipeline.kernel_sets import KERNEL_SETS
from pipeline.sweep import run as sweep
from pipeline.sweep import settings as sweep_settings
from pipeline.sweep.space import STRATEGIES, default_space, elapsed_text, parse_budget

DEFAULT_SWEEP_OUT = Path("sweep")
# Options that decide which points a sweep has and what they are: --resume takes them from the folder.
DEFINING = ("space", "data", "epochs", "kernels", "board", "strategy", "verify_samples")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--space",
        type=Path,
        default=None,
        help="space file .toml (default: the project's models/space.toml, installed with the package)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_SWEEP_OUT, help="output folder (default: ./sweep); holds sweep.sqlite"
    )
    parser.add_argument(
        "--data",
        help="'digits' (default), a folder with one subfolder of images per class, or a .npz with x and y",
    )
    parser.add_argument(
        "--epochs", type=int, help="override every point's epochs (0: no training, as `tinyml run --epochs 0`)"
    )
    parser.add_argument(
        "--kernels",
        choices=KERNEL_SETS,
        default=None,
        help="kernel set the points are emulated with (default: cmsis-nn)",
    )
    parser.add_argument(
        "--board",
        default=None,
        help="board to judge the points against, instead of the space file's boards "
        f"(default: the space file's, else {DEFAULT_BOARD})",
    )
    parser.add_argument(
        "--engine",
        choices=sweep_settings.ENGINES,
        default="local",
        help="local process pool (default) or a Ray cluster",
    )
    parser.add_argument(
        "--address", help="Ray cluster address (with --engine ray; default: start a local Ray for the sweep)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel workers (default: the number of cores; with Ray: the cluster's CPUs)",
    )
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default=None, help="grid (default) or a seeded random draw of the space"
    )
    parser.add_argument(
        "--budget",
        default=None,
        metavar="N|TIME",
        help="at most N points, or a time ('45m', '2h') after which no new work starts (default: the space file's)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out with its own settings (re-running the same command does the same)",
    )
    parser.add_argument("--retry-failed", action="store_true", help="redo the points that failed")
    parser.add_argument(
        "--prune-only",
        action="store_true",
        help="only size every point and rule out what cannot fit (seconds per point); a later run trains the rest",
    )
    add_emulation_arguments(parser, "trained point")


def _request(args: argparse.Namespace) -> sweep.SweepRequest:
    check_verify_samples(args.verify_samples)
    budget = None
    if args.budget is not None:
        value = int(args.budget) if args.budget.strip().isdigit() else args.budget
        budget, errors = parse_budget(value, "--budget")
        if errors:
            raise PipelineError(errors[0])
    if args.resume:
        given = [f"--{name.replace('_', '-')}" for name in DEFINING if getattr(args, name) is not None]
        if given:
            raise PipelineError(
                f"--resume continues the sweep in {args.out} with its own settings: leave out {', '.join(given)}, "
                "or start another sweep with another --out"
            )
        settings = sweep_settings.stored_settings(args.out)
        overrides: dict = {}
        if budget is not None:
            overrides.update(budget_points=budget.points, budget_seconds=budget.seconds)
        if args.emulate is not None:
            overrides["emulate"] = args.emulate
        if args.tflm_dir is not None:
            overrides["tflm_dir"] = args.tflm_dir
        settings = sweep_settings.Settings(**{**settings.__dict__, **overrides})
    else:
        settings = sweep_settings.settings_for(
            args.space or default_space(),
            board=args.board,
            data=args.data,
            epochs=args.epochs,
            kernels=args.kernels or "cmsis-nn",
            strategy=args.strategy,
            budget=budget,
            emulate=args.emulate,
            tflm_dir=args.tflm_dir,
            verify_samples=args.verify_samples,
        )
    return sweep_settings.SweepRequest(
        out=args.out,
        settings=settings,
        engine=args.engine,
        address=args.address,
        workers=args.workers,
        resume=args.resume,
        retry_failed=args.retry_failed,
        prune_only=args.prune_only,
    )


def _counts(counts: dict[str, int]) -> str:
    order = ("done", "infeasible", "failed", "pending", "running")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    request = _request(args)
    bar = None

    def say(text: str) -> None:
        (bar.write if bar is not None else print)(f"tinyml sweep: {text}", file=sys.stderr)

    prepared = sweep_settings.prepare(request, notify=say)
    if prepared.emulation_skipped and prepared.settings.emulate is None:
        say(f"emulation not run: {prepared.emulation_skipped} (no estimated ms)")

    shown: dict = {"text": "", "at": 0.0}

    def progress(p: sweep.Progress) -> None:
        nonlocal bar
        finished = p.finished
        if bar is None:
            bar = tqdm(
                total=p.total,
                desc="points",
                unit="point",
                file=sys.stderr,
                bar_format="{desc}: {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
            )
        if p.last and ": failed" in p.last:
            bar.write(f"tinyml sweep: {p.last}", file=sys.stderr)
        stages = " ".join(f"{stage} {n}" for stage, n in sorted(p.stages.items())) or "idle"
        eta = f"ETA {elapsed_text(p.eta_s)}" if p.eta_s is not None else "ETA ?"
        text = f"{stages} | {_counts(p.counts)} | {eta}"
        # redrawn when something changed, else every few seconds (the elapsed time)
        if text != shown["text"] or bar.n != finished or time.monotonic() - shown["at"] > 5:
            bar.n = finished
            bar.set_postfix_str(text, refresh=True)
            shown.update(text=text, at=time.monotonic())

    try:
        outcome = sweep.run_sweep(prepared, request, sweep.SweepEvents(progress=progress, say=say))
    except sweep.SweepInterrupted as stop:
        if bar is not None:
            bar.close()
            bar = None
        finished = sum(stop.outcome.counts.get(s, 0) for s in ("done", "failed", "infeasible"))
        total = sum(stop.outcome.counts.values())
        print(
            f"tinyml sweep: stopped: {finished} of {total} points finished ({_counts(stop.outcome.counts)}); "
            f"resume with: tinyml sweep --out {request.out} --resume",
            file=sys.stderr,
        )
        return 130
    finally:
        if bar is not None:
            bar.close()
    print(f"sweep: {sum(outcome.counts.values())} points: {_counts(outcome.counts)}")
    for board, keys in outcome.fronts.items():
        print(f"front on {board}: {len(keys)} point(s)")
    written = outcome.written
    print(f"outputs: {written[0]} (+ {', '.join(p.name for p in written[1:])})")
    if outcome.stopped:
        print(
            f"tinyml sweep: {outcome.stopped}; continue with: tinyml sweep --out {request.out} --resume",
            file=sys.stderr,
        )
    failed = outcome.counts.get("failed", 0)
    if failed:
        print(f"tinyml sweep: error: {failed} point(s) failed; see {written[0]}", file=sys.stderr)
        return 1
    return 0
