"""Measured (board cycles, or emulated instructions where no board ran) against predicted MACs:
per model and per layer, a least-squares fit of latency on MACs, and each standard/separable pair's
predicted ratio (MACs) next to the measured one."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.analysis.costs import KINDS

OP_KIND = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "fully_connected"}


@dataclass(frozen=True)
class Timing:
    source: str   # "board" or "emulator"
    unit: str     # "cycles" or "instructions"
    total: int    # median per inference
    layers: list[dict]  # [{op, ticks}]


def timing_of(model: dict) -> Timing | None:
    """The board's cycles when measured, else the emulator's instructions, else nothing."""
    measured, emulated = model.get("measured"), model.get("emulated")
    if measured and measured.get("cycles"):
        return Timing("board", "cycles", measured["cycles"],
                      [{"op": l["op"], "ticks": l["ticks"]} for l in measured.get("layers", [])])
    if emulated and emulated.get("instructions"):
        return Timing("emulator", "instructions", emulated["instructions"],
                      [{"op": l["op"], "ticks": l["instructions"]} for l in emulated.get("layers", [])])
    return None


@dataclass(frozen=True)
class LinearFit:
    slope: float       # ticks per MAC
    intercept: float   # ticks
    r2: float
    points: int


def fit_latency(macs: list[int], ticks: list[int]) -> LinearFit | None:
    if len(macs) < 2 or len(set(macs)) < 2:
        return None
    x, y = np.asarray(macs, float), np.asarray(ticks, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (residual ** 2).sum() / total if total else 1.0
    return LinearFit(float(slope), float(intercept), float(r2), len(x))


def layer_kind(row: dict) -> str:
    """Report groups: the first conv (input channels = image channels), depthwise 3x3, pointwise 1x1,
    other standard convs, fully connected."""
    if row["kind"] == "conv" and row["name"].startswith("conv1"):
        return "first conv"
    return {"depthwise": f"depthwise {row['d_k']}x{row['d_k']}", "pointwise": "pointwise 1x1",
            "conv": f"conv {row['d_k']}x{row['d_k']}", "fully_connected": "fully connected"}[row["kind"]]


def per_layer(model: dict, timing: Timing) -> list[dict]:
    """Pairs the timed operators with the model's MAC-carrying layers in execution order.
    Operators without MACs (pooling, softmax) are kept with macs = 0."""
    arithmetic = iter([r for r in model["layers"] if r["kind"] in KINDS])
    rows = []
    for layer in timing.layers:
        row = {"op": layer["op"], "ticks": layer["ticks"], "macs": 0, "kind": "other", "name": layer["op"]}
        if layer["op"] in OP_KIND:
            predicted = next(arithmetic, None)
            if predicted is None:
                break
            row.update(name=predicted["name"], macs=predicted["macs"], kind=layer_kind(predicted))
        row["ticks_per_mac"] = row["ticks"] / row["macs"] if row["macs"] else None
        rows.append(row)
    return rows


def per_kind(rows: list[dict]) -> dict[str, dict]:
    kinds: dict[str, dict] = {}
    for row in rows:
        if not row["macs"]:
            continue
        entry = kinds.setdefault(row["kind"], {"macs": 0, "ticks": 0})
        entry["macs"] += row["macs"]
        entry["ticks"] += row["ticks"]
    for entry in kinds.values():
        entry["ticks_per_mac"] = entry["ticks"] / entry["macs"]
    return kinds


def compare(models: list[dict]) -> dict:
    ok = [m for m in models if m.get("status") == "ok"]
    timed = [(m, timing_of(m)) for m in ok]
    timed = [(m, t) for m, t in timed if t is not None]
    result = {"models": [], "fit": None, "pairs": []}
    for m, t in timed:
        rows = per_layer(m, t)
        result["models"].append({
            "name": m["name"], "source": t.source, "unit": t.unit, "macs": m["macs"], "ticks": t.total,
            "ticks_per_mac": t.total / m["macs"], "macs_per_tick": m["macs"] / t.total,
            "layers": rows, "kinds": per_kind(rows)})
    units = {t.unit for _, t in timed}
    if len(units) == 1:  # one fit per unit: cycles and instructions do not mix
        fit = fit_latency([m["macs"] for m, _ in timed], [t.total for _, t in timed])
        result["fit"] = None if fit is None else {**fit.__dict__, "unit": units.pop()}
    by_name = {row["name"]: row for row in result["models"]}
    for standard, separable in pairs(ok):
        s, p = by_name.get(standard["name"]), by_name.get(separable["name"])
        if s and p and s["unit"] == p["unit"]:
            result["pairs"].append({
                "standard": s["name"], "separable": p["name"], "unit": s["unit"],
                "predicted_ratio": separable["macs"] / standard["macs"],
                "measured_ratio": p["ticks"] / s["ticks"]})
    return result


def pairs(models: list[dict]) -> list[tuple[dict, dict]]:
    """(standard, separable) models with the same alpha, resolution, channels and blocks."""
    key = lambda m: (m["alpha"], m["resolution"], m["channels"], m["blocks"], m["classes"])  # noqa: E731
    standard = {key(m): m for m in models if m["conv"] == "standard" and m["status"] == "ok"}
    return [(standard[key(m)], m) for m in models
            if m["conv"] == "separable" and m["status"] == "ok" and key(m) in standard]
