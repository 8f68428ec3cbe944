"""tinyml run: the whole offline job on the default zoo (or a given one) and the report."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import add_kernels_argument, add_measurements_argument
from pipeline.errors import PipelineError
from pipeline.model.specs import load_zoo
from pipeline.store import DEFAULT_OUT, RUN_MANIFEST, check_output_folder, read_json, tflite_path, write_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: ./out)")
    parser.add_argument("--zoo", type=Path, default=None,
                        help="model zoo .toml (default: the project's models/zoo.toml, installed with the package)")
    parser.add_argument("--models", nargs="+", metavar="NAME", help="only these models of the zoo")
    parser.add_argument("--data", help="'digits' (default), a folder with one subfolder of images per class "
                                       "(any sizes and colour modes), or a .npz with x and y")
    parser.add_argument("--epochs", type=int,
                        help="override every model's epochs (0: no training; weights stay as initialised, "
                             "BatchNorm statistics and int8 calibration come from the data)")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="target board (default: nano33ble)")
    parser.add_argument("--force", action="store_true", help="redo models whose results are cached")
    parser.add_argument("--device", metavar="auto|PORT",
                        help="then flash and measure every model that fits on the board: 'auto' finds "
                             "it by USB VID:PID, or give its port (resumable: measured models are kept)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each device run")
    emulation = parser.add_mutually_exclusive_group()
    emulation.add_argument("--emulate", dest="emulate", action="store_const", const=True, default=None,
                           help="emulate every model that fits in QEMU (default: when the toolchain, "
                                "QEMU and the TFLM library are there; this flag makes their absence an error)")
    emulation.add_argument("--no-emulate", dest="emulate", action="store_const", const=False,
                           help="skip the emulation")
    parser.add_argument("--tflm-dir", default=None, help="TFLM Arduino library for the emulation "
                                                         "(default: $TFLM_ARDUINO_DIR, PlatformIO's libdeps)")
    add_kernels_argument(parser)


def check_device(device: str, board) -> None:
    """The board is looked for before any training, not after the whole offline job."""
    from pipeline.device.usb import find_board_port

    if device == "auto":
        try:
            find_board_port(board)
        except PipelineError as exc:
            found = str(exc).replace("--port", "--device PORT")  # the option of this command
            raise PipelineError(f"--device auto: {found}; or run without --device for the offline job") from None
    elif "://" not in device and not Path(device).exists():
        raise PipelineError(f"--device {device}: no such port: plug the board in, or pass 'auto' or a "
                            "pyserial URL")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    # Cheap checks first: nothing is trained or written before all of them pass.
    board = load_board(args.board)
    specs = load_zoo(args.zoo)
    if args.models:
        unknown = sorted(set(args.models) - {s.name for s in specs})
        if unknown:
            raise PipelineError(f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(s.name for s in specs)}")
        specs = [s for s in specs if s.name in args.models]
    if args.epochs is not None and args.epochs < 0:
        raise PipelineError(f"--epochs {args.epochs}: use 0 or more")
    if args.timeout <= 0:
        raise PipelineError(f"--timeout {args.timeout}: use a positive number of seconds")
    check_output_folder(args.out)
    if args.device:
        check_device(args.device, board)

    from pipeline.report.render import write_report
    from pipeline.driver import RunOptions, load_run_data, run_zoo

    from pipeline.emulator.zoo import emulate_models, plan_emulation

    options = RunOptions(out=args.out, data=args.data, epochs=args.epochs, force=args.force)
    data = load_run_data(specs, options)
    # Before the long part: --emulate with a missing toolchain or library fails now, in one line.
    plan = plan_emulation(args.emulate, args.tflm_dir)
    bar = None  # drawn when the first model starts: an error in the data leaves a clean terminal

    def progress(name: str, finished: bool) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=len(specs), desc="models", unit="model", file=sys.stderr)
        if finished:
            bar.update()
        else:
            bar.set_postfix_str(name)  # the model in progress

    def warn(text: str) -> None:
        (bar.write if bar is not None else print)(f"tinyml run: warning: {text}", file=sys.stderr)
    try:
        results = run_zoo(specs, options, board, progress, warn, data)
    finally:
        if bar is not None:
            bar.close()
    if plan.skipped is not None:
        print(f"emulation skipped: {plan.skipped}", file=sys.stderr)
    located = [{**m, "tflite": str(tflite_path(args.out, m))} if m["status"] == "ok" else m for m in results]
    emulate_failed = [m for m in emulate_models(located, plan, force=args.force, kernels=args.kernels) if m.error]
    for m in emulate_failed:
        print(f"{m.name}: emulation failed: {m.error}", file=sys.stderr)
    measure_failed = []
    if args.device:
        from pipeline.device.measure import MeasureOptions, measure_models

        fitting = [tflite_path(args.out, m) for m in results if m["status"] == "ok" and m["fits"]]
        options = MeasureOptions(port=None if args.device == "auto" else args.device,
                                 timeout_s=args.timeout, force=args.force, kernels=args.kernels)
        measure_failed = [m for m in measure_models(fitting, board, options) if m.error]
        for m in measure_failed:
            print(f"{m.name}: measuring failed: {m.error}", file=sys.stderr)
    # the report lists failures of every stage: the later stages' go into this run's manifest
    manifest = read_json(args.out / RUN_MANIFEST)
    manifest["emulate_failures"] = {m.name: m.error for m in emulate_failed}
    manifest["measure_failures"] = {m.name: m.error for m in measure_failed}
    write_json(args.out / RUN_MANIFEST, manifest)
    written = write_report(args.out, board)
    for m in results:
        state = "ok" if m["status"] == "ok" else f"FAILED ({m.get('stage')}): {m.get('error')}"
        print(f"{m['name']}: {state}")
    print(f"report: {written[0]} (+ {', '.join(p.name for p in written[1:])})")
    failed = ([m["name"] for m in results if m["status"] != "ok"] + [m.name for m in emulate_failed]
              + [m.name for m in measure_failed])
    if failed:
        print(f"tinyml run: error: {len(failed)} model(s) failed: {', '.join(failed)}; see {written[0]}",
              file=sys.stderr)
        return 1
    return 0
