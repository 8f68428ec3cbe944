"""The sweep's figures, per board, standard and separable told apart (the report's markers):

- sweep_accuracy_vs_ms_<board>.png: int8 accuracy against estimated ms (MACs without an estimate),
  the front's points ringed and the accuracy/ms front drawn as a step line, the region the
  constraints exclude shaded;
- sweep_flash_vs_ms_<board>.png: flash against estimated ms (or MACs), the board's flash budget
  and the constraints shaded;
- sweep_flash_vs_arena_<board>.png: every point the prune step sized, evaluated or not, against
  the board's flash and RAM budgets: the infeasible region and what fell in it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.board import Board
from pipeline.report.plots import STYLE, _pyplot, save_figure
from pipeline.sweep.pareto import Front
from pipeline.sweep.space import Constraints
from pipeline.sweep.store import DONE, fits_column, ms_column

PREFIX = "sweep_"
SHADE = {"color": "#d62728", "alpha": 0.08, "zorder": 0}


def _x(rows: Sequence[dict], board: str) -> tuple[str, str]:
    """The x column: estimated ms when the points have it, else MACs."""
    ms = ms_column(board)
    if any(r.get(ms) is not None for r in rows):
        return ms, "estimated ms per inference (flash cache on)"
    return "macs", "MACs per inference (no estimated ms: emulation did not run)"


def _scatter(ax, rows: Sequence[dict], x: str, y: str, front: set[str], board: str) -> None:
    for conv, (marker, colour) in STYLE.items():
        chosen = [r for r in rows if r["conv"] == conv and r.get(x) is not None and r.get(y) is not None]
        fitting = [r for r in chosen if r.get(fits_column(board)) != 0]
        too_big = [r for r in chosen if r.get(fits_column(board)) == 0]
        if fitting:
            ax.scatter([r[x] for r in fitting], [r[y] for r in fitting], marker=marker, color=colour, label=conv, s=26)
        if too_big:
            ax.scatter(
                [r[x] for r in too_big],
                [r[y] for r in too_big],
                marker=marker,
                facecolors="none",
                edgecolors=colour,
                s=26,
                label=f"{conv}, does not fit",
            )
    ringed = [r for r in rows if r["key"] in front and r.get(x) is not None and r.get(y) is not None]
    if ringed:
        ax.scatter(
            [r[x] for r in ringed],
            [r[y] for r in ringed],
            s=150,
            facecolors="none",
            edgecolors="black",
            linewidths=1.3,
            label="Pareto front (all objectives)",
            zorder=3,
        )


def _step_front(ax, rows: Sequence[dict], x: str, y: str) -> None:
    """The 2-D front of (x down, y up) drawn as steps."""
    points = sorted((r[x], r[y]) for r in rows if r.get(x) is not None and r.get(y) is not None)
    best, steps = float("-inf"), []
    for px, py in points:
        if py > best:
            steps.append((px, py))
            best = py
    if len(steps) > 1:
        ax.step([p[0] for p in steps], [p[1] for p in steps], where="post", color="black", lw=1, alpha=0.6)


def _plain_ticks(axis) -> None:
    """'6', '10', '20' on a log axis, not '6×10⁰'."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain)


def _shade_x(ax, limit: float | None, label: str) -> None:
    if limit is not None:
        ax.axvspan(limit, ax.get_xlim()[1] if ax.get_xlim()[1] > limit else limit * 2, **SHADE, label=label)


def _shade_y_above(ax, limit: float | None, label: str, colour: str | None = None) -> None:
    if limit is not None:
        top = max(ax.get_ylim()[1], limit * 1.5)
        ax.axhspan(limit, top, **({**SHADE, "color": colour} if colour else SHADE), label=label)
        ax.axhline(limit, color=colour or SHADE["color"], lw=0.8)


def accuracy_vs_ms(rows, board: Board, constraints: Constraints, front: Front, path: Path) -> Path:
    plt = _pyplot()
    done = [r for r in rows if r["status"] == DONE]
    x, xlabel = _x(done, board.key)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.set_xscale("log")
    _scatter(ax, done, x, "accuracy_int8", set(front.keys), board.key)
    _step_front(ax, [r for r in done if r["key"] in front.keys], x, "accuracy_int8")
    if done:
        if x != "macs":
            _shade_x(ax, constraints.max_ms, f"over max_ms {constraints.max_ms:g}" if constraints.max_ms else "")
        if constraints.min_accuracy is not None:
            ax.axhspan(0, constraints.min_accuracy, **SHADE, label=f"under min_accuracy {constraints.min_accuracy:g}")
    if x != "macs":
        _plain_ticks(ax.xaxis)
    ax.set(xlabel=xlabel, ylabel="int8 accuracy (test split)", title=f"Accuracy vs time on the {board.name}")
    ax.set_ylim(0, 1.02)
    if done:
        ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, path)
    plt.close(fig)
    return path


def flash_vs_ms(rows, board: Board, constraints: Constraints, front: Front, path: Path) -> Path:
    plt = _pyplot()
    done = [r for r in rows if r["status"] == DONE]
    x, xlabel = _x(done, board.key)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.set(xscale="log", yscale="log")
    _scatter(ax, done, x, "flash_bytes", set(front.keys), board.key)
    if done:
        _shade_y_above(ax, board.model_flash_budget, f"over the {board.name}'s flash budget")
        if constraints.max_flash_bytes is not None:
            _shade_y_above(ax, constraints.max_flash_bytes, "over max_flash_bytes", "#9467bd")
        if x != "macs":
            _shade_x(ax, constraints.max_ms, f"over max_ms {constraints.max_ms:g}" if constraints.max_ms else "")
        ax.legend(fontsize=7, loc="upper left")
    if x != "macs":
        _plain_ticks(ax.xaxis)
    ax.set(xlabel=xlabel, ylabel="model flash (bytes)", title=f"Flash vs time on the {board.name}")
    save_figure(fig, path)
    plt.close(fig)
    return path


def flash_vs_arena(rows, board: Board, constraints: Constraints, front: Front, path: Path) -> Path:
    plt = _pyplot()
    sized = [r for r in rows if r.get("flash_bytes") is not None and r.get("arena_bytes") is not None]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.set(xscale="log", yscale="log")
    for conv, (marker, colour) in STYLE.items():
        mine = [r for r in sized if r["conv"] == conv]
        for chosen, filled in (
            ([r for r in mine if r["status"] == DONE], True),
            ([r for r in mine if r["status"] != DONE], False),
        ):
            if chosen:
                ax.scatter(
                    [r["arena_bytes"] for r in chosen],
                    [r["flash_bytes"] for r in chosen],
                    marker=marker,
                    s=26,
                    label=f"{conv}, {'evaluated' if filled else 'not evaluated'}",
                    **({"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}),
                )
    if sized:
        flash_limit = min(v for v in (board.model_flash_budget, constraints.max_flash_bytes) if v is not None)
        arena_limit = min(v for v in (board.arena_budget, constraints.max_arena_bytes) if v is not None)
        xmax = max(max(r["arena_bytes"] for r in sized), arena_limit) * 1.5
        ymax = max(max(r["flash_bytes"] for r in sized), flash_limit) * 1.5
        ax.axhspan(flash_limit, ymax, **SHADE, label="infeasible (flash)")
        ax.axvspan(arena_limit, xmax, **{**SHADE, "color": "#ff7f0e"}, label="infeasible (arena)")
        ax.set_xlim(right=xmax)
        ax.set_ylim(top=ymax)
        ax.legend(fontsize=7, loc="lower right")
    ax.set(
        xlabel="tensor arena (bytes, 32-bit, exact)",
        ylabel="model flash (bytes)",
        title=f"Every sized point against the {board.name}'s budgets",
    )
    save_figure(fig, path)
    plt.close(fig)
    return path


FIGURES = (("accuracy_vs_ms", accuracy_vs_ms), ("flash_vs_ms", flash_vs_ms), ("flash_vs_arena", flash_vs_arena))


def write_plots(
    out: Path, rows, boards: Sequence[Board], constraints: Constraints, fronts: dict[str, Front]
) -> list[Path]:
    """Every figure per board; figures of an earlier sweep in the folder (other boards) removed."""
    written = []
    evaluated = any(r["status"] == DONE for r in rows)
    for board in boards:
        for name, draw in FIGURES:
            if evaluated or name == "flash_vs_arena":  # before any training only the sizes are known
                path = out / f"{PREFIX}{name}_{board.key}.png"
                written.append(draw(rows, board, constraints, fronts[board.key], path))
    for stale in out.glob(f"{PREFIX}*.png"):
        if stale not in written:
            stale.unlink()
    return written
