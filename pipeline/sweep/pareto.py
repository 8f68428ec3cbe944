"""The front: per board, the evaluated points no other point beats on every objective at once:
int8 accuracy (up), estimated ms on the board (down), flash (down) and arena (down).

Candidates are the points done, fitting the board and within the constraints. An objective no
candidate has a value for (no emulation, or a board without a cycle model: no estimated ms) is left
out for that board; a candidate without a value of a kept objective is no candidate. Pure functions
of the rows: the outputs and the tests call them alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.sweep.space import Constraints
from pipeline.sweep.store import DONE, fits_column, ms_column


@dataclass(frozen=True)
class Objective:
    column: str
    maximize: bool
    label: str


def objectives(board: str) -> tuple[Objective, ...]:
    return (
        Objective("accuracy_int8", True, "int8 accuracy"),
        Objective(ms_column(board), False, "estimated ms"),
        Objective("flash_bytes", False, "flash"),
        Objective("arena_bytes", False, "arena"),
    )


def constraint_problems(row: dict, board: str, constraints: Constraints) -> list[str]:
    """Why an evaluated point is out of the board's front (empty: it is a candidate)."""
    problems = []
    if row.get(fits_column(board)) == 0:
        problems.append(f"does not fit {board}")
    ms = row.get(ms_column(board))
    checks = (
        (constraints.max_ms, ms, lambda limit, v: v > limit, "ms {v:,.1f} > max_ms {limit:g}"),
        (
            constraints.max_flash_bytes,
            row.get("flash_bytes"),
            lambda limit, v: v > limit,
            "flash {v:,} B > max_flash_bytes {limit:,}",
        ),
        (
            constraints.max_arena_bytes,
            row.get("arena_bytes"),
            lambda limit, v: v > limit,
            "arena {v:,} B > max_arena_bytes {limit:,}",
        ),
        (
            constraints.min_accuracy,
            row.get("accuracy_int8"),
            lambda limit, v: v < limit,
            "int8 accuracy {v:.3f} < min_accuracy {limit:g}",
        ),
    )
    for limit, value, broken, text in checks:
        if limit is not None and value is not None and broken(limit, value):
            problems.append(text.format(v=value, limit=limit))
    return problems


def dominates(a: dict, b: dict, kept: Sequence[Objective]) -> bool:
    better = False
    for objective in kept:
        x, y = a[objective.column], b[objective.column]
        if objective.maximize:
            x, y = -x, -y
        if x > y:
            return False
        better = better or x < y
    return better


@dataclass(frozen=True)
class Front:
    board: str
    objectives: tuple[Objective, ...]  # the ones kept
    keys: tuple[str, ...]  # best int8 accuracy first
    candidates: int


def front(rows: Sequence[dict], board: str, constraints: Constraints) -> Front:
    done = [r for r in rows if r["status"] == DONE and not constraint_problems(r, board, constraints)]
    kept = tuple(o for o in objectives(board) if any(r.get(o.column) is not None for r in done))
    candidates = [r for r in done if all(r.get(o.column) is not None for o in kept)]
    best = [r for r in candidates if not any(dominates(other, r, kept) for other in candidates)]
    best.sort(key=lambda r: tuple((-r[o.column] if o.maximize else r[o.column]) for o in kept) + (r["key"],))
    return Front(board, kept, tuple(r["key"] for r in best), len(candidates))


def fronts(rows: Sequence[dict], boards: Sequence[str], constraints: Constraints) -> dict[str, Front]:
    return {board: front(rows, board, constraints) for board in boards}
