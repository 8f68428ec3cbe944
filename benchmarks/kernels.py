"""Benchmark (not a test): CMSIS-NN's int8 kernels against the project's (`--kernels tinyml`) on the
emulated Cortex-M4 (QEMU mps2-an386, -icount shift=0: instructions, not cycles), in one run:
instructions per MAC per model and per layer kind for both kernel sets, the firmware's flash for
each (the kernels' flash cost), the estimated milliseconds on every board with a cycle model (the
instruction-class plugin simulating that board's flash and caches: docs/cycle_model.md), the
layers where the project's kernel loses to CMSIS-NN (there must be none), whether the outputs are
identical (the check firmware's output bytes on three inputs, and the benchmark firmware's output
CRC-32), and the targets of issue 21.

    python benchmarks/kernels.py [MODEL.tflite ...] [--out OUT] [--layer-kinds DIR]
                                 [--boards nano33ble,nucleo_l4r5zi] [--tflm-dir DIR] [--json FILE]

Without files: every model of `tinyml run`'s output folder (--out, default ./out). --layer-kinds DIR
adds the layer-kind models of benchmarks/layer_kind_models.py (built into DIR when it holds none).
Models are named by their file's stem: person_detect, vww_96_int8 (MLPerf Tiny), pretrainedResnet_quant
(MLPerf Tiny's ResNet-8) and the standard twins std_* have targets. Needs the TFLM Arduino library
(--tflm-dir or TFLM_ARDUINO_DIR).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.emulator import toolchain as emu_tools  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.kernel_sets import CMSIS_NN, KERNEL_SETS, TINYML  # noqa: E402

CACHE = "cache_on"  # boards run with their flash caches on (docs/cycle_model.md)
# Issue 21's targets: instructions per MAC with --kernels tinyml, and ms on the MLPerf Tiny board.
MODEL_TARGETS = {"person_detect": 1.4, "vww_96_int8": 1.4, "pretrainedResnet_quant": 1.5, "std_*": 1.5}
KIND_TARGET = 3.0
MS_TARGET = ("vww_96_int8", "nucleo_l4r5zi", 150.0)  # beyond it: X-CUBE-AI 9.0's 88.9 ms


def _fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def layer_kinds(path: Path) -> dict[int, str]:
    """The finer layer kind of every CONV_2D / DEPTHWISE_CONV_2D (operator index -> kind), from
    the .tflite's shapes and strides: the kinds issue 21 names."""
    from pipeline.analysis.tflite_model import BUILTIN_NAMES, parsed

    model = parsed(path.read_bytes(), path.name)
    graph = model.subgraphs[0]
    kinds: dict[int, str] = {}
    for index, operator in enumerate(graph.operators or []):
        code = model.operatorCodes[operator.opcodeIndex]
        op = BUILTIN_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        if op == "FULLY_CONNECTED":
            kinds[index] = "fully connected"
        if op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        inp, filt = graph.tensors[operator.inputs[0]].shape, graph.tensors[operator.inputs[1]].shape
        options = operator.builtinOptions
        stride = max(options.strideH or 1, options.strideW or 1)
        if op == "DEPTHWISE_CONV_2D":
            _, k_h, k_w, out_c = filt
            multiplier = out_c // max(inp[3], 1)
            kinds[index] = f"depthwise x{multiplier}" if multiplier > 1 else f"depthwise {k_h}x{k_w}"
            continue
        _, k_h, k_w, in_c = filt
        if in_c <= 3:
            kinds[index] = f"first conv {k_h}x{k_w}"
        elif (k_h, k_w) == (1, 1):
            kinds[index] = "1x1 strided" if stride > 1 else ("1x1 > 256 in" if in_c > 256 else "1x1")
        elif k_h == 1 or k_w == 1:
            kinds[index] = "conv 1xK / Kx1"
        else:
            kinds[index] = f"conv {k_h}x{k_w}"
    return kinds


def measure(paths: list[Path], tflm_dir, boards: list[str], runs: int, check: bool) -> dict:
    """Per model: its layer kinds, and per kernel set the emulation on the first board (with the
    output check), then the estimated ms on each other board (the same firmware, another plugin)."""
    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.board import load_board
    from pipeline.driver import check_emulation_environment, emulate_path
    from pipeline.emulator.output_check import check_outputs
    from pipeline.records import to_plain

    results: dict[str, dict] = {}
    for path in paths:
        entry = results.setdefault(path.stem, {"tflite": str(path), "kinds": layer_kinds(path)})
        for kernels in KERNEL_SETS:
            try:
                first = emulate_path(path, tflm_dir, board=load_board(boards[0]), runs=runs, warmup=1, kernels=kernels)
                entry[kernels] = to_plain(first)
                entry[kernels]["ms"] = {boards[0]: (to_plain(first).get("estimated_ms") or {}).get(CACHE)}
                for key in boards[1:]:
                    other = to_plain(emulate_path(path, tflm_dir, board=load_board(key), runs=1, warmup=1, kernels=kernels))
                    entry[kernels]["ms"][key] = (other.get("estimated_ms") or {}).get(CACHE)
                if check:
                    analysis = analyze_file(path, [load_board()])
                    entry[kernels]["check"] = [
                        c.output_hex for c in check_outputs(analysis, kernels, check_emulation_environment(tflm_dir))
                    ]
            except PipelineError as exc:
                entry[kernels] = {"error": str(exc)}
            shown = entry[kernels].get("instructions", entry[kernels].get("error"))
            print(f"  {path.stem} {kernels}: {shown}", file=sys.stderr, flush=True)
    return results


def _ok(entry: dict) -> bool:
    return all("instructions" in entry.get(k, {}) for k in KERNEL_SETS)


def model_lines(results: dict) -> list[str]:
    lines = [
        "Instructions per MAC (QEMU Cortex-M4), CMSIS-NN -> tinyml",
        "",
        f"{'model':<28} {'MACs':>11} {'cmsis-nn':>9} {'tinyml':>8} {'speed-up':>8}  {'outputs':<28}"
        f"  flash B cmsis-nn / tinyml (kernels' cost)",
    ]
    for name, entry in results.items():
        if not _ok(entry):
            error = entry.get(CMSIS_NN, {}).get("error") or entry.get(TINYML, {}).get("error")
            lines.append(f"{name:<28} error: {error}")
            continue
        a, b = entry[CMSIS_NN], entry[TINYML]
        same = "not checked"
        if a.get("check") is not None:
            same = "identical" if a["check"] == b.get("check") else "DIFFER"
        if a.get("output_crc32") is not None and b.get("output_crc32") is not None:
            same += " (crc " + ("equal" if a["output_crc32"] == b["output_crc32"] else "DIFFERS") + ")"
        lines.append(
            f"{name:<28} {a['macs']:>11,} {_fmt(a['instructions_per_mac']):>9} {_fmt(b['instructions_per_mac']):>8} "
            f"{a['instructions'] / b['instructions']:>8.2f}  {same:<28}  {a['flash_bytes']:,} / {b['flash_bytes']:,} "
            f"({b['flash_bytes'] - a['flash_bytes']:+,})"
        )
    return lines


def kind_figures(results: dict) -> dict[str, dict]:
    """Per layer kind over all models: MACs, instructions of both sets, layers, the kernels that
    ran it with --kernels tinyml."""
    kinds: dict[str, dict] = {}
    for entry in results.values():
        if not _ok(entry):
            continue
        for a, b in zip(entry[CMSIS_NN]["layers"], entry[TINYML]["layers"]):
            kind = entry["kinds"].get(str(a["index"])) or entry["kinds"].get(a["index"])
            if kind is None or not a.get("macs"):
                continue
            figure = kinds.setdefault(kind, {"macs": 0, CMSIS_NN: 0, TINYML: 0, "layers": 0, "kernels": set()})
            figure["macs"] += a["macs"]
            figure[CMSIS_NN] += a["instructions"]
            figure[TINYML] += b["instructions"]
            figure["layers"] += 1
            figure["kernels"].add(b.get("kernel") or "?")
    return kinds


def kind_lines(results: dict) -> list[str]:
    lines = [
        "",
        f"Per layer kind over all models, instructions per MAC (target with tinyml <= {KIND_TARGET})",
        "",
        f"{'kind':<20} {'layers':>6} {'MACs':>12} {'cmsis-nn':>9} {'tinyml':>8}  kernels with --kernels tinyml",
    ]
    for kind, f in sorted(kind_figures(results).items()):
        ours = f[TINYML] / f["macs"]
        mark = "" if ours <= KIND_TARGET or kind == "fully connected" else "  (over target)"
        lines.append(
            f"{kind:<20} {f['layers']:>6} {f['macs']:>12,} {f[CMSIS_NN] / f['macs']:>9.2f} {ours:>8.2f}  "
            f"{', '.join(sorted(f['kernels']))}{mark}"
        )
    return lines


def ms_lines(results: dict, boards: list[str]) -> list[str]:
    lines = ["", f"Estimated ms per inference ({CACHE.replace('_', ' ')}), cmsis-nn -> tinyml", ""]
    lines.append(f"{'model':<28} " + " ".join(f"{b:>24}" for b in boards))
    for name, entry in results.items():
        if not _ok(entry):
            continue
        cells = []
        for board in boards:
            a, b = (entry[k].get("ms", {}).get(board) for k in KERNEL_SETS)
            cells.append(f"{_fmt(a, 1)} -> {_fmt(b, 1)}")
        lines.append(f"{name:<28} " + " ".join(f"{c:>24}" for c in cells))
    return lines


def losing_layers(results: dict) -> list[str]:
    """Layers a project kernel ran in more instructions than CMSIS-NN needed for them."""
    rows = []
    for name, entry in results.items():
        if not _ok(entry):
            continue
        for a, b in zip(entry[CMSIS_NN]["layers"], entry[TINYML]["layers"]):
            if (b.get("kernel") or CMSIS_NN) != CMSIS_NN and b["instructions"] > a["instructions"]:
                kind = entry["kinds"].get(str(a["index"])) or entry["kinds"].get(a["index"]) or a["op"]
                rows.append(
                    f"  {name} #{a['index']} {kind} ({b['kernel']}): {a['instructions']:,} -> {b['instructions']:,} "
                    f"({b['instructions'] / a['instructions'] - 1:+.1%})"
                )
    return ["", "Layers where the project's kernel loses to CMSIS-NN (must be none):", ""] + (rows or ["  none"])


def target_lines(results: dict, boards: list[str]) -> list[str]:
    lines = ["", "Targets (issue 21), --kernels tinyml:", ""]
    for name, entry in results.items():
        pattern = name if name in MODEL_TARGETS else ("std_*" if name.startswith("std_") else None)
        if pattern is None or not _ok(entry):
            continue
        value = entry[TINYML]["instructions_per_mac"]
        goal = MODEL_TARGETS[pattern]
        lines.append(f"  {name:<28} {value:.2f} instructions/MAC (target <= {goal}): {'met' if value <= goal else 'NOT met'}")
    model, board, goal = MS_TARGET
    ms = results.get(model, {}).get(TINYML, {}).get("ms", {}).get(board)
    if ms is not None:
        lines.append(f"  {model} on {board}: {ms:.1f} ms (target < {goal:g}): {'met' if ms < goal else 'NOT met'}")
    elif board not in boards or model not in results:
        lines.append(f"  ({model} on {board}: give the model and --boards with {board})")
    return lines


def report(results: dict, boards: list[str]) -> list[str]:
    return (
        model_lines(results)
        + kind_lines(results)
        + ms_lines(results, boards)
        + losing_layers(results)
        + target_lines(results, boards)
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tflite", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("out"), help="tinyml run's output folder")
    parser.add_argument("--layer-kinds", type=Path, default=None, help="add benchmarks/layer_kind_models.py's models")
    parser.add_argument("--boards", default="nano33ble,nucleo_l4r5zi", help="boards for the ms estimate, comma-separated")
    parser.add_argument("--tflm-dir", default=None)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-check", action="store_true", help="skip the output comparison")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    paths = list(args.tflite)
    if args.layer_kinds is not None:
        if not sorted(args.layer_kinds.glob("*.tflite")):
            import layer_kind_models

            layer_kind_models.build(args.layer_kinds)
        paths += sorted(args.layer_kinds.glob("*.tflite"))
    if not paths:
        paths = sorted((args.out / "models").glob("*/*.tflite"))
    if not paths:
        print(f"no models: pass .tflite files, --layer-kinds DIR, or run `tinyml run --out {args.out}` first", file=sys.stderr)
        return 2
    boards = [b for b in args.boards.split(",") if b]
    try:
        from pipeline.board import load_board

        for board in boards:
            load_board(board)
        emu_tools.require_tools()
        emu_tools.resolve_tflm_dir(args.tflm_dir)
    except PipelineError as exc:
        print(f"benchmarks/kernels.py: {exc}", file=sys.stderr)
        return 2
    results = measure(paths, args.tflm_dir, boards, args.runs, not args.no_check)
    print("\n".join(report(results, boards)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=sorted) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
