"""Report section: per layer of each model, its counted cost; for a separable model with a
standard twin, each block (depthwise + pointwise) against the twin's 3×3 layer of the same block,
counted and, when both were emulated, in instructions."""

from __future__ import annotations

import re

from pipeline.analysis import costs
from pipeline.records import EmulatedRecord, LayerRecord, ModelResults
from pipeline.report.pairs import pairs
from pipeline.report.tables import table

BLOCK = re.compile(r"^(block\d+)_")


def block_of(name: str) -> str | None:
    match = BLOCK.match(name)
    return match.group(1) if match else None


def instructions_by_block(host_layers: tuple[LayerRecord, ...], record: EmulatedRecord | None) -> dict[str, int]:
    """Instructions per block, joining the emulated operators that carry MACs with the model's
    layers in order (operators without MACs are not part of a block)."""
    if record is None:
        return {}
    arithmetic = iter(host_layers)
    found: dict[str, int] = {}
    for layer in record.layers:
        if not layer.macs:
            continue
        row = next(arithmetic, None)
        if row is None:
            break
        block = block_of(row.name)
        if block:
            found[block] = found.get(block, 0) + layer.instructions
    return found


def layer_table(model: ModelResults, twin: ModelResults | None, kernels: str | None) -> str:
    host = model.built
    headers = ["layer", "kind", "D_K", "M", "N", "D_F", "MACs", "params"]
    rows = [[r.name, r.kind, r.d_k, r.m, r.n, r.d_f, r.macs, r.params] for r in host.layers]
    if twin is None:
        return table(headers, rows)
    twin_macs = {block_of(r.name): r.macs for r in twin.built.layers if block_of(r.name)}
    mine = instructions_by_block(host.layers, model.emulated.get(kernels) if kernels else None)
    theirs = instructions_by_block(twin.built.layers, twin.emulated.get(kernels) if kernels else None)
    timed = bool(mine and theirs)
    headers += [f"{twin.name} MACs", "block / twin (counted)", "1/N + 1/D_K²"]
    if timed:
        headers += [f"block / twin (instructions, {kernels})"]
    previous = None
    for row, r in zip(rows, host.layers):
        block = block_of(r.name)
        extra: list = [None, None, None] + ([None] if timed else [])
        if r.kind == "pointwise" and previous is not None and previous.kind == "depthwise" and twin_macs.get(block):
            extra = [
                twin_macs[block],
                (previous.macs + r.macs) / twin_macs[block],
                costs.separable_ratio(previous.d_k, r.n),
            ]
            if timed and block is not None:
                extra.append(mine[block] / theirs[block] if theirs.get(block) and block in mine else None)
        row += extra
        previous = r
    return table(headers, rows)


def per_layer_section(models: list[ModelResults], kernels: str | None) -> list[str]:
    twins = {p.name: s for s, p in pairs(models)}
    parts = [
        "",
        "## Per layer",
        "",
        "For a separable model with a standard twin, each block (depthwise + pointwise) is set "
        "against the twin's 3×3 layer of the same block, counted in the two .tflite files, next to "
        "the formula; with both emulated, their instruction ratio too.",
    ]
    for m in (m for m in models if m.ok):
        spec = m.built.spec
        parts += [
            "",
            f"### {m.name} ({spec.conv}, α={spec.alpha:g}, {spec.resolution}×{spec.resolution}"
            f"×{spec.channels}, {spec.blocks} blocks)",
            "",
            layer_table(m, twins.get(m.name), kernels),
        ]
        seed = m.built.seed
        if seed.network_ratio is not None and seed.standard_equivalent_macs:
            parts += [
                "",
                f"Network: {m.built.macs:,} MACs vs {seed.standard_equivalent_macs:,} if every block "
                f"were a standard 3×3 conv (formula): ratio {seed.network_ratio:.3f}.",
            ]
    return parts
