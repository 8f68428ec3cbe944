"""When the emulated firmware cannot allocate its arena (ERROR code=alloc_failed), the prediction
was short: rebuild the same model once with every byte of arena the emulator board allows, run it
again and let `tinyml emulate` record what TFLM really used (pipeline.store.MeasurementStore),
which `tinyml firmware` then reserves instead of the prediction."""

from __future__ import annotations

from pathlib import Path

from pipeline.analysis.fit import ARENA_ALIGN, ArenaPlan, fit_verdict
from pipeline.analysis.model_analysis import ModelAnalysis
from pipeline.board import load_board
from pipeline.codegen.generate import GeneratedSources, generate_firmware_sources
from pipeline.emulator.build import build_target
from pipeline.emulator.qemu import EMULATOR_BOARD
from pipeline.errors import ModelError, PipelineError


def largest_arena_plan(board_key: str) -> ArenaPlan:
    budget = load_board(board_key).arena_budget // ARENA_ALIGN * ARENA_ALIGN
    return ArenaPlan(budget, 0, budget, source="given", margin_fraction=0.0)


def rebuild_with_largest_arena(analysis: ModelAnalysis, generated: GeneratedSources, tree: Path) -> GeneratedSources:
    """Regenerates the model's sources with the largest arena and rebuilds its firmware target
    (same ELF path); returns the new generated sources."""
    rebuilt = generate_firmware_sources(
        analysis,
        load_board(EMULATOR_BOARD),
        generated.out_dir,
        model_name=generated.model_name,
        arena=largest_arena_plan(EMULATOR_BOARD),
        kernels=generated.kernels,
    )
    build_target(tree, f"fw_{rebuilt.out_dir.name}")
    return rebuilt


def still_failed(first_error, run, rebuilt) -> None:
    """Raises when the rebuilt firmware failed too (then the model needs more than the emulator has)."""
    if run.error is not None:
        raise PipelineError(
            f"the firmware reported {first_error.code} "
            f"({first_error.detail.replace('_', ' ')}) and again with the "
            f"emulator's whole {rebuilt.arena.reserved_bytes:,} B arena: "
            f"{run.error.detail.replace('_', ' ')}"
        )


def check_model_for_emulator(analysis: ModelAnalysis) -> None:
    """Before the environment and any build: the emulator's memory (mps2-an386: 4 MB code, 4 MB
    RAM), then what TFLM would abort on."""
    verdict = fit_verdict(load_board(EMULATOR_BOARD), analysis.model_bytes, analysis.arena_plan)
    if not verdict.fits:
        raise ModelError(
            analysis.source, f"too large for the emulator ({'; '.join(verdict.reasons)}): emulate a smaller model"
        )
    if analysis.tflm_problem:
        raise ModelError(analysis.source, analysis.tflm_problem)
