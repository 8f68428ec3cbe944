"""tinyml flash: generate the model sources, build and upload with PlatformIO, wait for the board."""
from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import add_kernels_argument, add_measurements_argument
from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", type=Path, help="int8 .tflite model")
    parser.add_argument("--port", help="upload port (default: find the board by USB VID:PID)")
    parser.add_argument("--board", default=DEFAULT_BOARD)
    add_kernels_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pipeline.device.measure import flash_with_platformio

    if not args.tflite.is_file():
        raise PipelineError(f"{args.tflite} not found: pass an int8 .tflite file")
    board = load_board(args.board)
    port = flash_with_platformio(board, args.kernels)(args.tflite, args.port)
    print(f"flashed {args.tflite.name} (kernels {args.kernels}); the board reports on {port}: "
          f"tinyml measure {args.tflite} --no-flash --port {port} --kernels {args.kernels}")
    return 0
