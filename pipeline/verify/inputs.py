"""The inputs a verification runs: the test split of the data a model was trained on, a user's
data in the forms `tinyml run` accepts, or seeded inputs over the whole input range. All are the
input tensor's own values (int8 for the project's models), exactly what the firmware receives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.analysis.tflite_model import TensorInfo
from pipeline.errors import PipelineError
from pipeline.model.dataset import Dataset
from pipeline.model.reference import quantize_input

SEEDED_SAMPLES = 32  # without data: enough to reach every output code of a small classifier
SEED = 0
INTEGER_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
NUMPY_TYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "float32": np.float32}


@dataclass(frozen=True)
class VerifyInputs:
    x: np.ndarray  # (N, *input shape without batch) in the input tensor's type
    labels: np.ndarray | None  # class per input, when the data has labels the output can be scored on
    source: str  # said in the output and the report

    def __len__(self) -> int:
        return len(self.x)


def check_input_tensor(tensor: TensorInfo, model: str) -> None:
    """The types a verification can feed (cheap: before anything is built)."""
    if tensor.dtype not in NUMPY_TYPES:
        raise PipelineError(
            f"{model}: input tensor {tensor.name!r} is {tensor.dtype}; verification feeds int8, uint8, int16 "
            "or float32 inputs: export the model with one of those input types"
        )


def seeded_inputs(
    tensor: TensorInfo, samples: int | None = None, seed: int = SEED, reason: str = "no data to verify on"
) -> VerifyInputs:
    """Uniform over the input type's whole range (integers) or over [-1, 1] (float)."""
    count = SEEDED_SAMPLES if samples is None else samples
    shape = (count, *tensor.shape[1:])
    rng = np.random.default_rng(seed)
    if tensor.dtype in INTEGER_RANGES:
        low, high = INTEGER_RANGES[tensor.dtype]
        x = rng.integers(low, high + 1, size=shape).astype(NUMPY_TYPES[tensor.dtype])
        span = f"uniform over {tensor.dtype} [{low}, {high}]"
    else:
        x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        span = "uniform over [-1, 1]"
    return VerifyInputs(x, None, f"{count} seeded inputs ({span}, seed {seed}): {reason}")


def dataset_inputs(data: Dataset, tensor: TensorInfo, outputs: int, samples: int | None, what: str) -> VerifyInputs:
    """The test split of `data`, resized to the input tensor and quantized with its scale and zero
    point as `tinyml run` feeds it; labels kept when the output has one score per class."""
    shape = tensor.shape[1:]
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] not in (1, 3):
        raise PipelineError(
            f"the model's input is {'x'.join(map(str, tensor.shape))}, not a square gray or RGB image: "
            "verify it without --data (seeded inputs) or with data shaped for it"
        )
    x = data.resized(shape[0], shape[2]).x_test
    y = data.y_test
    if samples is not None:
        x, y = x[:samples], y[:samples]
    if len(x) == 0:
        raise PipelineError(f"{data.source}: the test split is empty: give data with more images per class")
    if tensor.dtype in INTEGER_RANGES:
        if tensor.scale is None:
            raise PipelineError(f"input tensor {tensor.name!r} has no quantization: verify it with seeded inputs")
        low, high = INTEGER_RANGES[tensor.dtype]
        values = np.clip(np.round(x / tensor.scale) + (tensor.zero_point or 0), low, high)
        x_in = values.astype(NUMPY_TYPES[tensor.dtype])
        if tensor.dtype == "int8":  # the same rounding `tinyml run` trains and measures with
            x_in = quantize_input(x, tensor.scale, tensor.zero_point or 0)
    else:
        x_in = x.astype(np.float32)
    labels = y if outputs == data.classes else None
    note = "" if labels is not None else f"; no accuracy: the output has {outputs} values for {data.classes} classes"
    return VerifyInputs(x_in, labels, f"{len(x_in)} test images of {what}{note}")
