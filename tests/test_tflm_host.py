"""TFLM runs in a child process: an abort in C++ becomes one error line, not a dead pipeline."""
import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.model.specs import ModelSpec
from pipeline.analysis.tflm_host import parse_allocations, run_tflm_host


def test_parse_allocations():
    text = ("[RecordingMicroAllocator] Arena allocation total 22288 bytes\n"
            "[RecordingMicroAllocator] Arena allocation head 12288 bytes\n"
            "[RecordingMicroAllocator] Arena allocation tail 10000 bytes\n"
            "[RecordingMicroAllocator] 'TfLiteEvalTensor data' used 936 bytes with alignment overhead "
            "(requested 936 bytes for 39 allocations)\n")
    arena = parse_allocations(text)
    assert (arena.total, arena.head, arena.tail) == (22288, 12288, 10000)
    assert arena.categories["TfLiteEvalTensor data"] == (936, 39)
    with pytest.raises(PipelineError, match="allocation report was not found"):
        parse_allocations("nothing here")


def test_abort_in_tflm_is_reported_not_fatal():
    """An untrained MobileNet calibrated on random data: TFLM aborts in Softmax (design notes)."""
    import tensorflow as tf

    from pipeline.model.keras_models import build_keras_model
    from pipeline.model.quantize import convert_keras_int8

    tf.keras.utils.set_random_seed(1)
    spec = ModelSpec("untrained", "separable", 0.5, 32, 1, 5, 10)
    rng = np.random.default_rng(0)
    tflite = convert_keras_int8(build_keras_model(spec, batch_size=1),
                                lambda: ([rng.random((1, 32, 32, 1), np.float32)] for _ in range(8)))
    with pytest.raises(PipelineError) as err:
        run_tflm_host(tflite, np.zeros((1, 32, 32, 1), np.int8), "untrained")
    assert "TFLM aborted (SIGABRT)" in str(err.value)
