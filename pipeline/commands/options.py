"""Options several commands share, spelled and explained once."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.kernel_sets import DEFAULT_KERNELS, KERNEL_SETS


def add_kernels_argument(parser: argparse.ArgumentParser) -> None:
    """The `--kernels` option of firmware, emulate, flash, measure and run."""
    parser.add_argument(
        "--kernels",
        choices=KERNEL_SETS,
        default=DEFAULT_KERNELS,
        help="int8 conv kernels: cmsis-nn (the library's, default) or tinyml (the "
        "project's depthwise 3x3 and first-layer kernels, CMSIS-NN elsewhere)",
    )


def add_kernel_sets_argument(parser: argparse.ArgumentParser) -> None:
    """`tinyml run --kernels`: the kernel sets every model is emulated with (default both)."""
    parser.add_argument(
        "--kernels",
        nargs="+",
        choices=KERNEL_SETS,
        default=list(KERNEL_SETS),
        metavar="SET",
        help=f"kernel sets to emulate each model with: {', '.join(KERNEL_SETS)} "
        "(default: both; the report leads with the faster bit-exact one)",
    )


def add_measurements_argument(parser: argparse.ArgumentParser) -> None:
    """Where arena measurements of `tinyml emulate` are kept and read (pipeline.store)."""
    parser.add_argument(
        "--measurements",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of the emulator's arena measurements (default: OUT/measurements "
        "for a model of `tinyml run --out OUT`, else the user cache's, "
        "~/.cache/tinyml/measurements or $TINYML_CACHE_DIR/measurements)",
    )
