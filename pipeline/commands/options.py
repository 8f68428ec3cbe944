"""Options several commands share, spelled and explained once."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.driver import VerifyRequest
from pipeline.errors import PipelineError
from pipeline.kernel_sets import DEFAULT_KERNELS, KERNEL_SETS
from pipeline.records import VerifyRecord


def add_kernels_argument(parser: argparse.ArgumentParser) -> None:
    """The `--kernels` option of firmware, emulate, flash, measure and run."""
    parser.add_argument(
        "--kernels",
        choices=KERNEL_SETS,
        default=DEFAULT_KERNELS,
        help="int8 conv kernels: cmsis-nn (the library's, default) or tinyml (the "
        "project's depthwise, 1x1 and convolution kernels where they are faster, CMSIS-NN elsewhere)",
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


def add_emulation_arguments(parser: argparse.ArgumentParser, what: str, which: str = "") -> None:
    """`--emulate/--no-emulate --tflm-dir --verify-samples N` of run and sweep; `what` names what
    they emulate ("model", "trained point"), `which` which of them (" that fits")."""
    emulation = parser.add_mutually_exclusive_group()
    emulation.add_argument(
        "--emulate",
        dest="emulate",
        action="store_const",
        const=True,
        default=None,
        help=f"emulate every {what}{which} in QEMU (default: when the toolchain, QEMU and the TFLM library "
        "are there; this flag makes their absence an error)",
    )
    emulation.add_argument("--no-emulate", dest="emulate", action="store_const", const=False, help="skip the emulation")
    parser.add_argument(
        "--tflm-dir",
        default=None,
        help="TFLM Arduino library for the emulation (default: $TFLM_ARDUINO_DIR, PlatformIO's libdeps)",
    )
    parser.add_argument(
        "--verify-samples",
        type=int,
        default=None,
        metavar="N",
        help=f"verify each emulated {what}'s firmware on N test inputs against TFLite's reference kernels "
        "(default: the whole test split; 0: do not verify); a difference fails it",
    )


def check_verify_samples(samples: int | None) -> None:
    if samples is not None and samples < 0:
        raise PipelineError(f"--verify-samples {samples}: use 0 (no verification) or more")


def add_verify_arguments(parser: argparse.ArgumentParser, board: bool = False) -> None:
    """`--verify [--data PATH] [--samples N]` of emulate and measure."""
    where = "on the board over serial" if board else "in QEMU"
    parser.add_argument(
        "--verify",
        action="store_true",
        help=f"run real inputs through the firmware {where} and compare its outputs with TFLite's "
        "reference kernels (a difference fails the model and names the first differing layer)",
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="PATH",
        help="with --verify: inputs from this data's test split (a folder of class folders, a .npz, or "
        "'digits'); default: the data a run trained the model on, else seeded inputs",
    )
    parser.add_argument(
        "--samples", type=int, default=None, metavar="N", help="with --verify: at most N inputs (default: all)"
    )


def verify_request(args: argparse.Namespace) -> VerifyRequest | None:
    """The verification the options ask for; one line for options that make no sense."""
    if not args.verify:
        given = [flag for flag, value in (("--data", args.data), ("--samples", args.samples)) if value is not None]
        if given:
            raise PipelineError(f"{' and '.join(given)} only apply with --verify: add --verify")
        return None
    if args.samples is not None and args.samples < 1:
        raise PipelineError(f"--samples {args.samples}: verify at least 1 input")
    return VerifyRequest(args.data, args.samples)


def format_verify(record: VerifyRecord) -> list[str]:
    lines = [
        f"  verified on {record.inputs}",
        f"  bit-exact outputs {record.bit_exact_share:.1%} of {record.samples}"
        + (f", largest difference {record.max_abs_diff_lsb} LSB" if record.max_abs_diff_lsb is not None else "")
        + (f", {record.samples_per_second:.1f} inputs/s" if record.samples_per_second else ""),
    ]
    if record.accuracy_firmware is not None:
        lines.append(
            f"  accuracy on the firmware {record.accuracy_firmware:.4f}, on TFLite (reference kernels) "
            f"{record.accuracy_reference:.4f}"
        )
    layer = record.first_divergent_layer
    if layer is not None:
        lines.append(f"  first divergent layer: #{layer.index} {layer.op} ({layer.name})")
    return lines


def output_folder(text: str) -> Path:
    """`--out`: a folder name; an empty one would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty folder name: give a folder (the default is ./out)")
    return Path(text)
