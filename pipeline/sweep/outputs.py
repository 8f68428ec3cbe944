"""The sweep's outputs in DIR, pure functions of the points' rows (DIR/sweep.sqlite) and the
sweep's settings, each written whole or not at all:

- sweep.csv:  one line per point of the sweep, the columns of the table `points`;
- sweep.json: the same points, the settings and `front` (per board: the keys of the Pareto points);
- sweep.md:   the front per board, separable against standard at equal accuracy, failures,
              what was ruled out before training and why;
- sweep_*.png: pipeline.sweep.plots.

Every point names its .tflite (relative to DIR): `tinyml firmware`, `flash` and `measure` take it."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.board import Board
from pipeline.files import write_atomic
from pipeline.sweep import pareto, plots
from pipeline.sweep.space import Constraints, elapsed_text
from pipeline.sweep.store import DONE, FAILED, INFEASIBLE, PENDING, RUNNING, columns, fits_column, ms_column

SWEEP_MD, SWEEP_CSV, SWEEP_JSON = "sweep.md", "sweep.csv", "sweep.json"
OUTPUT_LAYOUT = 1


@dataclass(frozen=True)
class SweepInfo:
    settings: dict
    boards: Sequence[Board]
    constraints: Constraints
    engine: str
    workers: int
    data: str
    data_digest: str
    emulation: str | None  # why the emulation did not run (None: it ran)
    elapsed_s: float
    complete: bool
    stopped: str | None = None


def _csv(rows: Sequence[dict], names: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(["" if row.get(n) is None else row.get(n) for n in names])
    return buffer.getvalue()


def _settings_json(info: SweepInfo) -> dict:
    settings = {k: v for k, v in info.settings.items() if k != "space_text"}
    return {
        **settings,
        "boards": [b.key for b in info.boards],
        "constraints": info.constraints.as_dict(),
        "engine": info.engine,
        "workers": info.workers,
        "data_source": info.data,
        "data_digest": info.data_digest,
        "emulation_skipped": info.emulation,
        "elapsed_s": round(info.elapsed_s, 1),
        "complete": info.complete,
        "stopped": info.stopped,
    }


def write_outputs(out: Path, rows: Sequence[dict], info: SweepInfo) -> tuple[list[Path], dict[str, tuple[str, ...]]]:
    out = Path(out)
    keys = [b.key for b in info.boards]
    names = columns(keys)
    found = pareto.fronts(rows, keys, info.constraints)
    written = []
    write_atomic(out / SWEEP_CSV, _csv(rows, names))
    written.append(out / SWEEP_CSV)
    document = {
        "record": "SweepResult",
        "schema": OUTPUT_LAYOUT,
        "sweep": _settings_json(info),
        "columns": names,
        "points": [{n: row.get(n) for n in names} for row in rows],
        "front": {board: list(f.keys) for board, f in found.items()},
        "objectives": {board: [o.column for o in f.objectives] for board, f in found.items()},
    }
    write_atomic(out / SWEEP_JSON, json.dumps(document, indent=2) + "\n")
    written.append(out / SWEEP_JSON)
    figures = plots.write_plots(out, rows, info.boards, info.constraints, found)
    write_atomic(out / SWEEP_MD, "\n".join(markdown(out, rows, info, found, figures)) + "\n")
    written.insert(0, out / SWEEP_MD)
    return written + figures, {board: f.keys for board, f in found.items()}


# --- sweep.md ------------------------------------------------------------------------------------------


def _num(value: Any, fmt: str = ",") -> str:
    if value is None:
        return "–"
    return format(value, fmt)


def _acc(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _status_line(rows: Sequence[dict]) -> str:
    counts = Counter(r["status"] for r in rows)
    parts = [f"{counts[s]} {s}" for s in (DONE, INFEASIBLE, FAILED, PENDING, RUNNING) if counts[s]]
    return f"{len(rows)} points: " + ", ".join(parts)


def _front_table(rows_by_key: dict[str, dict], front: pareto.Front) -> list[str]:
    board = front.board
    lines = [
        "| point | conv | α | input | blocks | int8 acc | firmware acc | float acc | est. ms | flash B | arena B "
        "| .tflite |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in front.keys:
        r = rows_by_key[key]
        lines.append(
            f"| {r['name']} | {r['conv']} | {r['alpha']:g} | {r['resolution']}×{r['resolution']}×{r['channels']} "
            f"| {r['blocks']} | {_acc(r['accuracy_int8'])} | {_acc(r.get('accuracy_firmware'))} "
            f"| {_acc(r['accuracy_float'])} "
            f"| {_ms(r.get(ms_column(board)))} | {_num(r['flash_bytes'])} | {_num(r['arena_bytes'])} "
            f"| `{r['tflite']}` |"
        )
    return lines


def seed_story(rows: Sequence[dict], board: str, constraints: Constraints) -> list[tuple[dict, dict]]:
    """Per standard candidate of the board: the separable candidate with at least its int8
    accuracy that runs fastest (or, without estimated ms, is smallest in flash)."""
    candidates = [
        r
        for r in rows
        if r["status"] == DONE
        and r.get("accuracy_int8") is not None
        and not pareto.constraint_problems(r, board, constraints)
    ]
    ms = ms_column(board)
    with_ms = all(r.get(ms) is not None for r in candidates)

    def cost(r: dict) -> float:
        return r[ms] if with_ms else r["flash_bytes"]

    pairs = []
    for standard in sorted((r for r in candidates if r["conv"] == "standard"), key=lambda r: -r["accuracy_int8"]):
        rivals = [r for r in candidates if r["conv"] == "separable" and r["accuracy_int8"] >= standard["accuracy_int8"]]
        if rivals:
            pairs.append((standard, min(rivals, key=lambda r: (cost(r), r["flash_bytes"]))))
    return pairs


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def _seed_lines(rows: Sequence[dict], board: str, constraints: Constraints) -> list[str]:
    pairs = seed_story(rows, board, constraints)
    if not pairs:
        return ["No standard candidate has a separable candidate at equal or better accuracy on this board."]
    ms = ms_column(board)
    lines = [
        "Each standard candidate against the fastest separable candidate with at least its int8 accuracy "
        "(ratios: standard / separable).",
        "",
        "| standard | acc | ms | flash B | separable | acc | ms | flash B | ms ratio | flash ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s, p in pairs:
        lines.append(
            f"| {s['name']} | {_acc(s['accuracy_int8'])} | {_ms(s.get(ms))} | {_num(s['flash_bytes'])} "
            f"| {p['name']} | {_acc(p['accuracy_int8'])} | {_ms(p.get(ms))} | {_num(p['flash_bytes'])} "
            f"| {_ratio(s.get(ms), p.get(ms))} | {_ratio(s['flash_bytes'], p['flash_bytes'])} |"
        )
    return lines


def markdown(
    out: Path, rows: Sequence[dict], info: SweepInfo, found: dict[str, pareto.Front], figures: list[Path]
) -> list[str]:
    settings = info.settings
    rows_by_key = {r["key"]: r for r in rows}
    lines = ["# Design-space sweep", ""]
    if not info.complete:
        why = info.stopped or "stopped"
        lines += [
            f"**Incomplete ({why}).** Resume with `tinyml sweep --out {out} --resume`.",
            "",
        ]
    boards = ", ".join(b.label for b in info.boards)
    constraints = (
        ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v:,}" for k, v in info.constraints.as_dict().items())
        or "none"
    )
    lines += [
        f"- Space: `{settings['space_source']}`; {_status_line(rows)}",
        f"- Boards: {boards}",
        f"- Constraints: {constraints}",
        f"- Data: {info.data} (digest {info.data_digest}); epochs "
        + (f"{settings['epochs']} for every point (`--epochs`)" if settings.get("epochs") is not None else "per point"),
        f"- Kernels: {settings['kernels']}; emulation: "
        + (
            "QEMU Cortex-M4, estimated ms with the flash cache on"
            if info.emulation is None
            else f"not run ({info.emulation})"
        ),
        f"- Engine: {info.engine}, {info.workers} worker(s); {elapsed_text(info.elapsed_s)} this run",
        "",
    ]
    for board in info.boards:
        f = found[board.key]
        kept = ", ".join(("↑ " if o.maximize else "↓ ") + o.label for o in f.objectives)
        lines += [f"## Pareto front on the {board.label}", ""]
        if not any(r["status"] == DONE for r in rows):
            lines += ["No point evaluated yet.", ""]
        elif not f.keys:
            lines += ["No evaluated point fits this board within the constraints.", ""]
        else:
            lines += [
                f"{len(f.keys)} of {f.candidates} candidates (done, fitting, within the constraints); "
                f"objectives: {kept}.",
                "",
            ]
            lines += _front_table(rows_by_key, f)
            best = rows_by_key[f.keys[0]]
            lines += [
                "",
                f"Take a point straight to the board: `tinyml firmware {out / best['tflite']}` "
                f"(or `tinyml flash` / `tinyml measure` with the same file).",
            ]
        if f.keys:
            lines += ["", "### Separable against standard at equal accuracy", ""]
            lines += _seed_lines(rows, board.key, info.constraints)
        lines += [""]
        for figure in figures:
            if figure.stem.endswith(f"_{board.key}"):
                lines += [f"![{figure.stem}]({figure.name})", ""]
    failed = [r for r in rows if r["status"] == FAILED]
    if failed:
        lines += ["## Failed points", "", "| point | stage | reason |", "|---|---|---|"]
        lines += [f"| {r['name']} | {r['stage']} | {str(r['reason']).replace('|', '/')} |" for r in failed]
        lines += [""]
    over = []
    for r in rows:
        if r["status"] == DONE:
            problems = {b.key: pareto.constraint_problems(r, b.key, info.constraints) for b in info.boards}
            if all(problems.values()):
                over.append((r, "; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items())))
    if over:
        lines += ["## Evaluated, but out of every front", "", "| point | why |", "|---|---|"]
        lines += [f"| {r['name']} | {why} |" for r, why in over]
        lines += [""]
    infeasible = [r for r in rows if r["status"] == INFEASIBLE]
    if infeasible:
        lines += [
            "## Ruled out before training",
            "",
            f"{len(infeasible)} points, never trained: by their spec's bounds or their untrained int8 export "
            "(exact flash and arena) against the boards and the constraints.",
            "",
            "| point | flash B | arena B | reason |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['name']} | {_num(r.get('flash_bytes'))} | {_num(r.get('arena_bytes'))} "
            f"| {str(r['reason']).replace('|', '/')} |"
            for r in infeasible
        ]
        lines += [""]
    lines += [
        f"Every point with its figures: `{SWEEP_CSV}`, `{SWEEP_JSON}` and the table `points` of `sweep.sqlite`.",
    ]
    return lines


def board_fits(row: dict, board: str) -> bool | None:
    value = row.get(fits_column(board))
    return None if value is None else bool(value)
