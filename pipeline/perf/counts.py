"""Executed instructions by Cortex-M4 timing class, as the QEMU plugin counts them for one invoke:
the input of the cycle model (pipeline.perf.cycles), plain data with no tie to QEMU."""

from __future__ import annotations

from dataclasses import dataclass

# Primary classes: each executed instruction is in exactly one (thumb_classes.h).
PRIMARY_CLASSES = (
    "alu",
    "it",
    "mul",
    "div",
    "load",
    "load_pipelined",
    "store",
    "store_reg",
    "ldrd_strd",
    "ldm_stm",
    "load_pc",
    "table_branch",
    "branch",
    "branch_cond",
    "fp_alu",
    "fp_mac",
    "fp_div",
    "fp_load_store",
    "fp_ldm_stm",
    "system",
)


@dataclass(frozen=True)
class CacheGeometry:
    """A flash cache as the plugin simulates it: set-associative, LRU; each line holds
    line_bytes / fill_bytes sub-blocks, each read from flash on its own miss (ST's ART: "32 lines
    of 4 x 64 bits"); fill_bytes 0 means the whole line."""

    size_bytes: int
    ways: int
    line_bytes: int
    fill_bytes: int = 0

    @property
    def fill(self) -> int:
        return self.fill_bytes or self.line_bytes


@dataclass(frozen=True)
class ClassCounts:
    """Counts of one segment (a layer, or the invoke outside layers): class name -> count."""

    counts: dict

    def __getitem__(self, name: str) -> int:
        return int(self.counts.get(name, 0))

    @property
    def instructions(self) -> int:
        return sum(self[name] for name in PRIMARY_CLASSES)

    def __add__(self, other: "ClassCounts") -> "ClassCounts":
        names = set(self.counts) | set(other.counts)
        return ClassCounts({n: self[n] + other[n] for n in names})


@dataclass(frozen=True)
class InvokeClassCounts:
    """One invoke: per profiled layer (execution order) and the rest of Invoke()."""

    layers: tuple[ClassCounts, ...]
    outside_layers: ClassCounts
    cache: CacheGeometry
    flash_end: int
    data_cache: CacheGeometry | None = None  # None: the board has no flash data cache

    @property
    def total(self) -> ClassCounts:
        total = self.outside_layers
        for layer in self.layers:
            total = total + layer
        return total
