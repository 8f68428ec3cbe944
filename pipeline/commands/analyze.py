"""tinyml analyze: any int8 .tflite, including ones this project did not build."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", type=Path, help="an int8 .tflite file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-arena", action="store_true", help="skip the TFLM arena measurement")


def analyze(path: Path, with_arena: bool = True) -> dict:
    from pipeline.analysis.tflite_model import analyze_tflite

    analysis = analyze_tflite(path)
    if not analysis.is_int8:
        types = ", ".join(f"{t.name}: {t.dtype}" for t in analysis.inputs + analysis.outputs)
        raise PipelineError(f"{path} is not an int8 model ({types}): convert it with full-integer "
                            "quantization (int8 input and output)")
    from pipeline.codegen.generate import check_ops_supported

    check_ops_supported(analysis.ops)  # before TFLM's host interpreter would fail on it
    result = {
        "name": analysis.name, "file": str(path), "sha256": analysis.sha256,
        "flash_bytes": analysis.model_bytes, "weights_bytes": analysis.weights_bytes,
        "total_macs": analysis.total_macs, "params": analysis.params, "bias_params": analysis.bias_params,
        "ops": list(analysis.ops),
        "inputs": [asdict(t) for t in analysis.inputs], "outputs": [asdict(t) for t in analysis.outputs],
        "layers": [asdict(layer) for layer in analysis.layers],
    }
    if with_arena:
        from pipeline.analysis.arena import predict_arena

        prediction = predict_arena(path.read_bytes(), analysis.name)
        result["arena_bytes_host"] = prediction.host_bytes
        result["arena_bytes_predicted"] = prediction.predicted_bytes
    return result


def render(result: dict) -> str:
    lines = [f"{result['name']}: {result['total_macs']:,} MACs, {result['params']:,} params "
             f"(+{result['bias_params']:,} biases), {result['flash_bytes']:,} B flash, "
             f"{result['weights_bytes']:,} B weights",
             f"ops: {', '.join(result['ops'])}"]
    if "arena_bytes_host" in result:
        lines.append(f"tensor arena: {result['arena_bytes_host']:,} B on the host (64-bit), "
                     f"{result['arena_bytes_predicted']:,} B predicted for a 32-bit MCU")
    header = f"{'#':>3} {'layer':<28} {'op':<18} {'kind':<15} {'D_K':>3} {'M':>5} {'N':>5} {'D_F':>4} {'MACs':>12} {'params':>9}"
    lines += ["", header, "-" * len(header)]
    for i, layer in enumerate(result["layers"]):
        lines.append(f"{i:>3} {layer['name'][:28]:<28} {layer['op'][:18]:<18} {layer['kind']:<15} "
                     f"{layer['d_k']:>3} {layer['m']:>5} {layer['n']:>5} {layer['d_f']:>4} "
                     f"{layer['macs']:>12,} {layer['params']:>9,}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    result = analyze(args.tflite, with_arena=not args.no_arena)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0
