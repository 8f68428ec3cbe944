"""Report section: the two kernel sets side by side (CMSIS-NN's and the project's), from each
model's emulated (and measured) records: instructions per MAC per model and per layer kind,
whether the outputs agree, the firmware's flash, and which conv layers ran which kernel."""

from __future__ import annotations

from pipeline.kernel_sets import CMSIS_NN, TINYML
from pipeline.records import EmulatedRecord, ModelResults
from pipeline.report.tables import fmt, table


def _outputs(a: EmulatedRecord, b: EmulatedRecord) -> str:
    if a.output_crc32 is None or b.output_crc32 is None:
        return "no CRC"
    return "identical" if a.output_crc32 == b.output_crc32 else f"DIFFER ({a.output_crc32:08x} / {b.output_crc32:08x})"


def _speed_up(a: int | None, b: int | None) -> float | None:
    return a / b if a and b else None


def kernel_usage(record: EmulatedRecord) -> str:
    """'tinyml_dwconv3x3_s8 4 (#1 #3 …); cmsis-nn …' for the conv layers of a record."""
    used: dict[str, list[str]] = {}
    for layer in record.layers:
        if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and layer.kernel:
            used.setdefault(layer.kernel, []).append(f"#{layer.index}")
    return "; ".join(f"{kernel} {len(ids)} ({' '.join(ids)})" for kernel, ids in used.items())


def kernels_section(models: list[ModelResults]) -> list[str]:
    both = [m for m in models if m.ok and CMSIS_NN in m.emulated and TINYML in m.emulated]
    if not both:
        return []
    rows = []
    for m in both:
        a, b = m.emulated[CMSIS_NN], m.emulated[TINYML]
        rows.append(
            [
                m.name,
                a.macs,
                a.instructions,
                a.instructions_per_mac,
                b.instructions,
                b.instructions_per_mac,
                a.instructions / b.instructions,
                _outputs(a, b),
                a.flash_bytes,
                b.flash_bytes,
                b.flash_bytes - a.flash_bytes,
            ]
        )
    parts = [
        "",
        "## Kernel sets: CMSIS-NN vs the project's kernels (emulated, instructions)",
        "",
        "`tinyml` runs the project's int8 kernels (depthwise of every size and channel multiplier, pointwise 1×1, "
        "first convolutions, standard, 1×K and strided convolutions) where they cover a layer and run it faster, "
        "and CMSIS-NN's elsewhere; the arena is the same. The flash cost is what the project's kernels add to "
        "the firmware.",
        "",
        table(
            [
                "model",
                "MACs",
                "CMSIS-NN instr",
                "instr/MAC",
                "tinyml instr",
                "instr/MAC",
                "speed-up",
                "outputs",
                "flash B CMSIS-NN",
                "flash B tinyml",
                "flash cost B",
            ],
            rows,
        ),
    ]
    kinds = sorted(
        {
            k
            for m in both
            for r in (m.emulated[CMSIS_NN], m.emulated[TINYML])
            for k, v in r.layer_kinds.items()
            if v["macs"]
        }
    )
    kind_rows: list[list] = []
    for m in both:
        ka, kb = m.emulated[CMSIS_NN].layer_kinds, m.emulated[TINYML].layer_kinds
        kind_rows.append(
            [m.name]
            + [
                f"{fmt(ka[k]['instructions_per_mac'], 2)} → {fmt(kb.get(k, {}).get('instructions_per_mac'), 2)}"
                if k in ka and ka[k]["macs"]
                else None
                for k in kinds
            ]
        )
    parts += [
        "",
        "Instructions per MAC per layer kind, CMSIS-NN → tinyml:",
        "",
        table(["model"] + kinds, kind_rows),
        "",
        "Which conv layers ran which kernel (tinyml):",
        "",
    ]
    parts += [f"- `{m.name}`: {kernel_usage(m.emulated[TINYML]) or 'no per-layer data'}" for m in both]
    measured = [m for m in both if CMSIS_NN in m.measured and TINYML in m.measured]
    if measured:
        parts += [
            "",
            "On the board:",
            "",
            table(
                ["model", "CMSIS-NN cycles", "tinyml cycles", "speed-up"],
                [
                    [
                        m.name,
                        m.measured[CMSIS_NN].cycles,
                        m.measured[TINYML].cycles,
                        _speed_up(m.measured[CMSIS_NN].cycles, m.measured[TINYML].cycles),
                    ]
                    for m in measured
                ],
            ),
        ]
    return parts
