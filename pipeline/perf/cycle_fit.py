"""Fits the cycle model's penalties (branch refill, address-dependency stall, flash wait states,
cache miss penalty) to board runs: each run gives the board's cycles (measured.json `cycles`) and
the emulated instruction-class counts of the same model (emulated.json `estimate_counts`). The
model is linear in every penalty, so the fit is ordinary least squares on
    measured − estimate(penalties = 0) = Σ penalty × d estimate / d penalty.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import PipelineError
from pipeline.perf import cycles
from pipeline.perf.counts import ClassCounts


@dataclass(frozen=True)
class BoardRun:
    name: str
    counts: ClassCounts
    cache_on: bool
    measured_cycles: float


@dataclass(frozen=True)
class FitResult:
    penalties: dict  # fitted name -> value (the others kept at the model's values)
    model: cycles.CycleModel
    rows: list  # per run: name, measured, before, after (cycles)
    rank: int


def _estimate(run: BoardRun, model: cycles.CycleModel) -> float:
    return cycles.invoke_cycles(run.counts, run.cache_on, model)


def fit_penalties(
    runs: list[BoardRun], names: tuple[str, ...] = cycles.CycleModel.PENALTIES, model: cycles.CycleModel | None = None
) -> FitResult:
    import numpy as np

    if model is None:
        raise PipelineError("internal: fit_penalties needs the board's cycle model")
    unknown = [n for n in names if n not in cycles.CycleModel.PENALTIES]
    if unknown:
        raise PipelineError(
            f"unknown penalty {', '.join(unknown)}: choose from {', '.join(cycles.CycleModel.PENALTIES)}"
        )
    if len(runs) < len(names):
        raise PipelineError(
            f"{len(runs)} board run(s) cannot fit {len(names)} penalties: give "
            f"at least {len(names)} runs or fewer penalties with --fit"
        )
    zero = model.with_penalties(**{n: 0.0 for n in names})
    base = np.array([_estimate(r, zero) for r in runs])
    columns = []
    for name in names:
        unit = zero.with_penalties(**{name: 1.0})
        columns.append([_estimate(r, unit) for r in runs] - base)
    a = np.array(columns).T
    y = np.array([r.measured_cycles for r in runs]) - base
    solution, _, rank, _ = np.linalg.lstsq(a, y, rcond=None)
    fitted = {n: float(v) for n, v in zip(names, solution)}
    fitted_model = model.with_penalties(**fitted)
    rows = [
        {
            "name": r.name,
            "cache": "on" if r.cache_on else "off",
            "measured": r.measured_cycles,
            "before": _estimate(r, model),
            "after": _estimate(r, fitted_model),
        }
        for r in runs
    ]
    return FitResult(fitted, fitted_model, rows, int(rank))
