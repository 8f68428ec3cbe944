"""Constructs the pinned TFLM library computes differently from TensorFlow Lite's reference and
the project's own kernels do not (yet) cover: named before anything is built, with the fix.

Covered by the project's reference-exact kernels, so not listed here: per-channel FULLY_CONNECTED,
MEAN over one or two axes, MUL, standalone RELU6 (firmware/kernels/tinyml_ref_ops.h)."""

from __future__ import annotations

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from pipeline.analysis.tflite_model import BUILTIN_NAMES, parsed

# micro/kernels/reduce_common.cpp: `int resolved_axis[kMaxNumberOfReducedAxis]` with
# kMaxNumberOfReducedAxis = 2, filled with one entry per distinct axis by ResolveAxis.
MAX_MEAN_AXES = 2


def _axes(model: schema.ModelT, graph, index: int) -> list[int] | None:
    tensor = graph.tensors[index]
    buffers = model.buffers or []
    data = buffers[tensor.buffer].data if 0 < tensor.buffer < len(buffers) else None
    if data is None or not len(data):
        return None
    return [int(a) for a in np.frombuffer(bytes(bytearray(data)), dtype="<i4")]


def runtime_problem(model: schema.ModelT | bytes) -> str | None:
    """The first construct the firmware would compute wrongly, as a message with the fix, or None."""
    model = parsed(model)
    graph = model.subgraphs[0]
    for index, operator in enumerate(graph.operators or []):
        code = model.operatorCodes[operator.opcodeIndex]
        op = BUILTIN_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "")
        if op in ("MEAN", "SUM") and len(operator.inputs) > 1:
            axes = _axes(model, graph, operator.inputs[1])
            rank = len(graph.tensors[operator.inputs[0]].shape)
            distinct = {a + rank if a < 0 else a for a in axes} if axes is not None else set()
            if len(distinct) > MAX_MEAN_AXES:
                return (
                    f"{op} (operator {index}) reduces {len(distinct)} axes: the pinned TFLM library's "
                    f"{op} takes at most {MAX_MEAN_AXES} (its Prepare overruns a buffer); reduce in "
                    "steps of at most two axes, or over axes 1 and 2 (GlobalAveragePooling2D)"
                )
        if op == "SPACE_TO_BATCH_ND":
            return (
                f"SPACE_TO_BATCH_ND (operator {index}): the pinned TFLM library pads it with "
                "uninitialised memory instead of the zero point and never resizes its batch; export "
                "with a fixed batch of 1 (keras.Input(..., batch_size=1)), which turns a dilated "
                "convolution into one DEPTHWISE_CONV_2D/CONV_2D"
            )
    return None
