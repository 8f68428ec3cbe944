"""When the emulated firmware cannot allocate its arena (ERROR code=alloc_failed), the prediction
was short: rebuild the same model once with every byte of arena the emulator board allows, run it
again and let `tinyml emulate` record what TFLM really used (pipeline.store.MeasurementStore),
which `tinyml firmware` then reserves instead of the prediction."""
from __future__ import annotations

from pathlib import Path

from pipeline.analysis.fit import ARENA_ALIGN, ArenaPlan, fit_verdict, plan_model_arena
from pipeline.analysis.tflite_model import check_tflm_limits, load_int8_model
from pipeline.board import load_board
from pipeline.codegen.generate import generate_firmware_sources
from pipeline.emulator.build import build_target
from pipeline.emulator.qemu import EMULATOR_BOARD
from pipeline.errors import ModelError, PipelineError


def largest_arena_plan(board_key: str) -> ArenaPlan:
    budget = load_board(board_key).arena_budget // ARENA_ALIGN * ARENA_ALIGN
    return ArenaPlan(budget, 0, budget, source="given", margin_fraction=0.0)


def rebuild_with_largest_arena(path: Path, generated, tree: Path):
    """Regenerates the model's sources with the largest arena and rebuilds its firmware target
    (same ELF path); returns the new generated sources."""
    data, analysis = load_int8_model(path)
    rebuilt = generate_firmware_sources(analysis, data, largest_arena_plan(EMULATOR_BOARD),
                                        load_board(EMULATOR_BOARD), generated.out_dir,
                                        model_name=generated.model_name, source_name=Path(path).name,
                                        kernels=generated.kernels)
    build_target(tree, f"fw_{rebuilt.out_dir.name}")
    return rebuilt


def still_failed(first_error, run, rebuilt) -> None:
    """Raises when the rebuilt firmware failed too (then the model needs more than the emulator has)."""
    if run.error is not None:
        raise PipelineError(f"the firmware reported {first_error.code} "
                            f"({first_error.detail.replace('_', ' ')}) and again with the "
                            f"emulator's whole {rebuilt.arena.reserved_bytes:,} B arena: "
                            f"{run.error.detail.replace('_', ' ')}")


def check_model_for_emulator(path) -> None:
    """The cheap checks first, before the environment and any build: the same line `tinyml
    analyze` gives for a bad model, then the emulator's memory (mps2-an386: 4 MB code, 4 MB RAM)."""
    data, analysis = load_int8_model(path)
    board = load_board(EMULATOR_BOARD)
    verdict = fit_verdict(board, analysis.model_bytes, plan_model_arena(data, analysis.name))
    if not verdict.fits:
        raise ModelError(str(path), f"too large for the emulator ({'; '.join(verdict.reasons)}): "
                                    "emulate a smaller model")
    check_tflm_limits(data, str(path))
