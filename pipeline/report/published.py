"""Report section: the published inference times on the run's board (pipeline/perf/published.py)
with their software and source, and the estimate of this run beside each figure whose model bytes
the run emulated (a zoo run rarely has them: benchmarks/published_latency.py estimates those)."""

from __future__ import annotations

from pipeline.board import Board
from pipeline.perf.published import figures_for_board
from pipeline.records import ModelResults
from pipeline.report.tables import table


def published_rows(models: list[ModelResults], board: Board) -> list[list]:
    estimates: dict[str, float] = {}
    for m in models:
        for record in m.emulated.values():
            if record.board == board.key and record.estimated_ms is not None:
                estimates.setdefault(record.tflite_sha256, record.estimated_ms.cache_on)
    rows = []
    for f in figures_for_board(board.key):
        est = estimates.get(f.model_sha256)
        rows.append(
            [
                f.model,
                f.software,
                f.macs,
                f.published_ms,
                round(f.macs_per_cycle, 3),
                est,
                100.0 * (est - f.published_ms) / f.published_ms if est is not None else None,
                f.source,
            ]
        )
    return rows


def published_section(models: list[ModelResults], board: Board) -> list[str]:
    rows = published_rows([m for m in models if m.ok], board)
    if not rows:
        return []
    return [
        "",
        f"## Published measurements on the {board.label}",
        "",
        "Inference times others measured on this board, with their software (the older TFLM, compiler "
        "and library versions differ from the ones this project builds) and what their timing covers "
        '(docs/cycle_model.md, "Checked against published figures"). An estimate of this run stands '
        "beside a figure when the run emulated the same model bytes; `python "
        "benchmarks/published_latency.py MODELS…` estimates all of them.",
        "",
        table(
            ["model", "software", "MACs", "published ms", "MAC/cycle", "est. ms (this run)", "error %", "source"],
            rows,
        ),
    ]
