"""What rules a point out before training, cheapest test first.

1. The spec alone (microseconds, no TensorFlow): its MACs and weights follow from the MobileNetV1
   table (the same counts the .tflite gives: tests/test_sweep.py checks them). At least one byte of
   flash per int8 weight, and at most two MACs per cycle on a Cortex-M4 (SMLAD, the DSP
   extension's ceiling), bound the flash and the milliseconds from below: a point whose bound
   already breaks every board is ruled out without being built.
2. The untrained int8 export (seconds): exact flash, arena and the fit per board (the analysis of
   `tinyml analyze`), against the boards and the constraints that need no training.

A point is infeasible when every board rules it out; `min_accuracy` and the estimated `max_ms`
need training and the emulator, and are judged on the front, not here."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.board import Board
from pipeline.model.specs import FIRST_CONV_CHANNELS, ModelSpec, scaled_channels
from pipeline.sweep.space import Constraints

CORTEX_M4_MAX_MACS_PER_CYCLE = 2  # SMLAD: two 16-bit multiply-accumulates per cycle


@dataclass(frozen=True)
class SpecCosts:
    macs: int
    params: int  # kernel weights (biases apart), as HostResult.params counts them


def spec_costs(spec: ModelSpec, classes: int) -> SpecCosts:
    """MACs and weights of the network the spec builds (pipeline.model.keras_models), by layer:
    3x3 stride-2 first conv, then standard 3x3 or depthwise 3x3 + pointwise blocks, then the
    classifier; 'same' padding, so each map side is ceil(side / stride)."""
    side = -(-spec.resolution // 2)
    channels = scaled_channels(FIRST_CONV_CHANNELS, spec.alpha)
    macs = 9 * spec.channels * channels * side * side
    params = 9 * spec.channels * channels
    for out, stride in zip(spec.block_channels(), spec.strides[1:]):
        side = -(-side // stride)
        if spec.conv == "separable":
            macs += 9 * channels * side * side + channels * out * side * side
            params += 9 * channels + channels * out
        else:
            macs += 9 * channels * out * side * side
            params += 9 * channels * out
        channels = out
    macs += channels * classes
    params += channels * classes
    return SpecCosts(macs, params)


def ms_lower_bound(macs: int, board: Board) -> float | None:
    """No Cortex-M4 code runs the MACs faster than two per cycle (None: not a Cortex-M4)."""
    if board.core.lower() != "cortex-m4":
        return None
    return 1000.0 * macs / CORTEX_M4_MAX_MACS_PER_CYCLE / board.clock_hz


def _verdict(per_board: dict[str, list[str]], common: list[str]) -> str | None:
    """The reason a point is out (None: some board keeps it)."""
    if any(not reasons for reasons in per_board.values()) and not common:
        return None
    parts = list(common) + [f"{key}: {'; '.join(reasons)}" for key, reasons in per_board.items() if reasons]
    return "; ".join(parts)


def screen_spec(costs: SpecCosts, boards: list[Board], constraints: Constraints) -> str | None:
    """Step 1: the reason the spec's bounds rule the point out, or None."""
    common = []
    if constraints.max_flash_bytes is not None and costs.params > constraints.max_flash_bytes:
        common.append(f"at least {costs.params:,} B of int8 weights > max_flash_bytes {constraints.max_flash_bytes:,}")
    per_board: dict[str, list[str]] = {}
    for board in boards:
        reasons = per_board.setdefault(board.key, [])
        if costs.params > board.model_flash_budget:
            reasons.append(f"at least {costs.params:,} B of int8 weights > flash budget {board.model_flash_budget:,} B")
        bound = ms_lower_bound(costs.macs, board)
        if constraints.max_ms is not None and bound is not None and bound > constraints.max_ms:
            reasons.append(
                f"{costs.macs:,} MACs need at least {bound:,.1f} ms at {CORTEX_M4_MAX_MACS_PER_CYCLE} MAC/cycle "
                f"> max_ms {constraints.max_ms:g}"
            )
    return _verdict(per_board, common)


def judge_export(
    flash_bytes: int,
    arena_bytes: int,
    fits: dict[str, tuple[bool, tuple[str, ...]]],
    boards: list[Board],
    constraints: Constraints,
    macs: int,
) -> str | None:
    """Step 2: the reason the untrained export rules the point out, or None. `fits`: per board,
    the analysis' verdict (fits, reasons); `arena_bytes`: the exact 32-bit arena."""
    common = []
    if constraints.max_flash_bytes is not None and flash_bytes > constraints.max_flash_bytes:
        common.append(f"flash {flash_bytes:,} B > max_flash_bytes {constraints.max_flash_bytes:,}")
    if constraints.max_arena_bytes is not None and arena_bytes > constraints.max_arena_bytes:
        common.append(f"arena {arena_bytes:,} B > max_arena_bytes {constraints.max_arena_bytes:,}")
    per_board: dict[str, list[str]] = {}
    for board in boards:
        ok, reasons = fits[board.key]
        found = per_board.setdefault(board.key, [] if ok else list(reasons))
        bound = ms_lower_bound(macs, board)
        if constraints.max_ms is not None and bound is not None and bound > constraints.max_ms:
            found.append(f"at least {bound:,.1f} ms at {CORTEX_M4_MAX_MACS_PER_CYCLE} MAC/cycle > max_ms")
    return _verdict(per_board, common)
