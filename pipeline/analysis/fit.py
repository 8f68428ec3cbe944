"""Can the board hold the model? One verdict for the report, `tinyml analyze` and `tinyml firmware`:
flash for the model data, RAM for the arena the firmware reserves (prediction or measurement plus
the margin below), so all three answer the same for the same board.

Margin: the arena predictor replays TFLM's allocator (pipeline.analysis.arena) and matches the
firmware to the byte on the models we checked, so the margin is small: 2 % (at least 1 KiB) for
what nobody checked yet. When a kernel's persistent data is not modelled (arena.unmodelled_ops),
10 %. The reserved arena is never below the size AllocateTensors needs while it plans
(`required_bytes`), which exceeds the used bytes on very small models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.board import Board
from pipeline.errors import PipelineError

ARENA_MARGIN_FRACTION = 0.02
ARENA_MARGIN_FRACTION_UNMODELLED = 0.10
ARENA_MARGIN_MIN_BYTES = 1024
ARENA_ALIGN = 16


@dataclass(frozen=True)
class FitVerdict:
    fits: bool
    reasons: tuple[str, ...]  # empty when it fits


@dataclass(frozen=True)
class ArenaPlan:
    predicted_bytes: int  # the arena TFLM uses: predicted, or measured in the emulator
    margin_bytes: int
    reserved_bytes: int  # what the firmware reserves: max(required, used + margin), 16 B aligned
    source: str = "predicted"  # predicted | emulated | given
    margin_fraction: float = ARENA_MARGIN_FRACTION

    @property
    def margin_rule(self) -> str:
        return f"{self.margin_fraction:.0%} of the arena, at least {ARENA_MARGIN_MIN_BYTES} B"


def plan_arena(
    arena_bytes: int, required_bytes: int | None = None, *, source: str = "predicted", unmodelled: bool = False
) -> ArenaPlan:
    if arena_bytes <= 0:
        raise PipelineError(
            f"arena of {arena_bytes} B is not a size: pass a positive --arena-bytes "
            "or re-run the arena prediction for this model"
        )
    fraction = ARENA_MARGIN_FRACTION_UNMODELLED if unmodelled else ARENA_MARGIN_FRACTION
    margin = max(ARENA_MARGIN_MIN_BYTES, math.ceil(arena_bytes * fraction))
    wanted = max(arena_bytes + margin, required_bytes or 0)
    reserved = -(-wanted // ARENA_ALIGN) * ARENA_ALIGN
    return ArenaPlan(arena_bytes, reserved - arena_bytes, reserved, source, fraction)


def check_fit(board: Board, flash_bytes: int, arena_bytes: int) -> FitVerdict:
    """`arena_bytes` is what the firmware reserves (ArenaPlan.reserved_bytes)."""
    reasons = []
    if flash_bytes > board.model_flash_budget:
        reasons.append(
            f"model {flash_bytes:,} B > flash budget {board.model_flash_budget:,} B "
            f"({board.flash_bytes:,} B application flash - {board.firmware_flash_bytes:,} B firmware)"
        )
    if arena_bytes > board.arena_budget:
        reasons.append(
            f"arena {arena_bytes:,} B > RAM budget {board.arena_budget:,} B "
            f"({board.ram_bytes:,} B RAM - {board.ram_reserved_bytes:,} B core and stack)"
        )
    return FitVerdict(not reasons, tuple(reasons))


def fit_verdict(board: Board, flash_bytes: int, plan: ArenaPlan) -> FitVerdict:
    """The verdict every command gives: flash, and the reserved arena (margin included)."""
    verdict = check_fit(board, flash_bytes, plan.reserved_bytes)
    if verdict.fits or plan.reserved_bytes <= board.arena_budget:
        return verdict
    reasons = tuple(
        r
        + (
            f" ({plan.predicted_bytes:,} B {plan.source} + {plan.margin_bytes:,} B margin)"
            if r.startswith("arena")
            else ""
        )
        for r in verdict.reasons
    )
    return FitVerdict(False, reasons)


def plan_for_prediction(prediction) -> ArenaPlan:
    """The plan for an arena.ArenaPrediction."""
    return plan_arena(prediction.predicted_bytes, prediction.required_bytes, unmodelled=bool(prediction.unmodelled_ops))


def plan_model_arena(prediction, arena_bytes: int | None = None, recorded_bytes: int | None = None) -> ArenaPlan:
    """The arena to reserve: given (--arena-bytes), else the emulated measurement recorded for
    these model bytes (a MeasurementStore the command handed over), else the prediction
    (pipeline.analysis.arena.ArenaPrediction); the plan's `source` says which."""
    if arena_bytes is not None:
        return plan_arena(arena_bytes, source="given")
    if recorded_bytes is not None:
        return plan_arena(recorded_bytes, source="emulated")
    return plan_for_prediction(prediction)
