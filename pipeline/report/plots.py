"""The report's PNG plots: MACs against params per variant (models that do not fit the board
marked), and per standard/separable pair the MACs of each layer side by side."""
from __future__ import annotations

import io
from pathlib import Path

from pipeline.report.seed import block_of
from pipeline.files import write_atomic

COLOURS = {"standard": "#1f77b4", "first conv": "#7f7f7f", "depthwise": "#ff7f0e", "pointwise": "#2ca02c"}


def save_figure(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    write_atomic(path, buffer.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def macs_vs_params(ok: list[dict], board_name: str, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for conv, marker, colour in (("standard", "s", "#1f77b4"), ("separable", "o", "#ff7f0e")):
        chosen = [m for m in ok if m["conv"] == conv]
        ax.scatter([m["params"] for m in chosen], [m["macs"] for m in chosen], marker=marker,
                   color=colour, label=conv, zorder=2)
    too_big = [m for m in ok if not m.get("fits", True)]
    if too_big:
        ax.scatter([m["params"] for m in too_big], [m["macs"] for m in too_big], marker="o", s=260,
                   facecolors="none", edgecolors="red", linewidths=1.8, zorder=3,
                   label=f"does not fit the {board_name}")
    for m in ok:
        label = m["name"] + ("" if m.get("fits", True) else " (does not fit)")
        ax.annotate(label, (m["params"], m["macs"]), fontsize=7, xytext=(6, 3) if m.get("fits", True) else (11, 8), textcoords="offset points",
                    color="red" if not m.get("fits", True) else "black")
    ax.set(xscale="log", yscale="log", xlabel="weights (params)", ylabel="MACs per inference",
           title="MACs vs params per variant")
    ax.margins(0.15)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return path


def pair_layers(standard: dict, separable: dict, path: Path) -> Path:
    """One group per layer of the standard model (first conv, blocks, classifier): the standard
    layer, then the separable block's depthwise and pointwise side by side; the block's counted
    ratio above each group."""
    plt = _pyplot()
    sep_blocks: dict[str, dict[str, int]] = {}
    for row in separable["layers"]:
        block = block_of(row)
        if block:
            sep_blocks.setdefault(block, {})[row["kind"]] = row["macs"]
    groups = []  # (label, standard MACs, {kind: separable MACs})
    for row in standard["layers"]:
        block = block_of(row)
        if block:
            groups.append((block.replace("block", "b"), row["macs"], sep_blocks.get(block, {})))
        elif row["kind"] == "conv":
            first = next((r["macs"] for r in separable["layers"] if r["kind"] == "conv"), 0)
            groups.append(("conv1", row["macs"], {"first conv": first}))
        elif row["kind"] == "fully_connected":
            fc = next((r["macs"] for r in separable["layers"] if r["kind"] == "fully_connected"), 0)
            groups.append(("classifier", row["macs"], {"classifier": fc}))
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(groups) + 3), 4.5))
    width = 0.27
    labelled = set()

    def bar(x, value, kind, label):
        colour = COLOURS.get(kind, "#9467bd")
        ax.bar(x, value, width, color=colour, label=None if label in labelled else label)
        labelled.add(label)

    for i, (name, std_macs, sep) in enumerate(groups):
        if "first conv" in sep or "classifier" in sep:
            kind = "first conv" if "first conv" in sep else "classifier"
            both = f"{kind} (standard in both)"
            bar(i - width / 2, std_macs, kind, both)
            bar(i + width / 2, sep[kind], kind, both)
            continue
        bar(i - width, std_macs, "standard", f"standard 3×3 ({standard['name']})")
        bar(i, sep.get("depthwise", 0), "depthwise", f"depthwise 3×3 ({separable['name']})")
        bar(i + width, sep.get("pointwise", 0), "pointwise", f"pointwise 1×1 ({separable['name']})")
        if std_macs:
            ratio = (sep.get("depthwise", 0) + sep.get("pointwise", 0)) / std_macs
            ax.annotate(f"{ratio:.3f}", (i, std_macs), xytext=(0, 3), textcoords="offset points",
                        ha="center", fontsize=7)
    ax.set_yscale("log")
    values = [g[1] for g in groups] + [v for g in groups for v in g[2].values()]
    ax.set_ylim(bottom=min(v for v in values if v) / 2, top=max(values) * 3)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set(xlabel="layer (numbers above a block: separable / standard MACs)", ylabel="MACs (log)",
           title=f"Per layer: {standard['name']} vs {separable['name']}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save_figure(fig, path)
    plt.close(fig)
    return path
