"""Last stage: results -> report.md (people), report.json and report.csv (machines), PNG plots.
A pure function of the result files: re-run it alone after `emulate` or `measure`."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pipeline.board import Board
from pipeline.report.compare import compare, pairs
from pipeline.results import load_results, write_atomic

CSV_COLUMNS = ["name", "conv", "alpha", "resolution", "channels", "blocks", "status", "macs", "params",
               "flash_bytes", "weights_bytes", "arena_bytes_host", "arena_bytes_predicted",
               "accuracy_float", "accuracy_int8", "tflm_agreement", "fits", "network_ratio",
               "emulated_instructions", "emulated_arena_bytes", "measured_cycles", "measured_us",
               "measured_arena_bytes", "tflite"]


def _flat(model: dict) -> dict:
    emulated, measured = model.get("emulated") or {}, model.get("measured") or {}
    return {**model,
            "emulated_instructions": emulated.get("instructions"),
            "emulated_arena_bytes": emulated.get("arena_used_bytes"),
            "measured_cycles": measured.get("cycles"),
            "measured_us": measured.get("us"),
            "measured_arena_bytes": measured.get("arena_used_bytes")}


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(models: list[dict], board: Board) -> str:
    ok = [m for m in models if m["status"] == "ok"]
    parts = [f"# TinyML report: standard vs depthwise-separable MobileNets on the {board.name}", "",
             f"Budgets: model flash {board.model_flash_budget:,} B ({board.flash_bytes:,} B application "
             f"flash minus {board.firmware_flash_bytes:,} B firmware), tensor arena {board.arena_budget:,} B "
             f"({board.ram_bytes:,} B RAM minus {board.ram_reserved_bytes:,} B for the core and stack). "
             "Arena figures: `host` is TFLM's 64-bit host interpreter, `32-bit` the prediction for the MCU.", "",
             "## Models", "",
             _table(["model", "conv", "MACs", "params", "flash B", "arena host B", "arena 32-bit B",
                     "acc float", "acc int8", "TFLM = ref", "fits"],
                    [[m["name"], m["conv"], m["macs"], m["params"], m["flash_bytes"], m["arena_bytes_host"],
                      m["arena_bytes_predicted"], m["accuracy_float"], m["accuracy_int8"], m["tflm_agreement"],
                      m["fits"]] for m in ok])]
    for m in ok:
        if not m["fits"]:
            parts += ["", f"- `{m['name']}` does not fit: " + "; ".join(m["fit_reasons"])]
    failed = [m for m in models if m["status"] != "ok"]
    if failed:
        parts += ["", "## Failed", ""] + [f"- `{m['name']}`: {m.get('error')}" for m in failed]
    if pairs(models):
        parts += ["", "## Standard vs separable (the seed's ratio 1/N + 1/D_K²)", "",
                  _table(["pair", "MACs standard", "MACs separable", "ratio MACs", "ratio params",
                          "ratio flash"],
                         [[f"{s['name']} / {p['name']}", s["macs"], p["macs"], p["macs"] / s["macs"],
                           p["params"] / s["params"], p["flash_bytes"] / s["flash_bytes"]]
                          for s, p in pairs(models)])]
    emulated = [m for m in ok if m.get("emulated")]
    if emulated:
        parts += ["", "## Emulated Cortex-M4 (QEMU mps2-an386, instructions, not cycles)", "",
                  _table(["model", "MACs", "instructions", "instr/MAC", "arena emulated B",
                          "arena predicted B", "error %", "firmware text B (model incl.)"],
                         [[m["name"], m["macs"], m["emulated"]["instructions"],
                           m["emulated"]["instructions"] / m["macs"], m["emulated"]["arena_used_bytes"],
                           m["arena_bytes_predicted"],
                           100.0 * (m["arena_bytes_predicted"] - m["emulated"]["arena_used_bytes"])
                           / m["emulated"]["arena_used_bytes"], m["emulated"].get("text_bytes")]
                          for m in emulated])]
    measured = [m for m in ok if m.get("measured")]
    if measured:
        parts += ["", "## Measured on the board", "",
                  _table(["model", "MACs", "cycles", "µs", "MAC/cycle", "arena B"],
                         [[m["name"], m["macs"], m["measured"].get("cycles"), m["measured"].get("us"),
                           m["macs"] / m["measured"]["cycles"] if m["measured"].get("cycles") else None,
                           m["measured"].get("arena_used_bytes")] for m in measured])]
    parts += comparison_section(compare(models))
    parts += ["", "## Per layer", ""]
    for m in ok:
        parts += [f"### {m['name']} ({m['conv']}, α={m['alpha']}, {m['resolution']}×{m['resolution']}"
                  f"×{m['channels']}, {m['blocks']} blocks)", "",
                  _table(["layer", "kind", "D_K", "M", "N", "D_F", "MACs", "params", "block ratio",
                          "1/N + 1/D_K²"],
                         [[r["name"], r["kind"], r["d_k"], r["m"], r["n"], r["d_f"], r["macs"], r["params"],
                           r.get("block_ratio_counted"), r.get("block_ratio_formula")] for r in m["layers"]]),
                  ""]
        if m["conv"] == "separable":
            parts += [f"Network: {m['macs']:,} MACs vs {m['standard_equivalent_macs']:,} with standard "
                      f"convolutions: ratio {m['network_ratio']:.3f}.", ""]
    parts += ["Plots: `macs_vs_params.png`, `layers_<pair>.png`.", ""]
    return "\n".join(parts)


def comparison_section(result: dict) -> list[str]:
    if not result["models"]:
        return ["", "## Measured vs predicted", "",
                "No board or emulator results yet: run `tinyml emulate` or `tinyml measure` with "
                "`--out` pointing here."]
    parts = ["", "## Measured vs predicted (MACs)", "",
             "Source `board` is cycles on the Nano 33 BLE Sense; `emulator` is instructions in QEMU's "
             "Cortex-M4 (instructions, not cycles).", "",
             _table(["model", "source", "MACs", "per inference", "unit", "per MAC", "MACs per unit"],
                    [[r["name"], r["source"], r["macs"], r["ticks"], r["unit"], r["ticks_per_mac"],
                      r["macs_per_tick"]] for r in result["models"]])]
    fit = result["fit"]
    if fit:
        parts += ["", f"Least-squares fit over {fit['points']} models: {fit['unit']} = "
                      f"{fit['slope']:.3f} × MACs + {fit['intercept']:,.0f} (R² = {fit['r2']:.4f})."]
    if result["pairs"]:
        parts += ["", _table(["pair", "predicted ratio (MACs)", "measured ratio", "unit"],
                             [[f"{p['standard']} / {p['separable']}", p["predicted_ratio"], p["measured_ratio"],
                               p["unit"]] for p in result["pairs"]])]
    kinds = sorted({k for r in result["models"] for k in r["kinds"]})
    parts += ["", "Per layer type, " + "/".join(sorted({r["unit"] for r in result["models"]})) + " per MAC:", "",
              _table(["model"] + kinds, [[r["name"]] + [r["kinds"][k]["ticks_per_mac"] if k in r["kinds"] else None
                                         for k in kinds] for r in result["models"]])]
    return parts


def render_csv(models: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for m in models:
        writer.writerow(_flat(m))
    return buffer.getvalue()


def _save_figure(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    write_atomic(path, buffer.getvalue())


def plot(models: list[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [m for m in models if m["status"] == "ok"]
    written = []
    if ok:
        fig, ax = plt.subplots(figsize=(7, 5))
        for conv, marker in (("standard", "s"), ("separable", "o")):
            chosen = [m for m in ok if m["conv"] == conv]
            ax.scatter([m["params"] for m in chosen], [m["macs"] for m in chosen], marker=marker, label=conv)
            for m in chosen:
                ax.annotate(m["name"], (m["params"], m["macs"]), fontsize=7, xytext=(4, 2),
                            textcoords="offset points")
        ax.set(xscale="log", yscale="log", xlabel="weights (params)", ylabel="MACs per inference",
               title="MACs vs params per variant")
        ax.legend()
        _save_figure(fig, out / "macs_vs_params.png")
        plt.close(fig)
        written.append(out / "macs_vs_params.png")
    for standard, separable in pairs(models):
        fig, ax = plt.subplots(figsize=(9, 4))
        std_rows = [r for r in standard["layers"] if r["kind"] != "fully_connected"]
        # one bar group per standard conv; the separable side stacks its depthwise on its pointwise
        # (the first conv is standard in both)
        sep_macs, dw_macs, depthwise = [], [], 0
        for row in separable["layers"]:
            if row["kind"] == "depthwise":
                depthwise = row["macs"]
            elif row["kind"] in ("conv", "pointwise"):
                sep_macs.append(row["macs"])
                dw_macs.append(depthwise)
                depthwise = 0
        x = range(len(std_rows))
        ax.bar([i - 0.2 for i in x], [r["macs"] for r in std_rows], 0.4, label=f"standard ({standard['name']})")
        ax.bar([i + 0.2 for i in x], sep_macs, 0.4, label="separable: pointwise")
        ax.bar([i + 0.2 for i in x], dw_macs, 0.4, bottom=sep_macs, label="separable: depthwise")
        ax.set(yscale="log", xlabel="layer (first conv, then blocks)", ylabel="MACs",
               title=f"Per layer: {standard['name']} vs {separable['name']}")
        ax.set_xticks(list(x), ["conv1"] + [f"b{i}" for i in range(1, len(std_rows))])
        smallest = min(v for v in [r["macs"] for r in std_rows] + sep_macs if v)
        ax.set_ylim(bottom=smallest / 2)  # log axis: keep the smallest bar visible
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        path = out / f"layers_{separable['name']}.png"
        _save_figure(fig, path)
        plt.close(fig)
        written.append(path)
    return written


def plot_latency(result: dict, out: Path) -> list[Path]:
    if not result["models"] or not result["fit"]:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = result["fit"]
    fig, ax = plt.subplots(figsize=(7, 5))
    rows = result["models"]
    ax.scatter([r["macs"] for r in rows], [r["ticks"] for r in rows])
    for r in rows:
        ax.annotate(r["name"], (r["macs"], r["ticks"]), fontsize=7, xytext=(4, 2), textcoords="offset points")
    xs = [0, max(r["macs"] for r in rows)]
    ax.plot(xs, [fit["slope"] * x + fit["intercept"] for x in xs], "--",
            label=f"fit: {fit['slope']:.2f}/MAC, R²={fit['r2']:.3f}")
    ax.set(xlabel="MACs per inference", ylabel=f"{fit['unit']} per inference (median)",
           title="Latency vs MACs")
    ax.legend()
    path = out / "latency_vs_macs.png"
    _save_figure(fig, path)
    plt.close(fig)
    return [path]


def write_report(out: Path, board: Board) -> list[Path]:
    out = Path(out)
    models = load_results(out)
    comparison = compare(models)
    payload = {"board": board.key, "board_name": board.name,
               "budgets": {"model_flash_bytes": board.model_flash_budget, "arena_bytes": board.arena_budget},
               "models": models, "comparison": comparison}
    write_atomic(out / "report.json", json.dumps(payload, indent=2) + "\n")
    write_atomic(out / "report.csv", render_csv(models))
    write_atomic(out / "report.md", render_markdown(models, board))
    return [out / "report.md", out / "report.json", out / "report.csv"] + plot(models, out) + plot_latency(comparison, out)
