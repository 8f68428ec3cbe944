"""tinyml run: the whole offline job on the default zoo (or a given one) and the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import driver
from pipeline.board import DEFAULT_BOARD, load_board, require_firmware_port
from pipeline.commands.options import (
    add_emulation_arguments,
    add_kernel_sets_argument,
    check_verify_samples,
    output_folder,
)
from pipeline.device.usb import find_board_port
from pipeline.errors import PipelineError
from pipeline.model.specs import load_zoo
from pipeline.store import DEFAULT_OUT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=output_folder, default=DEFAULT_OUT, help="output folder (default: ./out)")
    parser.add_argument(
        "--zoo",
        type=Path,
        default=None,
        help="model zoo .toml (default: the project's models/zoo.toml, installed with the package)",
    )
    parser.add_argument("--models", nargs="+", metavar="NAME", help="only these models of the zoo")
    parser.add_argument(
        "--data",
        help="'digits' (default), a folder with one subfolder of images per class "
        "(any sizes and colour modes), or a .npz with x and y",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="override every model's epochs (0: no training; weights stay as initialised, "
        "BatchNorm statistics and int8 calibration come from the data)",
    )
    parser.add_argument("--board", default=DEFAULT_BOARD, help="target board (default: nano33ble)")
    parser.add_argument("--force", action="store_true", help="redo models whose results are cached")
    parser.add_argument(
        "--device",
        metavar="auto|PORT",
        help="then flash and measure every model that fits on the board: 'auto' finds "
        "it by USB VID:PID, or give its port (resumable: measured models are kept)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each device run")
    add_emulation_arguments(parser, "model", " that fits")
    add_kernel_sets_argument(parser)


def check_device(device: str, board) -> None:
    """The board is looked for before any training, not after the whole offline job."""
    require_firmware_port(board)
    if device == "auto":
        try:
            find_board_port(board)
        except PipelineError as exc:
            found = str(exc).replace("--port", "--device PORT")  # the option of this command
            raise PipelineError(f"--device auto: {found}; or run without --device for the offline job") from None
    elif "://" not in device and not Path(device).exists():
        raise PipelineError(f"--device {device}: no such port: plug the board in, or pass 'auto' or a pyserial URL")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    # Cheap checks first: nothing is trained or written before all of them pass.
    board = load_board(args.board)
    specs = load_zoo(args.zoo)
    if args.models:
        unknown = sorted(set(args.models) - {s.name for s in specs})
        if unknown:
            raise PipelineError(
                f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(s.name for s in specs)}"
            )
        specs = [s for s in specs if s.name in args.models]
    if args.epochs is not None and args.epochs < 0:
        raise PipelineError(f"--epochs {args.epochs}: use 0 or more")
    if args.timeout <= 0:
        raise PipelineError(f"--timeout {args.timeout}: use a positive number of seconds")
    check_verify_samples(args.verify_samples)
    if args.device:
        check_device(args.device, board)
    request = driver.RunRequest(
        out=args.out,
        board=board,
        data=args.data,
        epochs=args.epochs,
        force=args.force,
        emulate=args.emulate,
        tflm_dir=args.tflm_dir,
        kernels=tuple(dict.fromkeys(args.kernels)),
        device=args.device,
        timeout_s=args.timeout,
        verify_samples=args.verify_samples,
    )
    bar = None  # drawn when the first model starts: an error in the data leaves a clean terminal

    def say(text: str) -> None:
        (bar.write if bar is not None else print)(text, file=sys.stderr)

    prepared = driver.prepare_run(specs, request, notify=lambda text: say(f"tinyml run: {text}"))

    def started(name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=len(specs), desc="models", unit="model", file=sys.stderr)
        bar.set_postfix_str(name)  # the model in progress

    events = driver.Events(
        model_started=started,
        model_done=lambda name: bar.update() if bar is not None else None,
        step=lambda text: say(text),
        warn=lambda text: say(f"tinyml run: warning: {text}"),
    )
    try:
        outcome = driver.run(specs, request, events, prepared)
    finally:
        if bar is not None:
            bar.close()
    for problem in outcome.manifest.problems:
        if problem.model is None:  # a stage that did not run at all: one line, with its reason
            print(f"tinyml run: {problem.stage} {problem.reason}", file=sys.stderr)
    for m in outcome.models:
        state = "ok" if m.failed is None else f"FAILED ({m.failed.stage}): {m.failed.error}"
        print(f"{m.name}: {state}")
        for problem in m.problems:
            kernels = f" ({problem.kernels})" if problem.kernels else ""
            print(f"{m.name}: {problem.stage}{kernels} failed: {problem.reason}")
    written = outcome.report
    print(f"report: {written[0]} (+ {', '.join(p.name for p in written[1:])})")
    if outcome.failed:
        print(
            f"tinyml run: error: {len(outcome.failed)} model(s) failed: {', '.join(outcome.failed)}; see {written[0]}",
            file=sys.stderr,
        )
        return 1
    return 0
