"""`tinyml firmware FILE.tflite`: write the firmware's generated model sources and print how to build.

Only the generated folder (default firmware/generated/, git-ignored) is ever written, and only as a
whole: a folder holding anything `tinyml firmware` did not generate is refused.
"""
from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.errors import PipelineError

DEFAULT_OUT = Path("firmware") / "generated"
RENODE_ENV_SUFFIX = "_renode"
# Read by the PlatformIO pre-script (firmware/ports/nano33ble/pio_extra.py) to build a generated
# folder other than the default one.
GENERATED_DIR_ENV = "TINYML_GENERATED_DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", type=Path, help="int8 .tflite model to embed")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the generated sources (default: <project>/{DEFAULT_OUT})")
    parser.add_argument("--name", default=None,
                        help="model name the firmware reports (default: the file name; "
                             "turned into a C identifier)")
    parser.add_argument("--arena-bytes", type=int, default=None,
                        help="use this arena size (e.g. one measured in the emulator) instead of "
                             "the predicted one; the margin is added either way")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="target board (pipeline/boards/*.toml)")


def find_project_root(start: Path | None = None) -> Path | None:
    """The folder holding platformio.ini and firmware/: the current folder or a parent of it."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "platformio.ini").is_file() and (folder / "firmware").is_dir():
            return folder
    return None


def pio_commands(project_root: Path | None, pio_env: str, out_dir: Path) -> list[tuple[str, str]]:
    """(label, shell command) pairs that build and upload the firmware with these sources."""
    prefix = ""
    default_out = project_root is not None and out_dir.resolve() == (project_root / DEFAULT_OUT).resolve()
    if not default_out:
        prefix = f"{GENERATED_DIR_ENV}={shlex.quote(str(out_dir.resolve()))} "
    project = ""
    if project_root is not None and project_root.resolve() != Path.cwd().resolve():
        project = f" -d {shlex.quote(str(project_root))}"
    base = f"{prefix}pio run{project} -e {pio_env}"
    renode = f"{prefix}pio run{project} -e {pio_env}{RENODE_ENV_SUFFIX}"
    return [("build", base), ("upload", f"{base} -t upload"), ("renode build", renode)]


def generate(tflite: Path, board, out: Path | None = None, name: str | None = None,
             arena_bytes: int | None = None):
    """Analyse `tflite` and (re)write its generated sources; returns (sources, project root).
    Also used by `tinyml flash` / `tinyml measure` before they build."""
    # Imported here so that `tinyml --help` does not pay for the flatbuffer schema and TFLM.
    from pipeline.codegen import generate_firmware_sources
    from pipeline.tflite_model import analyze_tflite

    if tflite.suffix.lower() != ".tflite":
        raise PipelineError(f"{tflite} is not a .tflite file: pass the int8 model the "
                            "converter wrote")
    analysis = analyze_tflite(tflite)
    model_bytes = tflite.read_bytes()
    if arena_bytes is None:
        from pipeline.arena import predict_arena_bytes
        arena_bytes = predict_arena_bytes(model_bytes)

    project_root = find_project_root()
    if out is not None:
        out_dir = out
    elif project_root is not None:
        out_dir = project_root / DEFAULT_OUT
    else:
        raise PipelineError("no platformio.ini with a firmware/ folder here or above: run inside "
                            "the project checkout or pass --out DIR")
    sources = generate_firmware_sources(analysis, model_bytes, arena_bytes, board, out_dir,
                                        model_name=name, source_name=tflite.name)
    return sources, project_root


def run(args: argparse.Namespace) -> int:
    board = load_board(args.board)
    result, project_root = generate(args.tflite, board, args.out, args.name, args.arena_bytes)
    arena = result.arena
    shown = os.path.relpath(result.out_dir) if not os.path.relpath(result.out_dir).startswith("..") \
        else str(result.out_dir)
    print(f"generated {', '.join(p.name for p in result.paths)} in {shown}")
    print(f"  model {result.model_name}: {result.model_bytes:,} B flash "
          f"(budget {board.model_flash_budget:,} B), {result.op_count} ops: {', '.join(result.ops)}")
    print(f"  arena {arena.reserved_bytes:,} B = {arena.predicted_bytes:,} B "
          f"{'given' if args.arena_bytes is not None else 'predicted'} + {arena.margin_bytes:,} B "
          f"margin ({arena.margin_rule}); budget {board.arena_budget:,} B")
    for label, command in pio_commands(project_root, board.pio_env, result.out_dir):
        print(f"{label + ':':14s}{command}")
    return 0
