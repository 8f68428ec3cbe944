"""A board run next to what was predicted before flashing: board cycles vs the Cortex-M4 cycle
estimate (emulated.json `estimated_cycles`, for the board's cache state), board instructions (DWT)
vs QEMU's instruction count. Each pair with its error, (predicted − board) / board."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Pair:
    board: int | None
    predicted: int | None
    note: str = ""   # why a side is missing

    @property
    def error_pct(self) -> float | None:
        if not self.board or self.predicted is None:
            return None
        return 100.0 * (self.predicted - self.board) / self.board


@dataclass(frozen=True)
class BoardVsEstimate:
    cache: str | None    # the board's cache state: which estimate is compared
    cycles: Pair         # board cycles vs estimated cycles
    instructions: Pair   # board (DWT) instructions vs emulated instructions

    def to_dict(self) -> dict:
        return {"cache": self.cache,
                **{name: {**asdict(pair), "error_pct": _round(pair.error_pct)}
                   for name, pair in (("cycles", self.cycles), ("instructions", self.instructions))}}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def compare(measured: dict, emulated: dict | None) -> BoardVsEstimate:
    """`measured`: the device record (pipeline.device.usb.measured_record); `emulated`: the
    model's emulated.json or None."""
    cache = (measured.get("cache") or {}).get("state")
    estimate_key = "cache_off" if cache == "off" else "cache_on"
    board_cycles = measured.get("cycles")
    if emulated is None:
        cycles = Pair(board_cycles, None, "not emulated: run `tinyml emulate` on the model first")
        instructions = Pair(measured.get("board_instructions"), None, cycles.note)
        return BoardVsEstimate(cache, cycles, instructions)
    estimated = (emulated.get("estimated_cycles") or {}).get(estimate_key)
    cycles_note = "" if estimated is not None else (
        "the cycle estimate is missing from emulated.json (emulated without the estimator)")
    if board_cycles is None:
        cycles_note = "the device counts no cycles (an emulator's run)"
    board_instructions = measured.get("board_instructions")
    instructions_note = "" if board_instructions is not None else (
        "the device reported no DWT counters (protocol v1, Renode, or a CPU without them)")
    return BoardVsEstimate(cache, Pair(board_cycles, estimated, cycles_note),
                           Pair(board_instructions, emulated.get("instructions"), instructions_note))


def format_lines(result: BoardVsEstimate) -> list[str]:
    lines = []
    estimate = "estimate" + (f", cache {result.cache}" if result.cache in ("on", "off") else "")
    for label, pair, other in (("cycles", result.cycles, estimate),
                               ("instructions", result.instructions, "QEMU")):
        board = f"{pair.board:,}" if pair.board is not None else "-"
        if pair.predicted is None or pair.board is None:
            lines.append(f"  board {label} {board}; {other}: - ({pair.note})")
        else:
            lines.append(f"  board {label} {board}; {other} {pair.predicted:,} "
                         f"({pair.error_pct:+.1f} %)")
    return lines
