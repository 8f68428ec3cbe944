"""Verification (issue 17): the firmware's outputs on real inputs against TFLite's reference
kernels, and the first divergent layer. The comparison, the inputs and the pre-build check run
anywhere; the firmware itself runs in QEMU against the TFLM Arduino library (TFLM_ARDUINO_DIR,
which CI cannot download: those tests skip with that reason)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from pipeline.analysis.model_analysis import analyze_file
from pipeline.analysis.tflite_model import TensorInfo, analyze_tflite_bytes, parsed
from pipeline.board import load_board
from pipeline.cli import main
from pipeline.emulator import toolchain as emu_tools
from pipeline.emulator.verify import read_layers
from pipeline.errors import PipelineError
from pipeline.model.dataset import load_digits
from pipeline.model.reference import ReferenceInterpreter, quantize_input
from pipeline.records import DivergentLayer
from pipeline.verify.compare import (
    FirmwareOutputs,
    divergence,
    first_divergent_layer,
    operator_outputs,
    verify_outputs,
)
from pipeline.verify.inputs import dataset_inputs, seeded_inputs

# --- models built here -------------------------------------------------------------------------------


def _convert(model, x: np.ndarray) -> bytes:
    from pipeline.model.quantize import convert_keras_int8

    def representative():
        for i in range(min(64, len(x))):
            yield [x[i : i + 1]]

    return convert_keras_int8(model, representative)


def _digits_x(size: int) -> tuple[np.ndarray, np.ndarray]:
    data = load_digits().resized(size, 1)
    return data.x_train, data.y_train


def _train(model, x, y):
    import keras

    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    return model


@pytest.fixture(scope="module")
def dense_tflite(tmp_path_factory) -> Path:
    """A classifier whose FULLY_CONNECTED TF 2.21 quantizes per output channel (10 weight scales):
    the construct the pinned library computes with channel 0's scale."""
    import keras

    keras.utils.set_random_seed(0)
    x, y = _digits_x(12)
    inp = keras.Input((12, 12, 1), batch_size=1)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(h))
    path = tmp_path_factory.mktemp("verify") / "dense_pc.tflite"
    path.write_bytes(_convert(_train(keras.Model(inp, out), x, y), x))
    return path


@pytest.fixture(scope="module")
def mean_tflite(tmp_path_factory) -> Path:
    """GlobalAveragePooling2D (MEAN over axes 1, 2) before the classifier, as nearly every Keras
    classifier ends."""
    import keras

    keras.utils.set_random_seed(0)
    x, y = _digits_x(12)
    inp = keras.Input((12, 12, 1), batch_size=1)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    h = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(10, activation="softmax")(h)
    path = tmp_path_factory.mktemp("verify") / "gap_mean.tflite"
    path.write_bytes(_convert(_train(keras.Model(inp, out), x, y), x))
    return path


def _weight_scales(tflite: bytes, op: str) -> int:
    model = parsed(tflite)
    graph = model.subgraphs[0]
    for operator, info in zip(graph.operators, operator_outputs(tflite)):
        if info.op == op:
            return len(graph.tensors[operator.inputs[1]].quantization.scale)
    raise AssertionError(f"no {op}")


def perturbed(tflite: bytes, operator_index: int, delta: int = 40) -> bytes:
    """The same model with operator `operator_index`'s weights moved by `delta` LSB: a known
    difference injected at one layer."""
    model = parsed(tflite)
    graph = model.subgraphs[0]
    weights = graph.tensors[graph.operators[operator_index].inputs[1]]
    buffer = model.buffers[weights.buffer]
    values = np.array(buffer.data, np.uint8).view(np.int8).astype(np.int32)
    buffer.data = np.clip(values + delta, -128, 127).astype(np.int8).view(np.uint8)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# --- the comparison (anywhere) ----------------------------------------------------------------------


def test_the_models_have_the_constructs_the_issue_names(dense_tflite, mean_tflite):
    assert _weight_scales(dense_tflite.read_bytes(), "FULLY_CONNECTED") == 10
    assert "MEAN" in analyze_tflite_bytes(mean_tflite.read_bytes(), "m").ops


def test_the_pre_build_check_accepts_per_channel_dense_and_mean(dense_tflite, mean_tflite, capsys):
    # Computed right by the project's kernels: nothing to refuse before a build.
    for path in (dense_tflite, mean_tflite):
        assert analyze_file(path, [load_board()]).tflm_problem is None
        assert main(["analyze", str(path), "--json"]) == 0
        capsys.readouterr()


def test_first_divergent_layer_is_the_first_in_execution_order():
    ops = operator_outputs(Path(_any_model()).read_bytes())
    reference = {op.index: bytes([op.index]) * 4 for op in ops}
    firmware = dict(reference)
    assert first_divergent_layer(ops, firmware, reference) is None
    firmware[2] = b"\x00\x00\x00\x09"
    firmware[3] = b"\x09"
    assert first_divergent_layer(ops, firmware, reference) == DivergentLayer(2, ops[2].op, ops[2].name)
    del firmware[1]  # a layer the firmware never dumped did not run
    assert first_divergent_layer(ops, firmware, reference).index == 1


def _any_model() -> Path:
    return Path(__file__).parent.parent / "models" / "_verify_probe.tflite"


@pytest.fixture(autouse=True, scope="module")
def _probe(dense_tflite):
    probe = _any_model()
    probe.write_bytes(dense_tflite.read_bytes())
    yield
    probe.unlink()


def reference_firmware(tflite: bytes):
    """A stand-in firmware computing `tflite` with TFLite's reference kernels (layers dumped from
    the kept tensors): what verify_outputs compares must not depend on who computed it."""
    ops = operator_outputs(tflite)

    def run(x: np.ndarray, dump: int | None) -> FirmwareOutputs:
        interpreter = ReferenceInterpreter(tflite, keep_tensors=True)
        outputs, layers = [], {}
        for i, sample in enumerate(x):
            outputs.append(interpreter.invoke(sample).tobytes())
            if i == dump:
                layers = {op.index: interpreter.tensor(op.tensor).tobytes() for op in ops}
        return FirmwareOutputs(np.frombuffer(b"".join(outputs), np.uint8).reshape(len(x), -1), layers, 0.1)

    return run


def test_an_injected_difference_is_found_at_its_layer(mean_tflite):
    tflite = mean_tflite.read_bytes()
    ops = operator_outputs(tflite)
    second_conv = [op.index for op in ops if op.op == "CONV_2D"][1]
    inputs = seeded_inputs(analyze_tflite_bytes(tflite, "m").inputs[0], 6)
    same = verify_outputs(tflite, inputs, reference_firmware(tflite))
    assert same.bit_exact_share == 1.0 and same.max_abs_diff_lsb == 0 and same.first_divergent_layer is None
    assert divergence(same) is None
    # The "firmware" runs the model with the second conv's weights changed: the reference is the
    # original, so the finder must name exactly that conv.
    found = verify_outputs(tflite, inputs, reference_firmware(perturbed(tflite, second_conv)))
    assert found.bit_exact_share < 1.0 and found.max_abs_diff_lsb > 0
    assert found.first_divergent_layer.index == second_conv
    assert found.first_divergent_layer.op == "CONV_2D"
    assert f"#{second_conv} CONV_2D" in divergence(found)


def test_dataset_inputs_are_the_test_split_quantized_as_run_feeds_it(dense_tflite):
    analysis = analyze_tflite_bytes(dense_tflite.read_bytes(), "d")
    tensor = analysis.inputs[0]
    data = load_digits()
    inputs = dataset_inputs(data, tensor, 10, None, "digits")
    assert len(inputs) == len(data.y_test) and inputs.x.dtype == np.int8
    assert inputs.x.shape[1:] == tuple(tensor.shape[1:])
    expected = quantize_input(data.resized(12, 1).x_test, tensor.scale, tensor.zero_point)
    assert np.array_equal(inputs.x, expected)
    assert np.array_equal(inputs.labels, data.y_test)
    # Labels only when the output scores the data's classes.
    assert dataset_inputs(data, tensor, 7, 5, "digits").labels is None


def test_seeded_inputs_cover_the_whole_int8_range_and_say_so():
    tensor = TensorInfo("in", (1, 16, 16, 3), "int8", 0.1, 0)
    inputs = seeded_inputs(tensor, 32)
    assert inputs.x.shape == (32, 16, 16, 3) and inputs.x.min() == -128 and inputs.x.max() == 127
    assert inputs.labels is None and "seeded" in inputs.source
    assert np.array_equal(seeded_inputs(tensor, 32).x, inputs.x)  # reproducible


def test_a_non_image_input_refuses_image_data_in_one_line():
    tensor = TensorInfo("in", (1, 49, 10, 1), "int8", 0.1, 0)
    with pytest.raises(PipelineError, match="not a square gray or RGB image: verify it without --data"):
        dataset_inputs(load_digits(), tensor, 12, None, "digits")


def test_the_layer_file_is_read_and_a_cut_one_refused():
    data = np.array([3, 2], "<u4").tobytes() + b"\x01\x02" + np.array([4, 1], "<u4").tobytes() + b"\x07"
    assert read_layers(data) == {3: b"\x01\x02", 4: b"\x07"}
    with pytest.raises(PipelineError, match="cut short"):
        read_layers(data[:-1])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--samples", "3"], "--samples only apply with --verify"),
        (["--data", "digits"], "--data only apply with --verify"),
        (["--verify", "--samples", "0"], "--samples 0: verify at least 1 input"),
    ],
)
def test_verify_options_are_checked_before_anything_runs(dense_tflite, capsys, argv, message):
    assert main(["emulate", str(dense_tflite), *argv]) == 2
    assert message in capsys.readouterr().err


def test_the_int8_accuracy_comes_from_the_reference_kernels(dense_tflite):
    from pipeline.model.quantize import quantized_reference_outputs

    data = load_digits().resized(12, 1)
    tflite = dense_tflite.read_bytes()
    reference = ReferenceInterpreter(tflite)
    scale, zero = reference.input["quantization"]
    expected = np.stack([reference.invoke(quantize_input(x[None], scale, zero))[0] for x in data.x_test[:20]])
    assert np.array_equal(quantized_reference_outputs(tflite, data.x_test[:20]), expected)


# --- the firmware in QEMU (TFLM library needed) ---------------------------------------------------


def _tflm_dir() -> str:
    path = os.environ.get(emu_tools.TFLM_ENV)
    if not path:
        pytest.skip(
            f"{emu_tools.TFLM_ENV} not set: verifying the firmware needs a local checkout of "
            "tensorflow/tflite-micro-arduino-examples (see DEVELOPERS.md)"
        )
    emu_tools.require_tools()
    return path


@pytest.mark.tflm
@pytest.mark.parametrize("kernels", ["cmsis-nn", "tinyml"])
@pytest.mark.parametrize("model", ["dense", "mean"])
def test_emulate_verify_is_bit_exact_on_the_whole_test_split(
    dense_tflite, mean_tflite, tmp_path, capsys, model, kernels
):
    _tflm_dir()
    path = {"dense": dense_tflite, "mean": mean_tflite}[model]
    argv = ["emulate", str(path), "--verify", "--data", "digits", "--json", "--kernels", kernels]
    argv += ["--measurements", str(tmp_path)]
    assert main(argv) == 0, capsys.readouterr().err
    verify = json.loads(capsys.readouterr().out)["verify"]
    assert set(verify) >= {
        "samples",
        "bit_exact_share",
        "max_abs_diff_lsb",
        "accuracy_firmware",
        "accuracy_reference",
        "first_divergent_layer",
    }
    assert verify["samples"] == len(load_digits().y_test)
    assert verify["bit_exact_share"] == 1.0 and verify["max_abs_diff_lsb"] == 0
    assert verify["first_divergent_layer"] is None
    assert verify["accuracy_firmware"] == verify["accuracy_reference"] > 0.5


@pytest.fixture(scope="module")
def mean_firmware(mean_tflite, tmp_path_factory):
    """The benchmark firmware of the MEAN model, built once (the ELF the verification runs)."""
    from pipeline.emulator.stage import emulate

    root = emu_tools.resolve_tflm_dir(_tflm_dir())
    analysis = analyze_file(mean_tflite, [load_board(), load_board("qemu_mps2_an386")])
    return emulate(analysis, root, board=load_board(), runs=1, warmup=0).elf


@pytest.mark.tflm
def test_the_layer_finder_names_an_injected_difference_on_the_real_firmware(mean_tflite, mean_firmware):
    from pipeline.emulator.verify import run_verification

    tflite = mean_tflite.read_bytes()
    ops = operator_outputs(tflite)
    dense = next(op.index for op in ops if op.op == "FULLY_CONNECTED")
    inputs = seeded_inputs(analyze_tflite_bytes(tflite, "m").inputs[0], 8)
    # The firmware runs the original; the reference a copy whose Dense weights moved: every layer
    # before the Dense agrees to the byte, the Dense is the first that differs.
    found = verify_outputs(perturbed(tflite, dense), inputs, lambda x, d: run_verification(mean_firmware, x, d))
    assert found.first_divergent_layer == DivergentLayer(dense, "FULLY_CONNECTED", ops[dense].name)
    assert found.bit_exact_share < 1.0


@pytest.mark.tflm
def test_the_serial_session_returns_what_semihosting_returns(mean_tflite, mean_firmware):
    from pipeline.emulator.verify import run_verification, serial_session
    from pipeline.verify.serial import session_run

    inputs = seeded_inputs(analyze_tflite_bytes(mean_tflite.read_bytes(), "m").inputs[0], 3)
    files = run_verification(mean_firmware, inputs.x, 1)
    with serial_session(mean_firmware) as session:
        serial = session_run(session)(inputs.x, 1)
    assert np.array_equal(serial.outputs, files.outputs)
    assert serial.layers == files.layers and len(files.layers) == len(operator_outputs(mean_tflite.read_bytes()))


@pytest.mark.tflm
def test_measure_verify_reads_the_board_session_after_done(mean_tflite, mean_firmware, tmp_path):
    """`tinyml measure --verify` on QEMU's "board" mode: the benchmark, then the serial session,
    as the Nano firmware runs them."""
    import shutil

    from pipeline.driver import MeasureRequest, VerifyRequest, measure_files
    from pipeline.emulator.qemu import start_qemu

    qemu = start_qemu(mean_firmware, command_line=("tinyml", "board"))
    try:
        path = tmp_path / mean_firmware.stem.removeprefix("fw_")
        path = path.with_suffix(".tflite")
        shutil.copy(mean_tflite, path)
        request = MeasureRequest(
            load_board("qemu_mps2_an386"), qemu.url, 60.0, flash=False, verify=VerifyRequest("digits", 12)
        )
        (outcome,) = measure_files([path], request)
    finally:
        qemu.stop()
    assert outcome.error is None, outcome.error
    assert outcome.record.verify.samples == 12 and outcome.record.verify.bit_exact_share == 1.0
    assert outcome.record.verify.accuracy_firmware == outcome.record.verify.accuracy_reference
