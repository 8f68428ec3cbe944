"""Cortex-M4 cycle estimate from executed instruction classes (pipeline/perf/counts.py):
the timing table of the Cortex-M4 Technical Reference Manual (r0p1, 3.3) plus the flash model of a
board file (wait states, the flash instruction and data caches off or on) and its periodic
interrupts, at the board's clock. Estimates, not measurements: docs/cycle_model.md lists every
assumption and where each number comes from.

A cost model in the Vela sense: `core_cycles(counts)` and `flash_stall_cycles(counts, cache_on)`
take class counts and return cycles that add up over layers, `invoke_cycles` stretches them by the
board's interrupt load; the same functions serve the report, the calibration test (exact TRM
numbers on known sequences) and the penalty fit from board runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from pipeline.board import Board
from pipeline.errors import PipelineError
from pipeline.perf.counts import CacheGeometry, ClassCounts


@dataclass(frozen=True)
class CoreTiming:
    """Cortex-M4 cycles (TRM 3.3, zero wait states). Ranges in the TRM are parameters."""

    branch_refill: float = 2.0  # P, pipeline refill after a taken branch: 1-3 in the TRM
    divide: float = 12.0  # SDIV/UDIV: 2-12 (early termination); the TRM's worst case
    address_dependency_stall: float = 1.0  # load whose address the previous instruction wrote
    literal_load_extra: float = 0.0  # "LDR Rx,[PC,#imm] might add a cycle" (fetch contention)

    def class_cycles(self) -> dict[str, float]:
        p = self.branch_refill
        return {
            "alu": 1,
            "it": 1,
            "mul": 1,
            "div": self.divide,
            "load": 2,
            "load_pipelined": 1,
            "store": 1,
            "store_reg": 2,
            "ldrd_strd": 3,  # 1+N, N = 2
            "ldm_stm": 1,
            "x_ldm_stm_regs": 1,  # 1+N
            "x_pop_pc": p,  # LDM/POP with pc: 1+N+P
            "load_pc": 2 + 3,  # "two cycles for the load, three for the reload"
            "table_branch": 2 + 1 + 3,  # TBB/TBH: load, add, reload
            "branch": 1 + p,
            "x_branch_taken": 1 + p,
            "x_branch_not_taken": 1,
            "fp_alu": 1,
            "fp_mac": 3,
            "fp_div": 14,
            "fp_load_store": 2,
            "fp_ldm_stm": 1,
            "x_fp_regs": 1,
            "system": 1,
            "x_load_addr_dep": self.address_dependency_stall,
            "x_load_literal": self.literal_load_extra,
        }


@dataclass(frozen=True)
class FlashTiming:
    """A board's flash as the core sees it (pipeline.board.MemoryTiming: the numbers and their
    sources are in the board file; docs/cycle_model.md explains the model)."""

    fetch_wait_states: float  # per 32-bit instruction fetch from flash, cache off
    miss_penalty: float  # per instruction-cache miss (one fill unit read from flash), cache on (hits: 0)
    data_wait_states: float  # per data read from flash that misses the data cache (all without one)
    cache: CacheGeometry
    data_cache: CacheGeometry | None = None  # the flash data cache; None: the board has none


@dataclass(frozen=True)
class CycleModel:
    flash: FlashTiming
    clock_hz: int
    core: CoreTiming = CoreTiming()
    # Share of the clock the board's periodic interrupts take during an invoke (board file
    # [[interrupts]]): the invoke's own cycles are stretched by 1 / (1 - interrupt_load).
    interrupt_load: float = 0.0

    # The penalties a board run can fit (benchmarks/fit_cycle_penalties.py), in a fixed order.
    PENALTIES = ("branch_refill", "address_dependency_stall", "fetch_wait_states", "miss_penalty", "data_wait_states")

    def penalties(self) -> dict[str, float]:
        values = {**asdict(self.core), **{k: v for k, v in asdict(self.flash).items() if k != "cache"}}
        return {name: values[name] for name in self.PENALTIES}

    def with_penalties(self, **values: float) -> "CycleModel":
        core_names = {f.name for f in fields(CoreTiming)}
        core = replace(self.core, **{k: v for k, v in values.items() if k in core_names})
        flash_values: dict = {k: v for k, v in values.items() if k not in core_names}
        flash = replace(self.flash, **flash_values)
        return replace(self, core=core, flash=flash)


class NoTimingModel(PipelineError):
    """The board file has no [memory] table: no cycle estimate for it."""


def model_for_board(board: Board) -> CycleModel:
    """The timing model of `board`: the core's TRM timing, its clock and its memories."""
    memory = board.memory
    if memory is None:
        raise NoTimingModel(
            f"board {board.key} has no [memory] timing in its board file: no cycle estimate for it (docs/boards.md)"
        )
    cache = CacheGeometry(memory.cache_bytes, memory.cache_ways, memory.cache_line_bytes, memory.cache_fill_bytes)
    data_cache = (
        CacheGeometry(
            memory.data_cache_bytes,
            memory.data_cache_ways,
            memory.data_cache_line_bytes,
            memory.data_cache_fill_bytes,
        )
        if memory.data_cache_bytes
        else None
    )
    return CycleModel(
        FlashTiming(
            memory.flash_fetch_wait_states,
            memory.cache_miss_penalty,
            memory.flash_data_wait_states,
            cache,
            data_cache,
        ),
        board.clock_hz,
        interrupt_load=board.interrupt_load,
    )


def core_cycles(counts: ClassCounts, model: CycleModel) -> float:
    """Cycles at zero wait states. A conditional branch is counted once, through its taken or
    not-taken event."""
    table = model.core.class_cycles()
    return float(sum(cycles * counts[name] for name, cycles in table.items()))


def flash_data_misses(counts: ClassCounts) -> int:
    """Data reads from flash that wait: those that missed the board's data cache (counts from before
    the plugin simulated one have only the reads: all of them wait)."""
    if "x_flash_data_misses" in counts.counts:
        return counts["x_flash_data_misses"]
    return counts["x_flash_data_reads"]


def flash_stall_cycles(counts: ClassCounts, cache_on: bool, model: CycleModel) -> float:
    """Wait states of instruction fetches (cache off: every 32-bit fetch; on: every cache miss)
    and of data reads from flash that miss the data cache, added to the core's cycles (no overlap
    assumed). The caches are the board's, both on or both off."""
    flash = model.flash
    fetch = (
        counts["x_cache_misses"] * flash.miss_penalty if cache_on else counts["x_fetch_words"] * flash.fetch_wait_states
    )
    data_waits = flash_data_misses(counts) if cache_on else counts["x_flash_data_reads"]
    return fetch + data_waits * flash.data_wait_states


def invoke_cycles(counts: ClassCounts, cache_on: bool, model: CycleModel) -> float:
    """Clock cycles from the invoke's start to its end: its own cycles (core and flash waits)
    stretched by the board's periodic interrupts, which take `interrupt_load` of the clock."""
    own = core_cycles(counts, model) + flash_stall_cycles(counts, cache_on, model)
    return own / (1.0 - model.interrupt_load)


def estimated_cycles(counts: ClassCounts, model: CycleModel) -> dict[str, int]:
    return {
        "cache_on": round(invoke_cycles(counts, True, model)),
        "cache_off": round(invoke_cycles(counts, False, model)),
    }


def cycles_to_ms(cycles: float, clock_hz: int) -> float:
    return 1000.0 * cycles / clock_hz


@dataclass(frozen=True)
class CycleEstimate:
    """Per inference and per layer, cache on and off; labelled estimates wherever shown."""

    cycles: dict  # {"cache_on": int, "cache_off": int}
    layer_cycles: tuple  # per layer, same shape
    clock_hz: int
    instructions: int  # counted by the plugin in the measured invoke
    cache: CacheGeometry
    counts: dict | None = None  # the invoke's class counts (for fitting penalties to board runs)
    data_cache: CacheGeometry | None = None

    @property
    def ms(self) -> dict[str, float]:
        return {k: round(cycles_to_ms(v, self.clock_hz), 3) for k, v in self.cycles.items()}


def estimate_invoke(invoke, model: CycleModel) -> CycleEstimate:
    """`invoke` is an insn_classes.InvokeClassCounts."""
    return CycleEstimate(
        cycles=estimated_cycles(invoke.total, model),
        layer_cycles=tuple(estimated_cycles(layer, model) for layer in invoke.layers),
        clock_hz=model.clock_hz,
        instructions=invoke.total.instructions,
        cache=invoke.cache,
        counts=dict(invoke.total.counts),
        data_cache=invoke.data_cache,
    )


def macs_per_cycle(macs: int | None, cycles: float | None) -> float | None:
    return round(macs / cycles, 4) if macs and cycles else None
