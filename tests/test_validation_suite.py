"""Models nobody here tuned to, through analyze, firmware and (with the TFLM library) emulate.

In CI: Keras look-alikes of MLPerf Tiny's four reference models and toys with rectangular and
dilated kernels, depth multipliers, float input/output (tests/suite_models.py): MACs must equal the
count from the Keras layer configs, analyze's verdict must be firmware's, and in the emulator the
predicted arena must be within 1 % of what TFLM uses, with no allocation failure.
Locally, TINYML_SUITE_MODELS (paths of .tflite files or folders, separated by the OS path
separator, e.g. the MLPerf Tiny reference models and TFLM's examples) adds real files.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import suite_models
from pipeline.board import load_board
from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]
TFLM_DIR = os.environ.get("TFLM_ARDUINO_DIR")
needs_tflm = pytest.mark.skipif(not TFLM_DIR, reason="needs the TFLM Arduino library (TFLM_ARDUINO_DIR)")
# Ops each look-alike must exercise, so a converter change cannot silently drop the coverage.
EXPECTED_OPS = {
    "vww_mobilenet_v1_025": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "SOFTMAX"},
    "kws_ds_cnn": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"},
    "resnet8_cifar10": {"CONV_2D", "ADD", "AVERAGE_POOL_2D", "FULLY_CONNECTED"},
    "ad_autoencoder": {"QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"},
    "toy_rect_dilated": {"CONV_2D", "PAD", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MEAN", "LOGISTIC"},
    "toy_branches": {"QUANTIZE", "CONCATENATION", "MUL", "ADD", "DEQUANTIZE"},
}


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, tuple[Path, int]]:
    folder = tmp_path_factory.mktemp("suite")
    built = {}
    for name in suite_models.SUITE:
        data, macs = suite_models.build(name)
        path = folder / f"{name}.tflite"
        path.write_bytes(data)
        built[name] = (path, macs)
    return built


def local_models() -> list[Path]:
    paths = []
    for entry in filter(None, os.environ.get("TINYML_SUITE_MODELS", "").split(os.pathsep)):
        entry = Path(entry)
        paths += sorted(entry.glob("*.tflite")) if entry.is_dir() else [entry]
    return paths


def test_macs_equal_the_keras_count_and_ops_are_covered(suite):
    from pipeline.commands.analyze import analyze

    for name, (path, macs) in suite.items():
        result = analyze(path)
        assert result["total_macs"] == macs, name
        assert EXPECTED_OPS[name] <= set(result["ops"]), (name, result["ops"])
        assert result["arena_predicted_bytes"] > 0 and not result["arena_unmodelled_ops"], name


def test_mlperf_macs_are_their_published_counts(suite):
    # MLPerf Tiny's own figures for the reference models: VWW 7.49 M, KWS 2.66 M, IC 12.5 M, AD 0.26 M
    published = {"vww_mobilenet_v1_025": 7.49e6, "kws_ds_cnn": 2.66e6, "resnet8_cifar10": 12.5e6,
                 "ad_autoencoder": 0.264e6}
    for name, figure in published.items():
        assert suite[name][1] == pytest.approx(figure, rel=0.01), name


def test_host_tflm_runs_every_suite_model_and_the_planner_replay_matches_it(suite):
    """TFLM's host interpreter (reference kernels, no scratch buffers) must not abort on the
    calibration, and its head must be the greedy planner replayed over the same buffers."""
    import numpy as np

    from pipeline.analysis.arena import greedy_plan_bytes, planner_buffers
    from pipeline.analysis.tflite_model import read_model
    from pipeline.analysis.tflm_host import run_tflm_host

    for name, (path, _) in suite.items():
        data = path.read_bytes()
        host = run_tflm_host(data, np.zeros((0,), np.int8), name).arena
        assert greedy_plan_bytes(planner_buffers(read_model(data, name), [])) == host.head, name


def test_analyze_and_firmware_give_one_verdict(suite, tmp_path):
    from pipeline.driver import generate_sources
    from pipeline.commands.analyze import analyze

    board = load_board("nano33ble")
    for name, (path, _) in suite.items():
        result = analyze(path, measurements=tmp_path / "no-measurements")
        try:
            generated = generate_sources(path, board, tmp_path / name, measurements=tmp_path / "no-measurements")
        except PipelineError as exc:
            assert not result["fits"] and "does not fit" in str(exc), name
            continue
        assert result["fits"], name
        assert generated.arena.reserved_bytes == result["arena_reserved_bytes"], name
        header = (generated.out_dir / "model_data.h").read_text()
        assert f"#define TINYML_ARENA_BYTES {generated.arena.reserved_bytes}\n" in header


def tinyml(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TFLM_ARDUINO_DIR", None)
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env)


def test_one_bad_model_one_line_from_every_command(tmp_path):
    """The same first line from analyze, firmware and emulate; the file named once."""
    bad = {"folder": tmp_path / "folder.tflite", "missing": tmp_path / "missing.tflite",
           "text": tmp_path / "text.tflite"}
    bad["folder"].mkdir()
    bad["text"].write_text("not a model")
    for kind, path in bad.items():
        lines = set()
        for command in (["analyze"], ["firmware", "--out", tmp_path / "gen"], ["emulate"]):
            proc = tinyml(*command, path)
            assert proc.returncode == 2, (kind, command, proc.stderr)
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
            message = proc.stderr.strip().split(": error: ", 1)[1]
            assert message.count(path.name) == 1, message
            lines.add(message)
        assert len(lines) == 1, lines
    assert "is a directory" in tinyml("analyze", bad["folder"]).stderr
    assert not (tmp_path / "gen").exists()


def test_unnamed_tensors_are_shown_by_index():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from pipeline.analysis.tflite_model import _tensor_info

    graph = schema.SubGraphT()
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.name = [1, 4], schema.TensorType.INT16, None
    graph.tensors = [tensor, tensor]
    assert _tensor_info(None, graph, 1).name == "tensor 1"


def test_a_model_too_large_for_the_emulator_is_refused_before_the_build(tmp_path):
    from pipeline.emulator.arena_retry import check_model_for_emulator

    path = tmp_path / "big.tflite"
    data = _dense_model_bytes(units=2200)  # ~4.8 MB of int8 weights > 4 MB of code memory
    path.write_bytes(data)
    from pipeline.analysis.model_analysis import analyze_file

    with pytest.raises(PipelineError, match="too large for the emulator"):
        check_model_for_emulator(analyze_file(path, [load_board()]))
    proc = tinyml("emulate", path)
    assert proc.returncode == 2 and "too large for the emulator" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _dense_model_bytes(units: int) -> bytes:
    keras = suite_models._keras()
    inp = keras.Input((units,), batch_size=1)
    model = keras.Model(inp, keras.layers.Dense(units)(inp))
    return suite_models.convert(model, float_io=False)


def test_qemu_fatal_error_is_reported_by_its_first_line():
    import io

    from pipeline.emulator.qemu import _StderrPump

    pump = _StderrPump(io.StringIO("qemu: fatal: Lockup: can't escalate 3 to HardFault (current priority -1)\n"
                                   "R00=00000000 R01=00000000 R02=00000000 R03=00000000\n"
                                   "PSR=40000003 -Z-- A handler\n"))
    pump._thread.join(5)
    assert pump.text().startswith("qemu: fatal: Lockup")


@needs_tflm
@pytest.mark.parametrize("name", list(suite_models.SUITE))
def test_emulated_arena_matches_the_prediction(suite, name, tmp_path):
    from pipeline.driver import emulate_path

    result = emulate_path(suite[name][0], TFLM_DIR, runs=1, warmup=0)
    assert abs(result.arena_error_pct) <= 1.0, result
    assert result.arena_size_bytes >= result.arena_used_bytes  # never rebuilt for a short arena


@needs_tflm
@pytest.mark.skipif(not local_models(), reason="set TINYML_SUITE_MODELS to .tflite files/folders")
def test_local_models_emulated_arena_matches_the_prediction():
    from pipeline.driver import emulate_path

    for path in local_models():
        try:
            result = emulate_path(path, TFLM_DIR, runs=1, warmup=0)
        except PipelineError as exc:  # refused models must be refused for a stated reason
            assert "int16" in str(exc) or "input(s)" in str(exc), (path, exc)
            continue
        assert abs(result.arena_error_pct) <= 1.0, (path, result.arena_used_bytes, result.arena_predicted_bytes)


def test_firmware_reserves_a_recorded_emulated_arena_and_says_so(suite, tmp_path):
    """Measurements win: a measurement `tinyml emulate` recorded for the same model bytes, read
    from the store the command is handed."""
    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.codegen.generate import generate_firmware_sources
    from pipeline.store import MeasurementStore

    store = MeasurementStore(tmp_path / "records")
    path = suite["kws_ds_cnn"][0]
    board = load_board("nano33ble")

    def generated(out, measurements=None):
        analysis = analyze_file(path, [board], measurements=measurements)
        return generate_firmware_sources(analysis, board, tmp_path / out)

    predicted = generated("a", store).arena
    assert predicted.source == "predicted"
    sha = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    store.record_arena(sha, predicted.predicted_bytes + 5_000, "kws_ds_cnn")
    measured = generated("b", store).arena
    assert measured.source == "emulated" and measured.predicted_bytes == predicted.predicted_bytes + 5_000
    unhanded = generated("c").arena
    assert unhanded.source == "predicted"  # analysis reads no measurement it is not handed
    proc = tinyml("firmware", path, "--out", tmp_path / "d", "--measurements", tmp_path / "records")
    assert proc.returncode == 0, proc.stderr
    assert "measured in the emulator" in proc.stdout


def test_a_softmax_scale_tflm_aborts_on_is_refused_without_running_tflm(tmp_path):
    import numpy as np

    keras = suite_models._keras()
    inputs = keras.Input((4,), batch_size=1)
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, keras.layers.Softmax()(dense(inputs)))
    dense.set_weights([np.full((4, 3), 1e-9, np.float32), np.zeros(3, np.float32)])
    path = tmp_path / "vanishing.tflite"
    path.write_bytes(suite_models.convert(model, float_io=False))
    for command in (["analyze"], ["firmware", "--out", tmp_path / "gen"]):
        proc = tinyml(*command, path)
        assert proc.returncode == 2 and "softmax input scale" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
