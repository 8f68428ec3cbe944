"""Benchmark (not a test): CMSIS-NN's int8 kernels vs the project's (`--kernels tinyml`) on the
emulated Cortex-M4 (QEMU mps2-an386, -icount shift=0: instructions, not cycles), in one run:
instructions per MAC per model and per layer kind for both kernel sets, the firmware's flash for
each, which layers the project kernels took, and whether the outputs are identical (the check
firmware's output bytes on three inputs, and the benchmark firmware's output CRC-32). When the
emulation carries the cycle estimate (perf/cycles.py: Cortex-M4 timing, nRF52840 flash and
instruction cache), it also prints estimated cycles, milliseconds at 64 MHz and cycles per MAC.

    python benchmarks/kernels.py [MODEL.tflite ...] [--out OUT] [--tflm-dir DIR] [--json FILE]

Without files: every model of `tinyml run`'s output folder (--out, default ./out). Goals of issue
11 are printed against the MobileNetV1-0.25 96x96 pair (sep_a025_r96_b13 / std_a025_r96_b13) when
both are among the models. Needs the TFLM Arduino library (--tflm-dir or TFLM_ARDUINO_DIR).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.kernel_sets import KERNEL_SETS  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.records import kind_names  # noqa: E402

KIND_ORDER = ("first_conv", "depthwise", "pointwise", "conv", "fully_connected", "other")
PAIR = ("sep_a025_r96_b13", "std_a025_r96_b13")
GOALS = {  # figure -> (issue's "now", goal), instructions per MAC
    "depthwise 3x3": (9.4, 3.0),
    "first conv (1 input channel)": (13.5, 3.0),
    "sep_a025_r96_b13": (3.37, 2.2),
    "sep/std instructions ÷ MACs (b13 pair)": (1.66, 1.2),
}


def _per_mac(entry: dict | None):
    return entry.get("instructions_per_mac") if entry else None


def _fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


CACHE = "cache_on"  # the board runs with the nRF52840's instruction cache enabled


def _cycles(entry: dict) -> int | None:
    cycles = entry.get("estimated_cycles")
    return cycles.get(CACHE) if isinstance(cycles, dict) else None


def _kind_cycles_per_mac(entry: dict) -> dict[str, float]:
    """Estimated cycles per MAC per layer kind, from the per-layer estimates."""
    cycles: dict[str, int] = {}
    macs: dict[str, int] = {}
    layers = entry.get("layers", [])
    for layer, kind in zip(layers, kind_names(layer.get("kind") for layer in layers)):
        value = _cycles(layer)
        if value is None or not layer.get("macs"):
            continue
        cycles[kind] = cycles.get(kind, 0) + value
        macs[kind] = macs.get(kind, 0) + layer["macs"]
    return {kind: cycles[kind] / macs[kind] for kind in cycles}


def measure(paths: list[Path], tflm_dir, runs: int, check: bool) -> dict:
    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.board import load_board
    from pipeline.driver import check_emulation_environment, emulate_path
    from pipeline.emulator.output_check import check_outputs
    from pipeline.records import to_plain

    results: dict[str, dict] = {}
    for path in paths:
        entry = results.setdefault(path.stem, {"tflite": str(path)})
        for kernels in KERNEL_SETS:
            try:
                result = emulate_path(path, tflm_dir, runs=runs, warmup=1, kernels=kernels)
                entry[kernels] = to_plain(result)
                if check:
                    analysis = analyze_file(path, [load_board()])
                    entry[kernels]["check"] = [c.output_hex for c in check_outputs(
                        analysis, kernels, check_emulation_environment(tflm_dir))]
            except PipelineError as exc:
                entry[kernels] = {"error": str(exc)}
            print(f"  {path.stem} {kernels}: "
                  f"{entry[kernels].get('instructions', entry[kernels].get('error'))}",
                  file=sys.stderr, flush=True)
    return results


def report(results: dict) -> list[str]:
    lines = ["Instructions per MAC (QEMU Cortex-M4), CMSIS-NN -> tinyml", ""]
    header = f"{'model':<34} {'MACs':>11} {'cmsis-nn':>9} {'tinyml':>8} {'speed-up':>8}  outputs" \
             f"  flash B cmsis-nn / tinyml (cost)"
    lines.append(header)
    kinds_seen = []
    for name, entry in results.items():
        a, b = entry.get("cmsis-nn", {}), entry.get("tinyml", {})
        if "instructions" not in a or "instructions" not in b:
            lines.append(f"{name:<34} error: {a.get('error') or b.get('error')}")
            continue
        same = "identical" if a.get("check") is not None and a.get("check") == b.get("check") \
            else ("DIFFER" if a.get("check") is not None else "not checked")
        if a.get("output_crc32") is not None and b.get("output_crc32") is not None:
            same += " (crc " + ("equal" if a["output_crc32"] == b["output_crc32"] else "DIFFERS") + ")"
        lines.append(f"{name:<34} {a['macs']:>11,} {_fmt(a['instructions_per_mac']):>9} "
                     f"{_fmt(b['instructions_per_mac']):>8} "
                     f"{a['instructions'] / b['instructions']:>8.2f}  {same}"
                     f"  {a['flash_bytes']:,} / {b['flash_bytes']:,} "
                     f"({b['flash_bytes'] - a['flash_bytes']:+,})")
        kinds_seen += [k for k in a.get("layer_kinds", {}) if k not in kinds_seen]
    kinds = [k for k in KIND_ORDER if k in kinds_seen] + [k for k in kinds_seen if k not in KIND_ORDER]
    lines += ["", "Per layer kind, instructions per MAC, cmsis-nn -> tinyml", "",
              f"{'model':<34} " + " ".join(f"{k:>19}" for k in kinds)]
    for name, entry in results.items():
        a, b = entry.get("cmsis-nn", {}), entry.get("tinyml", {})
        if "layer_kinds" not in a or "layer_kinds" not in b:
            continue
        cells = [f"{_fmt(_per_mac(a['layer_kinds'].get(k)))} -> {_fmt(_per_mac(b['layer_kinds'].get(k)))}"
                 if k in a["layer_kinds"] else "" for k in kinds]
        lines.append(f"{name:<34} " + " ".join(f"{c:>19}" for c in cells))
    lines += cycle_lines(results, kinds)
    lines += ["", "Layers per kernel with --kernels tinyml:", ""]
    for name, entry in results.items():
        counts: dict[str, int] = {}
        for layer in entry.get("tinyml", {}).get("layers", []):
            if layer["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                counts[layer.get("kernel") or "?"] = counts.get(layer.get("kernel") or "?", 0) + 1
        if counts:
            lines.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    lines += goals(results)
    return lines


def cycle_lines(results: dict, kinds: list[str]) -> list[str]:
    """The cycle estimate of both kernel sets, when the emulation carried it."""
    rows = []
    for name, entry in results.items():
        a, b = entry.get("cmsis-nn", {}), entry.get("tinyml", {})
        if _cycles(a) is None or _cycles(b) is None:
            continue
        ms = [x.get("estimated_ms", {}).get(CACHE) for x in (a, b)]
        rows.append(f"{name:<34} {_cycles(a):>12,} {_cycles(b):>12,} {_fmt(ms[0], 1):>9} "
                    f"{_fmt(ms[1], 1):>8} {_fmt(a['macs'] / _cycles(a), 3):>9} "
                    f"{_fmt(b['macs'] / _cycles(b), 3):>8} {_cycles(a) / _cycles(b):>8.2f}")
    if not rows:
        return ["", "(no cycle estimate: the emulation ran without the instruction-class plugin)"]
    lines = ["", "Estimated cycles (Cortex-M4 timing, nRF52840 at 64 MHz, instruction cache on; "
                 "docs/cycle_model.md), cmsis-nn -> tinyml", "",
             f"{'':<34} {'cycles':>25} {'ms':>18} {'MAC/cycle':>18}",
             f"{'model':<34} {'cmsis-nn':>12} {'tinyml':>12} {'cmsis-nn':>9} {'tinyml':>8} "
             f"{'cmsis-nn':>9} {'tinyml':>8} {'speed-up':>8}"] + rows
    lines += ["", "Per layer kind, estimated cycles per MAC, cmsis-nn -> tinyml", "",
              f"{'model':<34} " + " ".join(f"{k:>19}" for k in kinds)]
    for name, entry in results.items():
        a = _kind_cycles_per_mac(entry.get("cmsis-nn", {}))
        b = _kind_cycles_per_mac(entry.get("tinyml", {}))
        if not a or not b:
            continue
        cells = [f"{_fmt(a.get(k))} -> {_fmt(b.get(k))}" if k in a else "" for k in kinds]
        lines.append(f"{name:<34} " + " ".join(f"{c:>19}" for c in cells))
    return lines


def goals(results: dict) -> list[str]:
    sep, std = (results.get(n, {}) for n in PAIR)
    if "instructions" not in sep.get("cmsis-nn", {}) or "instructions" not in sep.get("tinyml", {}):
        return ["", f"(goals need {PAIR[0]} among the models)"]
    rows = []
    for kernels in KERNEL_SETS:
        s = sep[kernels]
        kinds = s["layer_kinds"]
        row = [_per_mac(kinds.get("depthwise")), _per_mac(kinds.get("first_conv")),
               s["instructions_per_mac"], None]
        if "instructions" in std.get(kernels, {}):
            t = std[kernels]
            row[3] = (s["instructions"] / t["instructions"]) / (s["macs"] / t["macs"])
        rows.append(row)
    lines = ["", f"Goals (issue 11), {PAIR[0]} / {PAIR[1]}:", "",
             f"{'figure':<42} {'issue now':>9} {'goal':>6} {'cmsis-nn':>9} {'tinyml':>8}"]
    for i, (figure, (now, goal)) in enumerate(GOALS.items()):
        lines.append(f"{figure:<42} {now:>9.2f} {goal:>6.2f} {_fmt(rows[0][i]):>9} "
                     f"{_fmt(rows[1][i]):>8}")
    ratios = []  # the same ratio in estimated cycles (no goal: the figures are instructions)
    for kernels in KERNEL_SETS:
        sep_cycles, std_cycles = _cycles(sep.get(kernels, {})), _cycles(std.get(kernels, {}))
        ratios.append(None if not sep_cycles or not std_cycles else
                      (sep_cycles / std_cycles) / (sep[kernels]["macs"] / std[kernels]["macs"]))
    if None not in ratios:
        lines.append(f"{'sep/std estimated cycles ÷ MACs':<42} {'':>9} {'':>6} "
                     f"{_fmt(ratios[0]):>9} {_fmt(ratios[1]):>8}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tflite", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("out"), help="tinyml run's output folder")
    parser.add_argument("--tflm-dir", default=None)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-check", action="store_true", help="skip the output comparison")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    paths = args.tflite or sorted((args.out / "models").glob("*/*.tflite"))
    if not paths:
        print(f"no models: pass .tflite files or run `tinyml run --out {args.out}` first",
              file=sys.stderr)
        return 2
    try:
        emu_tools.require_tools()
        emu_tools.resolve_tflm_dir(args.tflm_dir)
    except PipelineError as exc:
        print(f"benchmarks/kernels.py: {exc}", file=sys.stderr)
        return 2
    results = measure(paths, args.tflm_dir, args.runs, not args.no_check)
    print("\n".join(report(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
