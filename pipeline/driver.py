"""The orchestrator: model spec -> Keras -> int8 .tflite -> analysis -> TFLM host check -> fit,
one model at a time. A failed model's stage and reason go into its folder; the others go on.

Re-running reuses a model whose cache key is unchanged: the spec, the epochs, a digest of the
data's contents, the board and the pipeline's versions. A failed attempt never replaces the last
good result; `run.json` in the output folder names this run's selection for the report."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from pipeline.analysis import costs
from pipeline.analysis.fit import fit_verdict, plan_model_arena
from pipeline.board import Board
from pipeline.errors import PipelineError
from pipeline.model.specs import ModelSpec
from pipeline.native_output import import_tensorflow_quietly
from pipeline.provenance import pipeline_versions
from pipeline.files import write_atomic
from pipeline.store import (EMULATED_RESULT, FAILED_RESULT, HOST_RESULT, MEASURED_RESULT, RUN_MANIFEST,
                              MEASUREMENTS, measurement_store, model_dir, read_json, relative_tflite,
                              write_json)


@dataclass(frozen=True)
class RunOptions:
    out: Path
    data: str | None = None   # None: scikit-learn digits
    epochs: int | None = None  # None: each spec's own; 0: no training (benchmarks)
    force: bool = False


def effective_epochs(spec: ModelSpec, options: RunOptions) -> int:
    return spec.epochs if options.epochs is None else options.epochs


def board_digest(board: Board) -> str:
    return hashlib.sha256(json.dumps(asdict(board), sort_keys=True).encode()).hexdigest()[:16]


def cache_key(spec: ModelSpec, epochs: int, data_digest: str, board: Board, versions: dict) -> str:
    text = json.dumps([spec.digest(), epochs, data_digest, board_digest(board), versions], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StageFailure(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


@contextmanager
def stage(name: str):
    """Names the stage a failure came from; a TF/Keras failure on one model must not stop the zoo."""
    try:
        yield
    except StageFailure:
        raise
    except PipelineError as exc:
        raise StageFailure(name, str(exc)) from None
    except Exception as exc:  # noqa: BLE001
        raise StageFailure(name, f"{type(exc).__name__}: {exc}") from None


def layer_rows(keras_layers, tflite_layers) -> list[dict]:
    """Per layer: the Keras name with the .tflite's counts (checked equal), and for each separable
    block the seed's formula: its standard equivalent and 1/N + 1/D_K^2."""
    rows = [asdict(t) | {"name": k.name} for k, t in zip(keras_layers, tflite_layers)]
    for i, row in enumerate(rows):
        if row["kind"] == "pointwise" and i and rows[i - 1]["kind"] == "depthwise" and rows[i - 1]["d_k"]:
            dw = rows[i - 1]
            row["block_standard_equivalent_macs"] = costs.standard_macs(dw["d_k"], dw["m"], row["n"], row["d_f"])
            row["block_separable_formula_macs"] = costs.separable_macs(dw["d_k"], dw["m"], row["n"], row["d_f"])
            row["block_ratio_formula"] = costs.separable_ratio(dw["d_k"], row["n"])
    return rows


def standard_equivalent_macs(rows: list[dict]) -> int:
    """The network's MACs if every separable block were a standard conv (the seed's formula)."""
    total = 0
    for row in rows:
        if "block_standard_equivalent_macs" in row:
            total += row["block_standard_equivalent_macs"]
        elif row["kind"] != "depthwise":
            total += row["macs"]
    return total


def blocks_formula_ratio(rows: list[dict]) -> float | None:
    """The seed's formula over the separable blocks only: sum M*D_F^2*(D_K^2+N) / sum D_K^2*M*N*D_F^2."""
    blocks = [r for r in rows if "block_standard_equivalent_macs" in r]
    if not blocks:
        return None
    return (sum(r["block_separable_formula_macs"] for r in blocks)
            / sum(r["block_standard_equivalent_macs"] for r in blocks))


def process_model(spec: ModelSpec, base_data, epochs: int, board: Board,
                  measurements=None) -> tuple[dict, bytes]:
    """(result, .tflite bytes) of one model; nothing is written here."""
    from pipeline.analysis.arena import predict_arena
    from pipeline.analysis.keras_analysis import keras_layer_costs, match_layers
    from pipeline.analysis.tflite_model import analyze_tflite_bytes
    from pipeline.analysis.tflm_host import run_tflm_host
    from pipeline.model.quantize import quantize_input, quantize_model
    from pipeline.model.train import train_model

    with stage("data"):
        data = base_data.resized(spec.resolution, spec.channels)
    with stage("train"):
        trained = train_model(spec, data, epochs=epochs)
    with stage("quantize"):
        quantized = quantize_model(trained, data)
    with stage("analyze"):
        analysis = analyze_tflite_bytes(quantized.tflite, spec.name)
        pairs = match_layers(keras_layer_costs(trained.model), list(analysis.layers))
    with stage("arena"):
        prediction = predict_arena(quantized.tflite, spec.name)
        # The verdict `tinyml firmware` and `tinyml analyze` give: the reserved arena, margin
        # included, found before TFLM runs (it can abort): a model that does not fit says so first.
        plan = plan_model_arena(quantized.tflite, spec.name,
                                recorded_bytes=measurements.arena_bytes(analysis.sha256) if measurements else None)
        verdict = fit_verdict(board, analysis.model_bytes, plan)
    with stage("tflm"):
        inp = analysis.inputs[0]
        try:
            tflm = run_tflm_host(quantized.tflite, quantize_input(data.x_test, inp.scale, inp.zero_point),
                                 spec.name)
        except PipelineError as exc:
            if verdict.fits:
                raise
            raise PipelineError(f"{spec.name}: does not fit the {board.name}: {'; '.join(verdict.reasons)} "
                                f"(TFLM's host check failed too: {exc})") from None
    rows = layer_rows([p.keras for p in pairs], [p.tflite for p in pairs])
    first = rows[0] if rows and rows[0]["kind"] == "conv" else None
    result = {
        **asdict(spec),
        "epochs": trained.epochs,
        "status": "ok",
        "board": board.key,
        "macs": analysis.total_macs,
        "params": analysis.params,
        "bias_params": analysis.bias_params,
        "flash_bytes": analysis.model_bytes,
        "weights_bytes": analysis.weights_bytes,
        "arena_bytes_host": tflm.arena.total,
        "arena_bytes_predicted": prediction.predicted_bytes,
        "arena_head_bytes": prediction.head_bytes,
        "arena_reserved_bytes": plan.reserved_bytes,
        "accuracy_float": trained.accuracy_float,
        "accuracy_int8": quantized.accuracy_int8,
        "tflm_agreement": float((tflm.outputs.argmax(1) == quantized.predictions_int8).mean()),
        "tflm_exact_outputs": float((tflm.outputs == quantized.outputs_int8).all(axis=1).mean()),
        "train_samples": int(len(data.y_train)),
        "test_samples": int(len(data.y_test)),
        "fits": verdict.fits,
        "fit_reasons": list(verdict.reasons),
        "ops": list(analysis.ops),
        "first_conv_macs": first["macs"] if first else 0,
        "classifier_macs": sum(r["macs"] for r in rows if r["kind"] == "fully_connected"),
        "standard_equivalent_macs": standard_equivalent_macs(rows),
        "blocks_formula_ratio": blocks_formula_ratio(rows),
        "tflite": relative_tflite(spec.name),
        "tflite_sha256": analysis.sha256,
        "layers": rows,
        "data": data.source,
        "data_digest": data.digest,
    }
    result["network_ratio"] = result["macs"] / result["standard_equivalent_macs"]
    return result, quantized.tflite


def _cached(folder: Path, out: Path, key: str, name: str) -> dict | None:
    cached = read_json(folder / HOST_RESULT)
    if not cached or cached.get("cache_key") != key or cached.get("status") != "ok":
        return None
    tflite = Path(out) / cached.get("tflite", "")
    if not tflite.is_file():
        return None
    if cached.get("tflite_sha256"):
        if hashlib.sha256(tflite.read_bytes()).hexdigest() != cached["tflite_sha256"]:
            return None  # an interrupted rebuild replaced the .tflite
    return cached


def _store_good(folder: Path, name: str, result: dict, tflite: bytes) -> None:
    write_atomic(folder / f"{name}.tflite", tflite)
    for stale in (EMULATED_RESULT, MEASURED_RESULT):  # they measured the previous model
        (folder / stale).unlink(missing_ok=True)
    write_json(folder / HOST_RESULT, result)
    (folder / FAILED_RESULT).unlink(missing_ok=True)


def check_classes(specs: list[ModelSpec], classes: int, source: str) -> None:
    pinned = [s for s in specs if s.classes is not None and s.classes != classes]
    if pinned:
        names = ", ".join(f"{s.name} ({s.classes})" for s in pinned)
        raise PipelineError(f"the data ({source}) has {classes} classes but the zoo pins classes for "
                            f"{names}: remove `classes` from those models to follow the data, or "
                            "use data with that many classes")


def load_run_data(specs: list[ModelSpec], options: RunOptions):
    """The data set, checked against the zoo: a bad --data fails before anything else runs."""
    from pipeline.model.dataset import load_dataset

    data = load_dataset(options.data)
    check_classes(specs, data.classes, data.source)
    return data


def run_zoo(specs: list[ModelSpec], options: RunOptions, board: Board,
            progress: Callable[[str, bool], None] | None = None,
            warn: Callable[[str], None] | None = None, data=None) -> list[dict]:
    """Every model of `specs` (built, or reused from the cache); `progress(name, finished)` is
    called when a model starts and when it is done. `data`: from load_run_data (else loaded)."""
    from pipeline.model.dataset import CALIBRATION_SAMPLES

    warn = warn or (lambda text: print(f"tinyml run: warning: {text}", file=sys.stderr))
    # 3: TensorFlow's C++ errors too (its CUDA probe on a CPU-only machine); failures still raise
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    base_data = data if data is not None else load_run_data(specs, options)
    for text in base_data.warnings():
        warn(text)
    specs = [s.for_data(base_data.classes) for s in specs]
    versions = pipeline_versions()
    keys = {s.name: cache_key(s, effective_epochs(s, options), base_data.digest, board, versions) for s in specs}
    results, tensorflow_ready = [], False
    for spec in specs:
        if progress is not None:
            progress(spec.name, False)
        folder = model_dir(options.out, spec.name)
        key = keys[spec.name]
        cached = None if options.force else _cached(folder, options.out, key, spec.name)
        if cached is not None:
            results.append(cached)
        else:
            epochs = effective_epochs(spec, options)
            if not tensorflow_ready:  # only when a model is built: a cached run stays quick
                import_tensorflow_quietly()
                tensorflow_ready = True
            try:
                result, tflite = process_model(spec, base_data, epochs, board,
                                               measurement_store(folder=Path(options.out) / MEASUREMENTS))
                result["cache_key"] = key
                _store_good(folder, spec.name, result, tflite)
            except StageFailure as exc:
                result = {**asdict(spec), "epochs": epochs, "status": "failed", "stage": exc.stage,
                          "error": str(exc), "board": board.key, "cache_key": key}
                write_json(folder / FAILED_RESULT, result)
            results.append(result)
        if progress is not None:
            progress(spec.name, True)
    write_json(Path(options.out) / RUN_MANIFEST, {
        "models": [{**asdict(s), "epochs": effective_epochs(s, options), "cache_key": keys[s.name]}
                   for s in specs],
        "board": board.key,
        "epochs_override": options.epochs,
        "data": base_data.provenance(),
        "calibration_samples": CALIBRATION_SAMPLES,
        "versions": versions,
    })
    return results
