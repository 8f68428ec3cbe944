"""The report's PNG plots, standard and separable networks told apart in each:
- macs_vs_params.png: MACs against weights per variant (models that do not fit the board marked);
- layers_<separable>.png: per pair, the MACs of each layer side by side (linear axis);
- instructions_vs_macs.png: emulated instructions against MACs, a line fitted per kind;
- ms_vs_macs.png: milliseconds on the board (estimated, or measured) against MACs;
- layer_time_<model>.png: where one inference's time goes, layer by layer."""

from __future__ import annotations

import io
from pathlib import Path

from pipeline.board import Board
from pipeline.files import write_atomic
from pipeline.records import ModelResults, RunManifest
from pipeline.report.compare import instruction_fits
from pipeline.report.figures import estimated_ms, fits
from pipeline.report.pairs import pairs
from pipeline.report.seed import block_of

STYLE = {"standard": ("s", "#1f77b4"), "separable": ("o", "#ff7f0e")}
COLOURS = {
    "standard": "#1f77b4",
    "first conv": "#7f7f7f",
    "depthwise": "#ff7f0e",
    "pointwise": "#2ca02c",
    "classifier": "#9467bd",
    "other": "#bcbd22",
    "conv": "#1f77b4",
    "fully_connected": "#9467bd",
}
PATTERNS = (
    "macs_vs_params.png",
    "layers_*.png",
    "instructions_vs_macs.png",
    "ms_vs_macs.png",
    "layer_time_*.png",
    "latency_vs_macs.png",
    "latency_ms_vs_macs.png",
)  # last two: older names


def save_figure(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    write_atomic(path, buffer.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label_points(ax, points: list[tuple[float, float, str, str]]) -> None:
    """Names beside points, alternating above and below so close points do not overwrite each
    other, and pointing inwards at the right edge so none is cut."""
    points = sorted(points, key=lambda p: (p[0], p[1]))
    xs = [p[0] for p in points]
    right = max(xs) if xs else 0
    for i, (x, y, text, colour) in enumerate(points):
        inward = x >= right * 0.5 if ax.get_xscale() == "linear" else x == right
        ax.annotate(
            text,
            (x, y),
            fontsize=7,
            color=colour,
            textcoords="offset points",
            xytext=(-6 if inward else 6, 8 if i % 2 == 0 else -12),
            ha="right" if inward else "left",
        )


def _scatter_by_conv(ax, models: list[ModelResults], x, y, labels: bool = True) -> None:
    points = []
    for conv, (marker, colour) in STYLE.items():
        chosen = [(m, x(m), y(m)) for m in models if m.built.spec.conv == conv]
        chosen = [(m, a, b) for m, a, b in chosen if a is not None and b is not None]
        if chosen:
            ax.scatter(
                [a for _, a, _ in chosen], [b for _, _, b in chosen], marker=marker, color=colour, label=conv, zorder=2
            )
            points += [(a, b, m.name, "black") for m, a, b in chosen]
    if labels:
        _label_points(ax, points)


def macs_vs_params(models: list[ModelResults], board: Board, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.set(xscale="log", yscale="log")
    _scatter_by_conv(ax, models, lambda m: m.built.params, lambda m: m.built.macs)
    too_big = [m for m in models if fits(m, board) is False]
    if too_big:
        ax.scatter(
            [m.built.params for m in too_big],
            [m.built.macs for m in too_big],
            marker="o",
            s=260,
            facecolors="none",
            edgecolors="red",
            linewidths=1.8,
            zorder=3,
            label=f"does not fit the {board.name}",
        )
    ax.set(xlabel="weights (params)", ylabel="MACs per inference", title="MACs vs weights per variant")
    ax.margins(0.2)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return path


def pair_layers(standard: ModelResults, separable: ModelResults, path: Path) -> Path:
    """One group per layer of the standard model (first conv, blocks, classifier): the standard
    layer, then the separable block's depthwise and pointwise side by side; the block's counted
    ratio above each group. A linear axis: the bars' lengths are the MACs."""
    plt = _pyplot()
    sep_blocks: dict[str, dict[str, int]] = {}
    for row in separable.built.layers:
        block = block_of(row.name)
        if block:
            sep_blocks.setdefault(block, {})[row.kind] = row.macs
    groups = []  # (label, standard MACs, {kind: separable MACs})
    for row in standard.built.layers:
        block = block_of(row.name)
        if block:
            groups.append((block.replace("block", "b"), row.macs, sep_blocks.get(block, {})))
        elif row.kind == "conv":
            first = next((r.macs for r in separable.built.layers if r.kind == "conv"), 0)
            groups.append(("conv1", row.macs, {"first conv": first}))
        elif row.kind == "fully_connected":
            fc = next((r.macs for r in separable.built.layers if r.kind == "fully_connected"), 0)
            groups.append(("classifier", row.macs, {"classifier": fc}))
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(groups) + 3), 4.5))
    width = 0.27
    labelled: set[str] = set()

    def bar(x, value, kind, label):
        ax.bar(x, value, width, color=COLOURS.get(kind, "#9467bd"), label=None if label in labelled else label)
        labelled.add(label)

    for i, (_, std_macs, sep) in enumerate(groups):
        if "first conv" in sep or "classifier" in sep:
            kind = "first conv" if "first conv" in sep else "classifier"
            bar(i - width / 2, std_macs, kind, f"{kind} (standard in both)")
            bar(i + width / 2, sep[kind], kind, f"{kind} (standard in both)")
            continue
        bar(i - width, std_macs, "standard", f"standard 3×3 ({standard.name})")
        bar(i, sep.get("depthwise", 0), "depthwise", f"depthwise 3×3 ({separable.name})")
        bar(i + width, sep.get("pointwise", 0), "pointwise", f"pointwise 1×1 ({separable.name})")
        if std_macs:
            ratio = (sep.get("depthwise", 0) + sep.get("pointwise", 0)) / std_macs
            ax.annotate(
                f"{ratio:.3f}", (i, std_macs), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7
            )
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set(
        xlabel="layer (numbers above a block: separable / standard MACs)",
        ylabel="MACs",
        title=f"Per layer: {standard.name} vs {separable.name}",
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save_figure(fig, path)
    plt.close(fig)
    return path


def instructions_vs_macs(models: list[ModelResults], kernels: str, path: Path) -> Path | None:
    emulated = [m for m in models if kernels in m.emulated]
    if len(emulated) < 2:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    _scatter_by_conv(ax, emulated, lambda m: m.built.macs, lambda m: m.emulated[kernels].instructions)
    top = max(m.built.macs for m in emulated)
    for conv, fit in instruction_fits(models, kernels).items():
        ax.plot(
            [0, top],
            [fit.intercept, fit.slope * top + fit.intercept],
            "--",
            color=STYLE[conv][1],
            label=f"{conv}: {fit.slope:.2f}/MAC, R² {fit.r2:.3f}",
        )
    ax.set(
        xlabel="MACs per inference",
        ylabel="instructions per inference (QEMU, median)",
        title=f"Instructions vs MACs ({kernels} kernels, emulated Cortex-M4)",
    )
    ax.margins(0.12)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return path


def ms_vs_macs(
    models: list[ModelResults], kernels: str, board: Board, manifest: RunManifest | None, path: Path
) -> Path | None:
    timed = [m for m in models if estimated_ms(m, kernels, manifest).value is not None]
    if len(timed) < 2:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.set(xscale="log", yscale="log")
    _scatter_by_conv(ax, timed, lambda m: m.built.macs, lambda m: estimated_ms(m, kernels, manifest).value)
    measured = [m for m in timed if estimated_ms(m, kernels, manifest).note == "board"]
    if measured:
        ax.scatter(
            [m.built.macs for m in measured],
            [estimated_ms(m, kernels, manifest).value for m in measured],
            marker="*",
            s=140,
            color="black",
            zorder=3,
            label="measured on the board",
        )
    ax.set(
        xlabel="MACs per inference",
        ylabel=f"ms per inference at {board.clock_hz / 1e6:g} MHz",
        title=f"Time vs MACs on the {board.chip} ({kernels} kernels; estimates unless measured)",
    )
    ax.margins(0.2)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return path


def layer_time(model: ModelResults, kernels: str, path: Path) -> Path | None:
    """Estimated cycles (else instructions) per layer of one inference, coloured by layer kind."""
    record = model.emulated.get(kernels)
    if record is None or not record.layers:
        return None
    plt = _pyplot()
    estimated = [layer.estimated_cycles for layer in record.layers]
    cycles = all(e is not None for e in estimated)
    values = [e.cache_on if e is not None else layer.instructions for e, layer in zip(estimated, record.layers)]
    kinds = [layer.kind or "other" for layer in record.layers]
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.22 * len(values) + 1.5)))
    ys = list(range(len(values)))[::-1]
    seen: set[str] = set()
    for y, value, kind in zip(ys, values, kinds):
        ax.barh(y, value, color=COLOURS.get(kind, "#bcbd22"), label=None if kind in seen else kind)
        seen.add(kind)
    ax.set_yticks(ys, [f"{layer.index} {layer.op}" for layer in record.layers], fontsize=7)
    unit = f"estimated cycles (cache on, {record.board})" if cycles else "instructions (QEMU)"
    ax.set(xlabel=unit, title=f"Where the time goes: {model.name} ({kernels})")
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return path


def write_plots(
    models: list[ModelResults], board: Board, kernels: str | None, manifest: RunManifest | None, out: Path
) -> list[Path]:
    built = [m for m in models if m.ok]
    written: list[Path | None] = []
    if built:
        written.append(macs_vs_params(built, board, out / "macs_vs_params.png"))
    for standard, separable in pairs(models):
        written.append(pair_layers(standard, separable, out / f"layers_{separable.name}.png"))
    if kernels is not None:
        written.append(instructions_vs_macs(built, kernels, out / "instructions_vs_macs.png"))
        written.append(ms_vs_macs(built, kernels, board, manifest, out / "ms_vs_macs.png"))
        written += [layer_time(m, kernels, out / f"layer_time_{m.name}.png") for m in built]
    return [p for p in written if p is not None]
