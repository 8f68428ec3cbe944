"""A board run next to what was predicted before flashing: board cycles vs the Cortex-M4 cycle
estimate (emulated.json `estimated_cycles`, for the board's cache state), board instructions (DWT)
vs QEMU's instruction count. Each pair with its error, (predicted − board) / board."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pipeline.records import EmulatedRecord, MeasuredRecord


@dataclass(frozen=True)
class Pair:
    board: int | None
    predicted: int | None
    note: str = ""  # why a side is missing

    @property
    def error_pct(self) -> float | None:
        if not self.board or self.predicted is None:
            return None
        return 100.0 * (self.predicted - self.board) / self.board


@dataclass(frozen=True)
class BoardVsEstimate:
    cache: str | None  # the board's cache state: which estimate is compared
    cycles: Pair  # board cycles vs estimated cycles
    instructions: Pair  # board (DWT) instructions vs emulated instructions

    def to_dict(self) -> dict:
        return {
            "cache": self.cache,
            **{
                name: {**asdict(pair), "error_pct": _round(pair.error_pct)}
                for name, pair in (("cycles", self.cycles), ("instructions", self.instructions))
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def compare(measured: MeasuredRecord, emulated: EmulatedRecord | None) -> BoardVsEstimate:
    """`measured`: the device's record; `emulated`: the same model's emulated record or None."""
    cache = (measured.cache or {}).get("state")
    board_cycles = measured.cycles
    if emulated is None:
        cycles = Pair(board_cycles, None, "not emulated: run `tinyml emulate` on the model first")
        instructions = Pair(measured.board_instructions, None, cycles.note)
        return BoardVsEstimate(cache, cycles, instructions)
    estimate = emulated.estimated_cycles
    estimated = None if estimate is None else (estimate.cache_off if cache == "off" else estimate.cache_on)
    cycles_note = (
        ""
        if estimated is not None
        else (f"no cycle estimate in the emulated record ({emulated.estimate_skipped or 'emulated without it'})")
    )
    if board_cycles is None:
        cycles_note = "the device counts no cycles (an emulator's run)"
    instructions_note = (
        ""
        if measured.board_instructions is not None
        else ("the device reported no DWT counters (protocol v1, Renode, or a CPU without them)")
    )
    return BoardVsEstimate(
        cache,
        Pair(board_cycles, estimated, cycles_note),
        Pair(measured.board_instructions, emulated.instructions, instructions_note),
    )


def format_lines(result: BoardVsEstimate) -> list[str]:
    lines = []
    estimate = "estimate" + (f", cache {result.cache}" if result.cache in ("on", "off") else "")
    for label, pair, other in (("cycles", result.cycles, estimate), ("instructions", result.instructions, "QEMU")):
        board = f"{pair.board:,}" if pair.board is not None else "-"
        if pair.predicted is None or pair.board is None:
            lines.append(f"  board {label} {board}; {other}: - ({pair.note})")
        else:
            lines.append(f"  board {label} {board}; {other} {pair.predicted:,} ({pair.error_pct:+.1f} %)")
    return lines
