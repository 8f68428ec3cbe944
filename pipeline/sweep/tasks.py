"""The work of one point, as run in a worker process (the local pool's or a Ray worker): each task
takes plain data and returns a TaskResult of plain data, never writes into the sweep's folder (the
driver process is the only writer) and never raises for a failure of its point: the stage and the
reason come back instead, and the sweep goes on.

- prune:   the untrained int8 export, analysed: MACs, params, exact flash and arena, fit per board;
- train:   train, quantize, accuracies, TFLM's host check (the stages of `tinyml run`);
- emulate: the trained .tflite in QEMU's Cortex-M4 (the firmware build tree of the user cache, one
           TFLM library for every point), the cycle estimate per board that has a cycle model, and
           the same firmware verified on the test split against TFLite's reference kernels (its
           own accuracy; a difference is the point's failure, as in `tinyml run`).

A worker runs TensorFlow with one thread (set before TensorFlow is imported): the pool's
parallelism is its processes."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import driver
from pipeline.analysis.model_analysis import analyze_model
from pipeline.board import Board, load_board
from pipeline.emulator import toolchain
from pipeline.emulator.build import default_work_dir
from pipeline.emulator.qemu import EMULATOR_BOARD
from pipeline.errors import PipelineError
from pipeline.model.specs import ModelSpec
from pipeline.native_output import import_tensorflow_quietly
from pipeline.verify.compare import divergence

PRUNE, TRAIN, EMULATE = "prune", "train", "emulate"
KINDS = (PRUNE, TRAIN, EMULATE)
PRUNE_CALIBRATION_SAMPLES = 8  # sizes do not depend on the calibration: a few real samples do
PRUNE_STATISTICS_BATCHES = 4  # BatchNorm statistics of the untrained export (prune's docstring)
THREAD_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
BUILD_LOCK = "sweep-build.lock"


@dataclass(frozen=True)
class TaskResult:
    ok: bool
    values: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None  # the failed stage
    reason: str | None = None
    seconds: float = 0.0
    tflite: bytes | None = field(default=None, repr=False)  # train: the int8 model


def failure(stage: str, reason: str, seconds: float = 0.0) -> TaskResult:
    return TaskResult(False, stage=stage, reason=reason, seconds=seconds)


_tensorflow_ready = False


def one_thread_tensorflow() -> None:
    """TensorFlow with one intra- and one inter-op thread, imported once per process."""
    global _tensorflow_ready
    if _tensorflow_ready:
        return
    for name, value in THREAD_ENV.items():
        os.environ[name] = value
    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised by an earlier import: the environment holds
        pass
    _tensorflow_ready = True


def fresh_keras_session() -> None:
    """Keras names a model's layers after the models built before it in the process ('m_1',
    'm_2'), and those names are strings in the .tflite: without a fresh session a point's flash
    would depend on what its worker built before (and Keras' memory would grow)."""
    import keras

    keras.backend.clear_session()


def _analysis_figures(tflite: bytes, name: str, boards: list[Board]) -> dict:
    analysis = analyze_model(tflite, f"{name}.tflite", boards, name=name)
    return {
        "macs": analysis.tflite.total_macs,
        "params": analysis.tflite.params,
        "flash_bytes": analysis.tflite.model_bytes,
        "arena_bytes": analysis.arena.predicted_bytes,
        "arena_reserved_bytes": analysis.arena_plan.reserved_bytes,
        "fits": {key: (v.fits, tuple(v.reasons)) for key, v in analysis.fits.items()},
    }


def _like_trained(model) -> None:
    """Weights still constant as initialised (biases and BatchNorm's beta at 0, its gamma at 1)
    get the small spread any training gives them: the converter leaves an all-zero bias out of
    the file and folds a multiplication by one away, which changes tensors and their names."""
    import numpy as np

    rng = np.random.default_rng(0)
    for variable in model.weights:
        value = variable.numpy()
        if value.size and np.all(value == value.flat[0]):
            variable.assign((value + rng.normal(0.0, 1e-3, value.shape)).astype(value.dtype))


def prune(payload: dict, dataset, progress: Callable[[str], None]) -> TaskResult:
    """The untrained int8 export of the spec (the `--epochs 0` path, shortened) and its analysis:
    no training, no accuracy. BatchNorm's statistics come from a few batches of the data, as
    `--epochs 0` takes them from fifty: with the initial ones every folded bias is zero, the
    converter shares their buffers and the file comes out smaller than the trained model's; an
    all-zero Dense bias is left out of the file altogether (_like_trained)."""
    from pipeline.model.keras_models import build_keras_model, export_model
    from pipeline.model.quantize import convert_keras_int8
    from pipeline.model.train import BATCH_SIZE

    spec: ModelSpec = payload["spec"]
    with driver.stage(PRUNE):
        one_thread_tensorflow()
        fresh_keras_session()
        data = dataset.resized(spec.resolution, spec.channels)
        model = build_keras_model(spec)
        for i in range(PRUNE_STATISTICS_BATCHES):
            start = (i * BATCH_SIZE) % len(data.x_train)
            model(data.x_train[start : start + BATCH_SIZE], training=True)
        _like_trained(model)
        samples = data.x_train[:PRUNE_CALIBRATION_SAMPLES]

        def representative():
            for i in range(len(samples)):
                yield [samples[i : i + 1]]

        tflite = convert_keras_int8(export_model(model, spec), representative)
        return TaskResult(True, _analysis_figures(tflite, spec.name, payload["boards"]))


def train(payload: dict, dataset, progress: Callable[[str], None]) -> TaskResult:
    """The host stages of `tinyml run` on one spec: its HostResult's figures and the .tflite."""
    spec: ModelSpec = payload["spec"]
    boards: list[Board] = payload["boards"]
    one_thread_tensorflow()
    fresh_keras_session()
    result, tflite = driver.build_model(spec, dataset, spec.epochs, boards[0], payload["key"], started=progress)
    with driver.stage(driver.Stage.ANALYZE):
        figures = _analysis_figures(tflite, spec.name, boards)
    values = {
        **figures,
        "accuracy_float": result.accuracy_float,
        "accuracy_int8": result.accuracy_int8,
        "tflite_sha256": result.tflite_sha256,
        "host_arena_bytes": result.arena.host_64bit_bytes,
    }
    return TaskResult(True, values, tflite=tflite)


@contextmanager
def build_lock(work: Path):
    """One build at a time in the emulator's work folder of this machine: the CMake tree (and its
    TFLM library) is shared by every point and every worker; QEMU runs outside it."""
    work.mkdir(parents=True, exist_ok=True)
    with open(work / BUILD_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tflm_root(tflm_dir: str | None) -> Path:
    if tflm_dir and Path(tflm_dir).is_dir():
        return toolchain.resolve_tflm_dir(tflm_dir)
    return toolchain.resolve_tflm_dir(None)  # a node of a cluster: its own $TFLM_ARDUINO_DIR or libdeps


def emulate(payload: dict, dataset, progress: Callable[[str], None]) -> TaskResult:
    """The .tflite in QEMU with the chosen kernel set; estimated ms for each board with a cycle
    model (one QEMU run per such board: the plugin simulates that board's flash cache)."""
    name: str = payload["name"]
    boards: list[Board] = payload["boards"]
    with driver.stage(driver.Stage.EMULATE):
        root = _tflm_root(payload.get("tflm_dir"))
        analysis = analyze_model(payload["tflite"], f"{name}.tflite", [*boards, load_board(EMULATOR_BOARD)], name=name)
        timed = [b for b in boards if b.memory is not None] or boards[:1]
        work = default_work_dir()
        values: dict[str, Any] = {"est_ms": {}, "estimate_skipped": {}}
        samples = payload.get("verify_samples")
        inputs = None
        if samples != 0 and dataset is not None:
            with driver.stage(driver.Stage.VERIFY):
                inputs = driver.verify_inputs(
                    None, analysis, driver.VerifyRequest(samples=samples), dataset, trained_on=True
                )
        for index, board in enumerate(timed):
            record = driver.emulate_analysis(
                analysis,
                root,
                board,
                verify=inputs if index == 0 else None,  # one firmware per kernel set: its outputs once
                kernels=payload["kernels"],
                work_dir=work,
                build_lock=lambda: build_lock(work),
            )
            if record.verify is not None:
                values.update(
                    accuracy_firmware=record.verify.accuracy_firmware,
                    bit_exact_share=record.verify.bit_exact_share,
                    verify_differs=divergence(record.verify),
                )
            ms = record.estimated_ms
            values["est_ms"][board.key] = ms.cache_on if ms is not None else None
            if record.estimate_skipped:
                values["estimate_skipped"][board.key] = record.estimate_skipped
            values.update(instructions=record.instructions, arena_used_bytes=record.arena_used_bytes)
        for board in boards:
            if board.memory is None:
                values["estimate_skipped"][board.key] = f"{board.key} has no [memory] timing: no cycle estimate"
        return TaskResult(True, values)


TASKS: dict[str, Callable[[dict, Any, Callable[[str], None]], TaskResult]] = {
    PRUNE: prune,
    TRAIN: train,
    EMULATE: emulate,
}


def run_task(kind: str, payload: dict, dataset, progress: Callable[[str], None] = lambda stage: None) -> TaskResult:
    """One task, timed; a failure of the point is a TaskResult, never an exception (the stage a
    PipelineError or any other error came from, and its one line)."""
    start = time.monotonic()
    progress(kind)
    try:
        result = TASKS[kind](payload, dataset, progress)
    except driver.StageFailure as exc:
        return failure(exc.stage, str(exc), time.monotonic() - start)
    except PipelineError as exc:
        return failure(kind, str(exc), time.monotonic() - start)
    except Exception as exc:  # noqa: BLE001 - a point's failure, whatever it is, is recorded
        return failure(kind, f"{type(exc).__name__}: {exc}", time.monotonic() - start)
    return TaskResult(result.ok, result.values, result.stage, result.reason, time.monotonic() - start, result.tflite)
