"""Stage 3a: trained Keras model -> full-integer int8 .tflite (int8 input and output), calibrated
on real training samples, and its accuracy under TFLite's reference kernels (what TFLM reproduces:
pipeline.model.reference)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from pipeline.model.dataset import CALIBRATION_SAMPLES, Dataset
from pipeline.model.keras_models import export_model
from pipeline.model.reference import ReferenceInterpreter, quantize_input
from pipeline.model.train import TrainedModel
from pipeline.native_output import quiet_native_output


@dataclass(frozen=True)
class QuantizedModel:
    tflite: bytes
    accuracy_int8: float
    predictions_int8: np.ndarray  # argmax per test sample, TFLite's reference kernels
    outputs_int8: np.ndarray  # raw int8 outputs per test sample


def convert_keras_int8(model, representative: Callable[[], Iterable[list[np.ndarray]]]) -> bytes:
    """Full-integer int8 .tflite (int8 input and output) of a Keras model, calibrated on the
    samples `representative()` yields (one batch-1 input list each)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with quiet_native_output():
        return converter.convert()


def convert_int8(trained: TrainedModel, data: Dataset) -> bytes:
    # Calibration must see real data: random inputs leave the softmax input scale so large that
    # TFLM aborts in Softmax's Prepare.
    rng = np.random.default_rng(0)
    picks = rng.choice(len(data.x_train), min(CALIBRATION_SAMPLES, len(data.x_train)), replace=False)

    def representative():
        for i in picks:
            yield [data.x_train[i : i + 1]]

    return convert_keras_int8(export_model(trained.model, trained.spec), representative)


def quantized_reference_outputs(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """int8 outputs of TFLite's reference kernels (pipeline.model.reference) for every float sample,
    quantized with the model's input scale and zero point (batch 1, like the device)."""
    interpreter = ReferenceInterpreter(tflite)
    scale, zero = interpreter.input["quantization"]
    return np.stack([interpreter.invoke(quantize_input(sample[None], scale, zero))[0] for sample in x])


def quantize_model(trained: TrainedModel, data: Dataset) -> QuantizedModel:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tflite = convert_int8(trained, data)
    outputs = quantized_reference_outputs(tflite, data.x_test)
    predictions = outputs.argmax(axis=1)
    return QuantizedModel(tflite, float((predictions == data.y_test).mean()), predictions, outputs)
