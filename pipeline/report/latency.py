"""Report section: latency in milliseconds on the board's clock. Estimated Cortex-M4 cycles from
the emulated run (emulated.json `estimated_cycles`, pipeline/perf/cycles.py), replaced by the
board's measured cycles (measured.json `cycles`) where a board ran, with the estimate's error
beside them. Pure functions of the model dicts render.py loads."""
from __future__ import annotations

from pathlib import Path

from pipeline.report.compare import pairs

CACHE_STATES = ("cache_on", "cache_off")


def _estimate(model: dict) -> dict | None:
    emulated = model.get("emulated") or {}
    return emulated if emulated.get("estimated_cycles") else None


def _measured_cycles(model: dict) -> int | None:
    measured = model.get("measured") or {}
    return measured.get("cycles") or None


def _ms(cycles: float | None, clock_hz: int) -> float | None:
    return None if cycles is None else 1000.0 * cycles / clock_hz


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def model_rows(models: list[dict], clock_hz: int) -> list[dict]:
    """Per model: MACs, instructions, estimated cycles/ms cache on/off, MAC/cycle; measured cycles
    and ms where a board ran, with the estimates' errors (in % of the measurement)."""
    rows = []
    for m in models:
        est, measured = _estimate(m), _measured_cycles(m)
        if est is None and measured is None:
            continue
        cycles = est["estimated_cycles"] if est else {}
        row = {"name": m["name"], "macs": m.get("macs"),
               "instructions": (m.get("emulated") or {}).get("instructions"),
               **{f"est_cycles_{k}": cycles.get(k) for k in CACHE_STATES},
               **{f"est_ms_{k}": _ms(cycles.get(k), clock_hz) for k in CACHE_STATES},
               **{f"est_mac_per_cycle_{k}": _ratio(m.get("macs"), cycles.get(k)) for k in CACHE_STATES},
               "measured_cycles": measured, "measured_ms": _ms(measured, clock_hz),
               "measured_mac_per_cycle": _ratio(m.get("macs"), measured)}
        for k in CACHE_STATES:
            row[f"error_pct_{k}"] = (100.0 * (cycles[k] - measured) / measured
                                     if measured and cycles.get(k) else None)
        rows.append(row)
    return rows


def _latency(row: dict, state: str) -> float | None:
    """Measured cycles where they exist, else the estimate."""
    return row["measured_cycles"] or row[f"est_cycles_{state}"]


def pair_rows(models: list[dict], clock_hz: int) -> list[dict]:
    """Per standard/separable pair: the seed's MAC ratio, the instruction ratio and the latency
    ratio (separable / standard; measured where both ran on a board, else estimated)."""
    by_name = {r["name"]: r for r in model_rows(models, clock_hz)}
    rows = []
    for standard, separable in pairs(models):
        s, p = by_name.get(standard["name"]), by_name.get(separable["name"])
        if s is None or p is None:
            continue
        rows.append({"pair": f"{standard['name']} / {separable['name']}",
                     "mac_ratio": _ratio(separable["macs"], standard["macs"]),
                     "instruction_ratio": _ratio(p["instructions"], s["instructions"]),
                     **{f"latency_ratio_{k}": _ratio(_latency(p, k), _latency(s, k))
                        for k in CACHE_STATES},
                     "source": "board" if s["measured_cycles"] and p["measured_cycles"] else "estimate"})
    return rows


def kind_rows(models: list[dict]) -> dict[str, dict[str, float | None]]:
    """MAC per estimated cycle (cache on) per layer kind, per model; the first convolution is its
    own kind (one input channel, no CMSIS-NN fast path)."""
    table = {}
    for m in models:
        est = _estimate(m)
        if est is None:
            continue
        totals: dict[str, list] = {}
        first_conv_seen = False
        for layer in est.get("layers", []):
            kind = layer.get("kind") or "unknown"
            if kind == "conv" and not first_conv_seen:
                kind, first_conv_seen = "first_conv", True
            cycles = (layer.get("estimated_cycles") or {}).get("cache_on")
            if cycles is None:
                continue
            entry = totals.setdefault(kind, [0, 0])
            entry[0] += layer.get("macs") or 0
            entry[1] += cycles
        table[m["name"]] = {k: (macs / cycles if macs and cycles else None)
                            for k, (macs, cycles) in totals.items()}
    return table


def latency_section(models: list[dict], clock_hz: int, table) -> list[str]:
    """Markdown lines; `table(headers, rows)` is render.py's table formatter."""
    rows = model_rows(models, clock_hz)
    if not rows:
        return []
    mhz = f"{clock_hz / 1e6:g} MHz"
    parts = ["", f"## Latency on the board's Cortex-M4 at {mhz} (milliseconds)", "",
             "**Estimates** unless measured: cycles from the emulated run's instruction classes "
             "through the Cortex-M4 TRM timing and an nRF52840 flash model, instruction cache on "
             "or off (assumptions: docs/cycle_model.md). Board measurements replace them where a "
             "board ran; the error columns are (estimate − measured) / measured.", "",
             table(["model", "MACs", "instructions", "est. cycles cache on", "est. ms cache on",
                    "est. cycles cache off", "est. ms cache off", "est. MAC/cycle (on)",
                    "measured cycles", "measured ms", "measured MAC/cycle", "error on %",
                    "error off %"],
                   [[r["name"], r["macs"], r["instructions"], r["est_cycles_cache_on"],
                     r["est_ms_cache_on"], r["est_cycles_cache_off"], r["est_ms_cache_off"],
                     r["est_mac_per_cycle_cache_on"], r["measured_cycles"], r["measured_ms"],
                     r["measured_mac_per_cycle"], r["error_pct_cache_on"], r["error_pct_cache_off"]]
                    for r in rows])]
    prs = pair_rows(models, clock_hz)
    if prs:
        parts += ["", "Separable / standard: the seed's MAC ratio against what the Cortex-M4 does "
                      "with it (latency measured where both ran on a board, else estimated).", "",
                  table(["pair", "MAC ratio (seed)", "instruction ratio", "latency ratio cache on",
                         "latency ratio cache off", "latency from"],
                        [[p["pair"], p["mac_ratio"], p["instruction_ratio"], p["latency_ratio_cache_on"],
                          p["latency_ratio_cache_off"], p["source"]] for p in prs])]
    kinds = kind_rows(models)
    names = sorted({k for row in kinds.values() for k in row})
    if kinds and names:
        parts += ["", "Estimated MAC/cycle per layer kind (cache on):", "",
                  table(["model"] + names,
                        [[model] + [row.get(k) for k in names] for model, row in kinds.items()])]
    return parts


def latency_report_section(r) -> list[str]:
    """The section in render.py's SECTIONS (`r` is its Report)."""
    from pipeline.report.tables import table

    return latency_section(r.ok, r.board.clock_hz, table)


def plot_latency_ms(models: list[dict], clock_hz: int, out: Path, save) -> list[Path]:
    """Latency (ms) against MACs: estimates cache on/off, board measurements where they exist.
    `save(fig, path)` is render.py's figure writer."""
    rows = [r for r in model_rows(models, clock_hz) if r["macs"]]
    if not rows:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for key, marker, label in (("est_ms_cache_on", "o", "estimate, cache on"),
                               ("est_ms_cache_off", "^", "estimate, cache off"),
                               ("measured_ms", "s", "measured on the board")):
        chosen = [r for r in rows if r[key] is not None]
        if chosen:
            ax.scatter([r["macs"] for r in chosen], [r[key] for r in chosen], marker=marker,
                       label=label)
    for r in rows:
        y = r["measured_ms"] or r["est_ms_cache_on"]
        if y is not None:
            ax.annotate(r["name"], (r["macs"], y), fontsize=7, xytext=(4, 2),
                        textcoords="offset points")
    ax.set(xscale="log", yscale="log", xlabel="MACs per inference",
           ylabel=f"latency per inference (ms at {clock_hz / 1e6:g} MHz)",
           title="Latency vs MACs on the Cortex-M4 (estimates unless measured)")
    ax.legend(fontsize=8)
    path = out / "latency_ms_vs_macs.png"
    save(fig, path)
    plt.close(fig)
    return [path]
