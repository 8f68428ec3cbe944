"""Report section: the two kernel sets side by side (`--kernels cmsis-nn` and `--kernels tinyml`),
from the emulated (and measured) records of each: instructions per MAC per model and per layer
kind, whether the outputs agree (CRC-32 of the output tensor), the firmware's flash, and which
layers ran which kernel."""
from __future__ import annotations


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _per_mac(record: dict, macs: int | None):
    return record["instructions"] / macs if macs and record.get("instructions") else None


def _crc_verdict(a: dict, b: dict) -> str:
    ca, cb = a.get("output_crc32"), b.get("output_crc32")
    if ca is None or cb is None:
        return "no CRC (firmware before protocol v2)"
    return "identical" if ca == cb else f"DIFFER ({ca:08x} / {cb:08x})"


def kernel_usage(record: dict) -> str:
    """'tinyml_dwconv3x3_s8: #1 #3 …; cmsis-nn: …' from an emulated record's per-layer kernels,
    for the conv layers (the others always run the library's kernels)."""
    used: dict[str, list[str]] = {}
    for layer in record.get("layers") or []:
        if layer.get("op") in ("CONV_2D", "DEPTHWISE_CONV_2D") and layer.get("kernel"):
            used.setdefault(layer["kernel"], []).append(f"#{layer['index']}")
    return "; ".join(f"{kernel} {len(ids)} ({' '.join(ids)})" for kernel, ids in used.items())


def kernels_section(models: list[dict]) -> list[str]:
    both = [m for m in models if m.get("emulated") and m.get("emulated_tinyml")]
    if not both:
        return []
    parts = ["", "## Kernel sets: CMSIS-NN vs the project's kernels (emulated, instructions)", "",
             "`--kernels tinyml` runs the project's int8 kernels (depthwise 3×3, first conv with 1-3 "
             "input channels, pointwise 1×1) where they cover a layer and CMSIS-NN's elsewhere; the "
             "arena is the same.",
             "",
             _table(["model", "MACs", "CMSIS-NN instr", "instr/MAC", "tinyml instr", "instr/MAC",
                     "speed-up", "outputs", "flash B CMSIS-NN", "flash B tinyml", "flash cost B"],
                    [[m["name"], m["macs"], m["emulated"]["instructions"],
                      _per_mac(m["emulated"], m["macs"]), m["emulated_tinyml"]["instructions"],
                      _per_mac(m["emulated_tinyml"], m["macs"]),
                      m["emulated"]["instructions"] / m["emulated_tinyml"]["instructions"],
                      _crc_verdict(m["emulated"], m["emulated_tinyml"]),
                      m["emulated"].get("flash_bytes"), m["emulated_tinyml"].get("flash_bytes"),
                      (m["emulated_tinyml"].get("flash_bytes") or 0) -
                      (m["emulated"].get("flash_bytes") or 0)] for m in both])]
    kinds = sorted({k for m in both for k in (m["emulated"].get("layer_kinds") or {})})
    rows = []
    for m in both:
        a, b = m["emulated"].get("layer_kinds") or {}, m["emulated_tinyml"].get("layer_kinds") or {}
        rows.append([m["name"]] + [f"{_fmt(a.get(k, {}).get('instructions_per_mac'))} → "
                                   f"{_fmt(b.get(k, {}).get('instructions_per_mac'))}"
                                   if k in a else None for k in kinds])
    parts += ["", "Instructions per MAC per layer kind, CMSIS-NN → tinyml:", "",
              _table(["model"] + kinds, rows), "", "Which conv layers ran which kernel (tinyml):", ""]
    parts += [f"- `{m['name']}`: {kernel_usage(m['emulated_tinyml']) or 'no per-layer data'}"
              for m in both]
    measured = [m for m in models if m.get("measured") and m.get("measured_tinyml")]
    if measured:
        parts += ["", "On the board:", "",
                  _table(["model", "CMSIS-NN cycles", "tinyml cycles", "speed-up", "outputs"],
                         [[m["name"], m["measured"].get("cycles"), m["measured_tinyml"].get("cycles"),
                           (m["measured"]["cycles"] / m["measured_tinyml"]["cycles"])
                           if m["measured"].get("cycles") and m["measured_tinyml"].get("cycles")
                           else None, _crc_verdict(m["measured"], m["measured_tinyml"])]
                          for m in measured])]
    return parts


def kernels_report_section(report) -> list[str]:
    """The section of pipeline.report.render's SECTIONS (a Report: its models that built)."""
    return kernels_section(report.ok)
