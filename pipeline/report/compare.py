"""Report section: what the Cortex-M4 did with the MACs, per model and per layer kind, board
cycles where a board ran, else emulated instructions; and per convolution kind (standard or
separable) a least-squares line of instructions on MACs, fitted apart because the two kinds run
different kernels at different costs per MAC."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.records import ModelResults
from pipeline.report.tables import table


@dataclass(frozen=True)
class LinearFit:
    slope: float  # per MAC
    intercept: float
    r2: float
    points: int


def fit_line(macs: list[int], ticks: list[int]) -> LinearFit | None:
    """A line needs three points of at least two MAC counts to say anything beyond them."""
    if len(macs) < 3 or len(set(macs)) < 2:
        return None
    x, y = np.asarray(macs, float), np.asarray(ticks, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    return LinearFit(float(slope), float(intercept), float(1.0 - (residual**2).sum() / total) if total else 1.0, len(x))


def instruction_fits(models: list[ModelResults], kernels: str) -> dict[str, LinearFit]:
    """Per convolution kind: instructions = slope × MACs + intercept over the emulated models."""
    fits = {}
    for conv in ("standard", "separable"):
        chosen = [m for m in models if m.ok and m.built.spec.conv == conv and kernels in m.emulated]
        fit = fit_line([m.built.macs for m in chosen], [m.emulated[kernels].instructions for m in chosen])
        if fit is not None:
            fits[conv] = fit
    return fits


def per_kind(model: ModelResults, kernels: str) -> dict[str, float]:
    """Instructions per MAC per layer kind of one emulated record."""
    record = model.emulated.get(kernels)
    return {k: v["instructions_per_mac"] for k, v in (record.layer_kinds if record else {}).items() if v["macs"]}


def instructions_section(models: list[ModelResults], kernels: str | None) -> list[str]:
    if kernels is None:
        return []
    emulated = [m for m in models if m.ok and kernels in m.emulated]
    if not emulated:
        return []
    kinds = sorted({k for m in emulated for k in per_kind(m, kernels)})
    parts = [
        "",
        f"## Instructions per MAC ({kernels} kernels, QEMU)",
        "",
        table(
            ["model", "network", "MACs", "instructions", "instr/MAC"] + [f"{k} instr/MAC" for k in kinds],
            [
                [
                    m.name,
                    m.built.spec.conv,
                    m.built.macs,
                    m.emulated[kernels].instructions,
                    m.emulated[kernels].instructions_per_mac,
                ]
                + [per_kind(m, kernels).get(k) for k in kinds]
                for m in emulated
            ],
        ),
    ]
    fits = instruction_fits(models, kernels)
    for conv, fit in fits.items():
        parts += [
            "",
            f"{conv.capitalize()} networks ({fit.points}): instructions = {fit.slope:.3f} × MACs "
            f"+ {fit.intercept:,.0f} (R² {fit.r2:.3f}), fitted apart from the other kind.",
        ]
    return parts
