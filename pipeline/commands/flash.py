"""tinyml flash: generate the model sources, build and upload with PlatformIO, wait for the board."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline import driver
from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import add_kernels_argument
from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", type=Path, help="int8 .tflite model")
    parser.add_argument("--port", help="upload port (default: find the board by USB VID:PID)")
    parser.add_argument("--board", default=DEFAULT_BOARD)
    add_kernels_argument(parser)


def run(args: argparse.Namespace) -> int:

    if not args.tflite.is_file():
        raise PipelineError(f"{args.tflite} not found: pass an int8 .tflite file")
    board = load_board(args.board)
    port = driver.flash_file(args.tflite, board, args.port, args.kernels)
    print(
        f"flashed {args.tflite.name} (kernels {args.kernels}); the board reports on {port}: "
        f"tinyml measure {args.tflite} --no-flash --port {port} --kernels {args.kernels}"
    )
    return 0
