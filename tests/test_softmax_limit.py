"""The softmax-scale limit predicts TFLM's abort: a model whose logits hardly vary aborts TFLM's
host interpreter and is flagged; one with a normal range runs and is not."""
import numpy as np
import pytest

from pipeline.analysis.softmax_limit import SMALLEST_SCALE, softmax_scale_problem
from pipeline.analysis.tflm_host import run_tflm_host
from pipeline.errors import PipelineError


def dense_softmax(spread: float) -> bytes:
    import keras

    from pipeline.model.quantize import convert_keras_int8

    inputs = keras.Input((4,), batch_size=1)
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, keras.layers.Softmax()(dense(inputs)))
    dense.set_weights([np.full((4, 3), spread, np.float32) * np.array([1, -1, 0.5], np.float32),
                       np.zeros(3, np.float32)])
    rng = np.random.default_rng(0)
    return convert_keras_int8(model, lambda: ([rng.random((1, 4), np.float32)] for _ in range(8)))


def test_limit_is_two_to_the_minus_26():
    assert SMALLEST_SCALE == pytest.approx(1.4901161e-08)


def test_vanishing_logits_abort_tflm_and_are_flagged():
    tflite = dense_softmax(1e-9)
    assert "softmax input scale" in softmax_scale_problem(tflite)
    with pytest.raises(PipelineError, match="aborted .* the softmax input scale is") as err:
        run_tflm_host(tflite, np.zeros((1, 4), np.int8), "vanishing")
    assert "train the model" in str(err.value) and "Calibrate on real data" not in str(err.value)


def test_normal_logits_run_and_are_not_flagged():
    tflite = dense_softmax(1e-2)
    assert softmax_scale_problem(tflite) is None
    assert run_tflm_host(tflite, np.zeros((1, 4), np.int8), "normal").outputs.shape == (1, 3)
