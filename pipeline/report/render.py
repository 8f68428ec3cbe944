"""Last stage: results -> report.md (people), report.json and report.csv (machines), PNG plots.
A pure function of the result files: re-run it alone after `emulate` or `measure`.

The report covers the models of the last `tinyml run`'s selection (run.json); other model folders
in the output folder are listed apart. report.md is a sequence of sections, each a function of
one `Report`: a new section goes in a new module under pipeline/report/ and into SECTIONS below."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.board import Board
from pipeline.report import plots as plotting
from pipeline.report.compare import compare, pairs
from pipeline.report.kernels import kernels_report_section
from pipeline.report.latency import latency_report_section, plot_latency_ms
from pipeline.report.seed import layer_table, pairs_section
from pipeline.report.tables import fmt as _fmt, table as _table  # noqa: F401  (for section modules)
from pipeline.files import write_atomic
from pipeline.store import load_run

CSV_COLUMNS = ["name", "conv", "alpha", "resolution", "channels", "blocks", "classes", "epochs", "status",
               "stage", "error", "macs", "params", "flash_bytes", "weights_bytes", "arena_bytes_host",
               "arena_bytes_predicted", "accuracy_float", "accuracy_int8", "tflm_agreement", "test_samples",
               "fits", "network_ratio", "emulated_instructions", "emulated_arena_bytes", "measured_cycles",
               "measured_us", "measured_arena_bytes", "tflite"]
PLOT_PATTERNS = ("macs_vs_params.png", "layers_*.png", "latency_vs_macs.png", "latency_ms_vs_macs.png")


@dataclass
class Report:
    """Everything a section may show."""
    board: Board
    models: list[dict]                       # this run's selection, ok and failed
    manifest: dict | None = None             # run.json: data, epochs, versions
    others: list[dict] = field(default_factory=list)   # other model folders in the output folder
    comparison: dict | None = None
    plots: list[str] = field(default_factory=list)     # file names written beside report.md

    @property
    def ok(self) -> list[dict]:
        return [m for m in self.models if m["status"] == "ok"]

    def __post_init__(self):
        if self.comparison is None:
            self.comparison = compare(self.models)


def _flat(model: dict) -> dict:
    emulated, measured = model.get("emulated") or {}, model.get("measured") or {}
    return {**model,
            "emulated_instructions": emulated.get("instructions"),
            "emulated_arena_bytes": emulated.get("arena_used_bytes"),
            "measured_cycles": measured.get("cycles"),
            "measured_us": measured.get("us"),
            "measured_arena_bytes": measured.get("arena_used_bytes")}


def header_section(r: Report) -> list[str]:
    board = r.board
    return [f"# TinyML report: standard vs depthwise-separable MobileNets on the {board.name}", "",
            f"Budgets: model flash {board.model_flash_budget:,} B ({board.flash_bytes:,} B application "
            f"flash minus {board.firmware_flash_bytes:,} B firmware), tensor arena {board.arena_budget:,} B "
            f"({board.ram_bytes:,} B RAM minus {board.ram_reserved_bytes:,} B for the core and stack). "
            "Arena figures: `host` is TFLM's 64-bit host interpreter, `32-bit` the prediction for the MCU. "
            "Paths are relative to this folder."]


def provenance_section(r: Report) -> list[str]:
    manifest = r.manifest
    if not manifest:
        return ["", "## Provenance", "", "No run.json in this folder (results of an older version): "
                "re-run `tinyml run` for the data, epochs and versions."]
    data = manifest["data"]
    per_class = lambda counts: f"{min(counts)}-{max(counts)}" if min(counts) != max(counts) else f"{counts[0]}"  # noqa: E731
    epochs = sorted({m["epochs"] for m in manifest["models"]})
    if manifest.get("epochs_override") == 0:
        epochs_text = "0 (`--epochs 0`: no training; weights as initialised, BatchNorm statistics from the data)"
    elif manifest.get("epochs_override") is not None:
        epochs_text = f"{manifest['epochs_override']} for every model (`--epochs`)"
    else:
        epochs_text = ", ".join(map(str, epochs)) + " (each model's spec)"
    parts = ["", "## Provenance", "",
             f"- Data: {data['source']} (contents digest `{data['digest']}`), {len(data['class_names'])} classes: "
             f"{', '.join(data['class_names'][:20])}{' …' if len(data['class_names']) > 20 else ''}",
             f"- Samples: {data['train_samples']:,} training ({per_class(data['train_per_class'])} per class), "
             f"{data['test_samples']:,} test ({per_class(data['test_per_class'])} per class); {data['split']}; "
             f"int8 calibration on up to {manifest.get('calibration_samples', 200)} training samples",
             f"- Epochs: {epochs_text}",
             f"- Board: `{manifest['board']}` ({r.board.name})",
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items() if v)]
    parts += [f"- Data: {note}" for note in data.get("notes", [])]
    parts += [f"- **Warning**: {warning}" for warning in data.get("warnings", [])]
    return parts


def models_section(r: Report) -> list[str]:
    parts = ["", "## Models", "",
             _table(["model", "conv", "epochs", "MACs", "params", "flash B", "arena host B", "arena 32-bit B",
                     "acc float", "acc int8", "TFLM = ref", "fits"],
                    [[m["name"], m["conv"], m.get("epochs"), m["macs"], m["params"], m["flash_bytes"],
                      m["arena_bytes_host"], m["arena_bytes_predicted"], m["accuracy_float"],
                      m["accuracy_int8"], m["tflm_agreement"], m["fits"]] for m in r.ok])]
    for m in r.ok:
        if not m["fits"]:
            parts += ["", f"- `{m['name']}` does not fit: " + "; ".join(m["fit_reasons"])]
    return parts


def failures_section(r: Report) -> list[str]:
    failed = [m for m in r.models if m["status"] != "ok"]
    later = [(stage, name, error) for stage in ("emulate", "measure")
             for name, error in ((r.manifest or {}).get(f"{stage}_failures") or {}).items()]
    if not failed and not later:
        return []
    parts = ["", "## Failed", ""]
    for m in failed:
        kept = (" An earlier good result (made with other inputs) is kept in its folder and not shown."
                if m.get("kept_result") else "")
        parts.append(f"- `{m['name']}` failed at stage `{m.get('stage', '?')}`: {m.get('error')}{kept}")
    parts += [f"- `{name}` failed at stage `{stage}`: {error}" for stage, name, error in later]
    return parts


def seed_section(r: Report) -> list[str]:
    return pairs_section(pairs(r.models))


def emulated_section(r: Report) -> list[str]:
    emulated = [m for m in r.ok if m.get("emulated")]
    if not emulated:
        return []
    return ["", "## Emulated Cortex-M4 (QEMU mps2-an386, instructions, not cycles)", "",
            _table(["model", "MACs", "instructions", "instr/MAC", "arena emulated B",
                    "arena predicted B", "error %", "firmware text B (model incl.)"],
                   [[m["name"], m["macs"], m["emulated"]["instructions"],
                     m["emulated"]["instructions"] / m["macs"], m["emulated"]["arena_used_bytes"],
                     m["arena_bytes_predicted"],
                     100.0 * (m["arena_bytes_predicted"] - m["emulated"]["arena_used_bytes"])
                     / m["emulated"]["arena_used_bytes"], m["emulated"].get("text_bytes")]
                    for m in emulated])]


def measured_section(r: Report) -> list[str]:
    measured = [m for m in r.ok if m.get("measured")]
    if not measured:
        return []
    return ["", "## Measured on the board", "",
            _table(["model", "MACs", "cycles", "µs", "MAC/cycle", "arena B"],
                   [[m["name"], m["macs"], m["measured"].get("cycles"), m["measured"].get("us"),
                     m["macs"] / m["measured"]["cycles"] if m["measured"].get("cycles") else None,
                     m["measured"].get("arena_used_bytes")] for m in measured])]


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


def measured_vs_predicted_section(r: Report) -> list[str]:
    return comparison_section(r.comparison)


def per_layer_section(r: Report) -> list[str]:
    twins = {p["name"]: s for s, p in pairs(r.models)}
    timings = {row["name"]: row for row in r.comparison["models"]}
    parts = ["", "## Per layer", "",
             "For a separable model with a standard twin, each block (depthwise + pointwise) is set "
             "against the twin's 3×3 layer of the same block, counted in the two .tflite files, next "
             "to the formula; with emulator or board timings of both, their ratio too."]
    for m in r.ok:
        parts += ["", f"### {m['name']} ({m['conv']}, α={m['alpha']}, {m['resolution']}×{m['resolution']}"
                  f"×{m['channels']}, {m['blocks']} blocks)", "",
                  layer_table(m, twins.get(m["name"]), timings)]
        if m["conv"] == "separable" and m.get("standard_equivalent_macs"):
            parts += ["", f"Network: {m['macs']:,} MACs vs {m['standard_equivalent_macs']:,} if every block "
                      f"were a standard 3×3 conv (formula): ratio {m['network_ratio']:.3f}."]
    return parts


def others_section(r: Report) -> list[str]:
    if not r.others:
        return []
    return ["", "## Other results in this folder", "",
            "Not in the last run's selection, left out of the tables and plots: "
            + ", ".join(f"`{m['name']}` ({m.get('status', '?')})" for m in r.others) + "."]


def plots_section(r: Report) -> list[str]:
    if not r.plots:
        return []
    return ["", "## Plots", ""] + [f"- [`{name}`]({name})" for name in r.plots]


# The order of report.md. Sections of other modules: import the function and add it here.
SECTIONS = [header_section, provenance_section, models_section, failures_section, seed_section,
            emulated_section, kernels_report_section, latency_report_section, measured_section,
            measured_vs_predicted_section, per_layer_section, others_section, plots_section]


def render_markdown(models: list[dict] | Report, board: Board | None = None) -> str:
    report = models if isinstance(models, Report) else Report(board=board, models=models)
    parts: list[str] = []
    for section in SECTIONS:
        parts += section(report)
    return "\n".join(parts) + "\n"


def render_csv(models: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for m in models:
        writer.writerow(_flat(m))
    return buffer.getvalue()


def plot(models: list[dict], out: Path, board: Board | None = None) -> list[Path]:
    ok = [m for m in models if m["status"] == "ok"]
    written = []
    if ok:
        written.append(plotting.macs_vs_params(ok, board.name if board else "board", out / "macs_vs_params.png"))
    for standard, separable in pairs(models):
        written.append(plotting.pair_layers(standard, separable, out / f"layers_{separable['name']}.png"))
    return written


def plot_latency(result: dict, out: Path) -> list[Path]:
    if not result["models"] or not result["fit"]:
        return []
    plt = plotting._pyplot()
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
    plotting.save_figure(fig, path)
    plt.close(fig)
    return [path]


def write_report(out: Path, board: Board) -> list[Path]:
    out = Path(out)
    manifest, models, others = load_run(out)
    report = Report(board=board, models=models, manifest=manifest, others=others)
    written = (plot(models, out, board) + plot_latency(report.comparison, out)
               + plot_latency_ms(report.ok, board.clock_hz, out, plotting.save_figure))
    for pattern in PLOT_PATTERNS:  # plots of models no longer shown would be listed by nobody
        for stale in out.glob(pattern):
            if stale not in written:
                stale.unlink()
    report.plots = [p.name for p in written]
    payload = {"board": board.key, "board_name": board.name,
               "budgets": {"model_flash_bytes": board.model_flash_budget, "arena_bytes": board.arena_budget},
               "paths": "relative to this folder", "run": manifest, "models": models,
               "other_models": [{"name": m["name"], "status": m.get("status")} for m in others],
               "comparison": report.comparison, "plots": report.plots}
    write_atomic(out / "report.json", json.dumps(payload, indent=2) + "\n")
    write_atomic(out / "report.csv", render_csv(models))
    write_atomic(out / "report.md", render_markdown(report))
    return [out / "report.md", out / "report.json", out / "report.csv"] + written
