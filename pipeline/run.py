"""The orchestrator: model spec -> Keras -> int8 .tflite -> analysis -> TFLM host check -> fit,
one model at a time. A failed model's reason goes into its result; the others go on.
Re-running reuses a model whose spec, data and pipeline version are unchanged."""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path


from pipeline import __version__
from pipeline.analysis import costs
from pipeline.board import Board
from pipeline.errors import PipelineError
from pipeline.analysis.fit import check_fit
from pipeline.native_output import import_tensorflow_quietly
from pipeline.results import (EMULATED_RESULT, HOST_RESULT, MEASURED_RESULT, model_dir, read_json,
                              write_atomic, write_json)
from pipeline.model.specs import ModelSpec


@dataclass(frozen=True)
class RunOptions:
    out: Path
    data: str | None = None   # None: scikit-learn digits
    epochs: int | None = None  # None: each spec's own; 0: no training (benchmarks)
    force: bool = False


def cache_key(spec: ModelSpec, options: RunOptions, data_source: str) -> str:
    text = f"{spec.digest()}|{options.epochs}|{data_source}|{__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def layer_rows(keras_layers, tflite_layers) -> list[dict]:
    """Per layer: the Keras name with the .tflite's counts (checked equal), and for each separable
    block the seed's ratio next to the counted one."""
    rows = [asdict(t) | {"name": k.name} for k, t in zip(keras_layers, tflite_layers)]
    for i, row in enumerate(rows):
        if row["kind"] == "pointwise" and i and rows[i - 1]["kind"] == "depthwise":
            dw = rows[i - 1]
            standard = costs.standard_macs(dw["d_k"], dw["m"], row["n"], row["d_f"])
            row["block_standard_equivalent_macs"] = standard
            row["block_ratio_counted"] = (dw["macs"] + row["macs"]) / standard
            row["block_ratio_formula"] = costs.separable_ratio(dw["d_k"], row["n"])
    return rows


def standard_equivalent_macs(rows: list[dict]) -> int:
    """The network's MACs if every separable block were a standard 3x3 conv."""
    total = 0
    for row in rows:
        if "block_standard_equivalent_macs" in row:
            total += row["block_standard_equivalent_macs"]
        elif row["kind"] != "depthwise":
            total += row["macs"]
    return total


def process_model(spec: ModelSpec, base_data, options: RunOptions, board: Board) -> dict:
    from pipeline.analysis.arena import predict_from_host
    from pipeline.analysis.keras_analysis import keras_layer_costs, match_layers
    from pipeline.model.quantize import quantize_input, quantize_model
    from pipeline.analysis.tflite_model import analyze_tflite_bytes
    from pipeline.analysis.tflm_host import run_tflm_host
    from pipeline.model.train import train_model

    folder = model_dir(options.out, spec.name)
    data = base_data.resized(spec.resolution, spec.channels)
    if data.classes != spec.classes:
        raise PipelineError(f"{spec.name}: classes = {spec.classes} but the data set has {data.classes}: "
                            "set classes to match the data")
    trained = train_model(spec, data, epochs=options.epochs)
    quantized = quantize_model(trained, data)
    analysis = analyze_tflite_bytes(quantized.tflite, spec.name)
    pairs = match_layers(keras_layer_costs(trained.model), list(analysis.layers))
    inp = analysis.inputs[0]
    tflm = run_tflm_host(quantized.tflite, quantize_input(data.x_test, inp.scale, inp.zero_point), spec.name)
    prediction = predict_from_host(tflm.arena, analysis, quantized.tflite)
    verdict = check_fit(board, analysis.model_bytes, prediction.predicted_bytes)
    tflite_path = folder / f"{spec.name}.tflite"
    write_atomic(tflite_path, quantized.tflite)
    rows = layer_rows([p.keras for p in pairs], [p.tflite for p in pairs])
    result = {
        **asdict(spec),
        "status": "ok",
        "board": board.key,
        "macs": analysis.total_macs,
        "params": analysis.params,
        "bias_params": analysis.bias_params,
        "flash_bytes": analysis.model_bytes,
        "weights_bytes": analysis.weights_bytes,
        "arena_bytes_host": tflm.arena.total,
        "arena_bytes_predicted": prediction.predicted_bytes,
        "arena_head_bytes": tflm.arena.head,
        "accuracy_float": trained.accuracy_float,
        "accuracy_int8": quantized.accuracy_int8,
        "tflm_agreement": float((tflm.outputs.argmax(1) == quantized.predictions_int8).mean()),
        "tflm_exact_outputs": float((tflm.outputs == quantized.outputs_int8).all(axis=1).mean()),
        "test_samples": int(len(data.y_test)),
        "fits": verdict.fits,
        "fit_reasons": list(verdict.reasons),
        "ops": list(analysis.ops),
        "standard_equivalent_macs": standard_equivalent_macs(rows),
        "tflite": str(tflite_path),
        "layers": rows,
        "data": data.source,
    }
    result["network_ratio"] = result["macs"] / result["standard_equivalent_macs"]
    return result


def run_zoo(specs: list[ModelSpec], options: RunOptions, board: Board, progress=None) -> list[dict]:
    from pipeline.model.dataset import load_dataset

    # 3: TensorFlow's C++ errors too (its CUDA probe on a CPU-only machine); failures still raise
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    base_data = load_dataset(options.data)
    import_tensorflow_quietly()
    results = []
    for spec in specs:
        folder = model_dir(options.out, spec.name)
        key = cache_key(spec, options, base_data.source)
        cached = read_json(folder / HOST_RESULT)
        if (not options.force and cached and cached.get("cache_key") == key
                and cached.get("status") == "ok" and Path(cached["tflite"]).is_file()):
            results.append(cached)
        else:
            for stale in (EMULATED_RESULT, MEASURED_RESULT):  # they measured the previous model
                (folder / stale).unlink(missing_ok=True)
            try:
                result = process_model(spec, base_data, options, board)
            except PipelineError as exc:
                result = {**asdict(spec), "status": "failed", "error": str(exc)}
            except Exception as exc:  # a TF/Keras failure on one model must not stop the zoo
                result = {**asdict(spec), "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            result["cache_key"] = key
            write_json(folder / HOST_RESULT, result)
            results.append(result)
        if progress is not None:
            progress(spec.name)
    return results
