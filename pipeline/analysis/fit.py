"""Can the board hold the model? Flash for the model data, RAM for the tensor arena."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.board import Board


@dataclass(frozen=True)
class FitVerdict:
    fits: bool
    reasons: tuple[str, ...]  # empty when it fits


def check_fit(board: Board, flash_bytes: int, arena_bytes: int) -> FitVerdict:
    reasons = []
    if flash_bytes > board.model_flash_budget:
        reasons.append(f"model {flash_bytes:,} B > flash budget {board.model_flash_budget:,} B "
                       f"({board.flash_bytes:,} B application flash - {board.firmware_flash_bytes:,} B firmware)")
    if arena_bytes > board.arena_budget:
        reasons.append(f"arena {arena_bytes:,} B > RAM budget {board.arena_budget:,} B "
                       f"({board.ram_bytes:,} B RAM - {board.ram_reserved_bytes:,} B core and stack)")
    return FitVerdict(not reasons, tuple(reasons))
