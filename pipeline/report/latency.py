"""Report section: time on the board per model and kernel set. Estimated Cortex-M4 cycles of the
emulated run (instruction classes through the board file's timing, pipeline/perf/cycles.py),
board cycles where a board ran, with the estimate's error beside them."""

from __future__ import annotations

from pipeline.board import Board
from pipeline.records import ModelResults
from pipeline.report.tables import table


def _ms(cycles: int | None, clock_hz: int) -> float | None:
    return None if cycles is None else 1000.0 * cycles / clock_hz


def latency_rows(models: list[ModelResults]) -> list[list]:
    rows = []
    for m in models:
        for kernels, measured in m.measured.items():  # a board run without an emulated record
            if kernels not in m.emulated and measured.cycles:
                rows.append(
                    [
                        m.name,
                        kernels,
                        m.built.macs,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        measured.cycles,
                        _ms(measured.cycles, measured.clock_hz),
                        None,
                        "not emulated",
                    ]
                )
        for kernels, record in m.emulated.items():
            board = m.measured.get(kernels)
            board_cycles = board.cycles if board else None
            est = record.estimated_cycles
            error = 100.0 * (est.cache_on - board_cycles) / board_cycles if est is not None and board_cycles else None
            rows.append(
                [
                    m.name,
                    kernels,
                    record.macs,
                    record.instructions,
                    record.instructions_per_mac,
                    est.cache_on if est else None,
                    _ms(est.cache_on, record.clock_hz) if est else None,
                    _ms(est.cache_off, record.clock_hz) if est else None,
                    record.macs / est.cache_on if est and record.macs else None,
                    board_cycles,
                    _ms(board_cycles, board.clock_hz) if board and board_cycles else None,
                    error,
                    record.estimate_skipped or "",
                ]
            )
    return rows


def latency_section(models: list[ModelResults], board: Board) -> list[str]:
    rows = latency_rows([m for m in models if m.ok])
    if not rows:
        return []
    return [
        "",
        f"## Time on the {board.label}",
        "",
        "Instructions are counted in QEMU's Cortex-M4 (deterministic). Cycles and milliseconds are "
        f"**estimates** from the instruction classes through the Cortex-M4 TRM timing and the {board.chip}'s "
        "memory timing in its board file (docs/cycle_model.md), with the flash cache on (the firmware "
        "switches it on) and off. A board's cycles replace them where a board ran; the error is "
        "(estimate − board) / board.",
        "",
        table(
            [
                "model",
                "kernels",
                "MACs",
                "instructions",
                "instr/MAC",
                "est. cycles",
                "est. ms",
                "est. ms cache off",
                "est. MAC/cycle",
                "board cycles",
                "board ms",
                "error %",
                "no estimate because",
            ],
            rows,
        ),
    ]
