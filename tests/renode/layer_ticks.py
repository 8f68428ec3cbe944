"""Robot keywords of benchmark.robot for its per-layer check (plain Python, no Renode: the unit tests in
tests/test_renode.py run them on made-up records).

Renode's virtual time, and so the firmware's instruction clock, advances in steps no finer than
the time quantum: a layer that reads exactly one quantum measured the quantum, not the layer. A
Cortex-M4 does at most two MACs per instruction (SMLAD), so a layer with M MACs executes at least
M/2 instructions, and a clock that moves in quantum steps reads at least that minus one quantum.
A layer with more than 4 quanta of MACs therefore reads above one quantum whenever the quantum is
fine enough for it to be measured at all.
"""
from __future__ import annotations

import json
import re

MAX_MACS_PER_INSTRUCTION = 2  # Cortex-M4 SMLAD: two 16-bit multiply-accumulates per instruction


def quantum_microseconds(time_source_info: str) -> int:
    """The `Quantum: hh:mm:ss.ffffff` line of Renode's `machine GetTimeSourceInfo`, in µs."""
    match = re.search(r"Quantum: (\d+):(\d+):(\d+)\.(\d{6})", time_source_info)
    if not match:
        raise AssertionError(f"no quantum in Renode's time source info: {time_source_info!r}")
    hours, minutes, seconds, micros = (int(g) for g in match.groups())
    return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros


def layer_macs(analysis_json: str) -> list[int]:
    """Per-operator MACs, in operator order, from `tinyml analyze MODEL.tflite --json`."""
    with open(analysis_json, encoding="utf-8") as f:
        return [int(layer["macs"]) for layer in json.load(f)["layers"]]


def layers_at_the_quantum_floor(layer_lines: list[str], macs: list[int], floor_ticks: int) -> list[str]:
    """LAYER records (protocol lines) of layers whose MACs guarantee more than FLOOR_TICKS
    instructions but which read FLOOR_TICKS or less; empty when every such layer reads above it."""
    if len(layer_lines) != len(macs):
        raise AssertionError(f"{len(layer_lines)} LAYER records but the analysis has {len(macs)} "
                             "operators: the ELF was built from another model than the analysis")
    floor_ticks = int(floor_ticks)
    min_macs = 2 * MAX_MACS_PER_INSTRUCTION * floor_ticks
    stuck = []
    for line, layer_mac_count in zip(layer_lines, macs):
        ticks = int(re.search(r"\bticks=(\d+)", line).group(1))
        if layer_mac_count > min_macs and ticks <= floor_ticks:
            stuck.append(f"{line.split(' *')[0]} ({layer_mac_count} MACs)")
    return stuck
