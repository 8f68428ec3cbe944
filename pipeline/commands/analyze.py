"""tinyml analyze: any int8 .tflite (float input/output around an int8 graph included), including
ones this project did not build: per-layer MACs, element work, weights, the 32-bit arena and the
board's fit verdict (the same `tinyml firmware` gives)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from pipeline import driver
from pipeline.analysis.fit import check_fit
from pipeline.board import DEFAULT_BOARD, load_board
from pipeline.commands.options import add_measurements_argument
from pipeline.errors import ModelError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tflite", type=Path, help="an int8 .tflite file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-arena", action="store_true", help="skip the arena prediction (and so the fit verdict's RAM check)"
    )
    parser.add_argument("--board", default=DEFAULT_BOARD, help="target board (pipeline/boards/*.toml)")
    add_measurements_argument(parser)


def analyze(
    path: Path, with_arena: bool = True, board_key: str = DEFAULT_BOARD, measurements: Path | None = None
) -> dict:

    board = load_board(board_key)
    analysis = driver.analyze_path(path, board, measurements)
    tflite = analysis.tflite
    result = {
        "name": analysis.name,
        "file": str(path),
        "sha256": analysis.sha256,
        "flash_bytes": analysis.model_bytes,
        "weights_bytes": tflite.weights_bytes,
        "total_macs": tflite.total_macs,
        "params": tflite.params,
        "bias_params": tflite.bias_params,
        "element_ops": sum(layer.element_ops for layer in tflite.layers),
        "ops": list(tflite.ops),
        "inputs": [asdict(t) for t in tflite.inputs],
        "outputs": [asdict(t) for t in tflite.outputs],
        "layers": [asdict(layer) for layer in tflite.layers],
        "board": board.key,
    }
    if with_arena:
        prediction, plan = analysis.arena, analysis.arena_plan
        verdict = analysis.fit(board)
        result.update(
            {
                "arena_predicted_bytes": prediction.predicted_bytes,
                "arena_head_bytes": prediction.head_bytes,
                "arena_tail_bytes": prediction.tail_bytes,
                "arena_required_bytes": prediction.required_bytes,
                "arena_unmodelled_ops": list(prediction.unmodelled_ops),
                "arena_source": plan.source,
                "arena_reserved_bytes": plan.reserved_bytes,
                "arena_margin_bytes": plan.margin_bytes,
            }
        )
    else:
        verdict = check_fit(board, analysis.model_bytes, 0)
    result["fits"] = verdict.fits
    result["fit_reasons"] = list(verdict.reasons)
    if verdict.fits and analysis.tflm_problem:  # as `tinyml firmware`: the fit first, then TFLM's limits
        raise ModelError(str(path), analysis.tflm_problem)
    return result


def render(result: dict) -> str:
    lines = [
        f"{result['name']}: {result['total_macs']:,} MACs, {result['params']:,} params "
        f"(+{result['bias_params']:,} biases), {result['element_ops']:,} element ops, "
        f"{result['flash_bytes']:,} B flash, {result['weights_bytes']:,} B weights",
        f"ops: {', '.join(result['ops'])}",
    ]
    if "arena_predicted_bytes" in result:
        lines.append(
            f"tensor arena (32-bit TFLM + CMSIS-NN): {result['arena_predicted_bytes']:,} B "
            f"predicted (head {result['arena_head_bytes']:,} B + tail "
            f"{result['arena_tail_bytes']:,} B); firmware reserves "
            f"{result['arena_reserved_bytes']:,} B ({result['arena_source']} + margin)"
        )
        if result["arena_unmodelled_ops"]:
            lines.append(
                f"  persistent data of {', '.join(result['arena_unmodelled_ops'])} not "
                "modelled: run `tinyml emulate` to measure the arena"
            )
    verdict = "fits" if result["fits"] else "does NOT fit"
    lines.append(
        f"board {result['board']}: {verdict}"
        + (f" ({'; '.join(result['fit_reasons'])})" if result["fit_reasons"] else "")
        + ("" if "arena_predicted_bytes" in result else " (flash only: --no-arena)")
    )
    header = (
        f"{'#':>3} {'layer':<28} {'op':<18} {'kind':<15} {'kernel':>6} {'M':>5} {'N':>5} "
        f"{'out HxW':>8} {'MACs':>12} {'params':>9} {'elem ops':>10}"
    )
    lines += ["", header, "-" * len(header)]
    for i, layer in enumerate(result["layers"]):
        kernel = f"{layer['k_h']}x{layer['k_w']}" if layer["k_h"] else ""
        out = f"{layer['h_out']}x{layer['w_out']}" if layer["h_out"] else ""
        lines.append(
            f"{i:>3} {layer['name'][:28]:<28} {layer['op'][:18]:<18} {layer['kind']:<15} "
            f"{kernel:>6} {layer['m'] or '':>5} {layer['n'] or '':>5} {out:>8} "
            f"{layer['macs']:>12,} {layer['params']:>9,} {layer['element_ops']:>10,}"
        )
    lines.append(
        "MACs: K_h*K_w*M*H_out*W_out*N (depthwise K_h*K_w*M*mult*H_out*W_out, fully connected "
        "M*N per row); elem ops: elements an op without weights computes"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    result = analyze(args.tflite, with_arena=not args.no_arena, board_key=args.board, measurements=args.measurements)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0
