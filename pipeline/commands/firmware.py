"""`tinyml firmware FILE.tflite`: write the firmware's generated model sources and print how to build.

Only the generated folder (default firmware/generated/, git-ignored) is ever written, and only as a
whole: a folder holding anything `tinyml firmware` did not generate is refused.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from pipeline import driver
from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.codegen.generate import DEFAULT_GENERATED_DIR
from pipeline.commands.options import add_kernels_argument, add_measurements_argument, output_folder
from pipeline.errors import PipelineError
from pipeline.kernel_sets import DEFAULT_KERNELS
from pipeline.project import find_checkout, source_checkout

DEFAULT_OUT = DEFAULT_GENERATED_DIR
RENODE_ENV_SUFFIX = "_renode"
# Read by the PlatformIO pre-script (firmware/ports/nano33ble/pio_extra.py) to build a generated
# folder other than the default one.
GENERATED_DIR_ENV = "TINYML_GENERATED_DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", type=Path, help="int8 .tflite model to embed")
    parser.add_argument(
        "--out",
        type=output_folder,
        default=None,
        help=f"folder for the generated sources (default: <project>/{DEFAULT_OUT})",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="model name the firmware reports (default: the file name; turned into a C identifier)",
    )
    parser.add_argument(
        "--arena-bytes",
        type=int,
        default=None,
        help="use this arena size (e.g. one measured in the emulator) instead of "
        "the predicted one; the margin is added either way",
    )
    parser.add_argument("--board", default=DEFAULT_BOARD, help="target board (pipeline/boards/*.toml)")
    add_kernels_argument(parser)
    add_measurements_argument(parser)


# Placeholder in the printed commands when no firmware project is found (a non-editable install).
CHECKOUT_PLACEHOLDER = "TINYML_CHECKOUT"


def pio_commands(project_root: Path | None, pio_env: str, out_dir: Path) -> list[tuple[str, str]]:
    """(label, shell command) pairs that build and upload the firmware with these sources, valid
    from the current folder: `-d` names the project when it is not the current folder."""
    prefix = ""
    default_out = project_root is not None and out_dir.resolve() == (project_root / DEFAULT_OUT).resolve()
    if not default_out:
        prefix = f"{GENERATED_DIR_ENV}={shlex.quote(str(out_dir.resolve()))} "
    project = ""
    if project_root is None:
        project = f" -d {CHECKOUT_PLACEHOLDER}"
    elif project_root.resolve() != Path.cwd().resolve():
        shown = os.path.relpath(project_root.resolve())
        project = f" -d {shlex.quote(str(project_root.resolve()) if shown.startswith('..') else shown)}"
    base = f"{prefix}pio run{project} -e {pio_env}"
    renode = f"{prefix}pio run{project} -e {pio_env}{RENODE_ENV_SUFFIX}"
    return [("build", base), ("upload", f"{base} -t upload"), ("renode build", renode)]


def generate(
    tflite: Path,
    board,
    out: Path | None = None,
    name: str | None = None,
    arena_bytes: int | None = None,
    kernels: str = DEFAULT_KERNELS,
    measurements: Path | None = None,
):
    """(sources, project root): the generated folder is `out`, else the project's default one."""

    project_root = find_checkout() or source_checkout()
    if out is None and project_root is None:
        raise PipelineError(
            "no platformio.ini with a firmware/ folder here or above: run inside the project checkout or pass --out DIR"
        )
    out_dir = out if out is not None else project_root / DEFAULT_OUT  # type: ignore[operator]  # checked above
    return driver.generate_sources(
        tflite, board, out_dir, name=name, arena_bytes=arena_bytes, kernels=kernels, measurements=measurements
    ), project_root


def run(args: argparse.Namespace) -> int:
    board = load_board(args.board)
    result, project_root = generate(
        args.tflite, board, args.out, args.name, args.arena_bytes, args.kernels, args.measurements
    )
    arena = result.arena
    shown = (
        os.path.relpath(result.out_dir) if not os.path.relpath(result.out_dir).startswith("..") else str(result.out_dir)
    )
    print(f"generated {', '.join(p.name for p in result.paths)} in {shown}")
    print(
        f"  model {result.model_name}: {result.model_bytes:,} B flash "
        f"(budget {board.model_flash_budget:,} B), {result.op_count} ops: {', '.join(result.ops)}; "
        f"kernels {result.kernels}"
    )
    source = {
        "emulated": "measured in the emulator",
        "given": "given (--arena-bytes)",
        "predicted": "predicted (no emulated measurement of this model yet)",
    }[arena.source]
    print(
        f"  arena {arena.reserved_bytes:,} B = {arena.predicted_bytes:,} B {source} + "
        f"{arena.margin_bytes:,} B margin ({arena.margin_rule}); budget {board.arena_budget:,} B"
    )
    if project_root is None:
        print(
            f"  no firmware project here or above: replace {CHECKOUT_PLACEHOLDER} with a checkout of "
            "the tinyml repository (it holds platformio.ini)"
        )
    for label, command in pio_commands(project_root, board.pio_env, result.out_dir):
        print(f"{label + ':':14s}{command}")
    return 0
