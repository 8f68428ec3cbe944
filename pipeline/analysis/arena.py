"""Tensor arena the board's TFLM build (32-bit Cortex-M, CMSIS-NN kernels) needs, predicted from
the host's measurement (64-bit, reference kernels) and the model's operators.

- Head (non-persistent): TFLM's greedy memory planner replayed here over the model's activation
  tensors plus the scratch buffers the CMSIS-NN kernels request (the host's reference kernels
  request none, so its head is too small whenever a scratch buffer lands on the peak).
- Tail (persistent): each category of the recording allocator re-sized to its 32-bit struct size.
- The firmware's plain MicroAllocator object is smaller than the host's RecordingMicroAllocator.

Limit: on very small models (a few kB of arena) the allocator's temporary structures can exceed
the plan: a 16x16 model measured 4,964 B against 4,716 B predicted; the 1 KiB minimum margin of
code generation covers that.

The per-struct sizes and constants were measured, not guessed: the firmware built with a
RecordingMicroInterpreter in QEMU's Cortex-M4 (TFLM Arduino library 7948b85, arm-none-eabi-gcc 12)
printed every category for the six default-zoo models, next to the host `tflite-micro` package's
report; `tinyml emulate` compares the prediction with the firmware's own figure on every run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.analysis.tflite_model import DTYPE_BYTES, TENSOR_TYPES, OperatorIO, TfliteAnalysis, analyze_tflite_bytes, read_model
from pipeline.analysis.tflm_host import HostArena, run_tflm_host

# recording-allocator category -> bytes per item in the 32-bit build
STRUCT_BYTES_32 = {
    "TfLiteEvalTensor data": 12,                   # host: 24
    "NodeAndRegistration struct": 44,              # host: 64
    "Persistent TfLiteTensor data": 64,            # host: 64
    "Persistent TfLiteTensor quantization data": 10,  # host: 16
}
PERSISTENT_BUFFERS = "Persistent buffer data"
# Op data: the host's persistent buffers minus a fixed 124 B and per-operator savings of the 32-bit
# CMSIS-NN op data (fitted on the default zoo; residuals within 10 B).
PERSISTENT_BUFFER_FIXED_SAVING = 124
PERSISTENT_BUFFER_SAVING_PER_OP = {"CONV_2D": 16, "DEPTHWISE_CONV_2D": 18}
# Tail bytes outside every category (interpreter and allocator objects): 278 B smaller on 32-bit.
UNCATEGORISED_SAVING = 278
# RecordingMicroAllocator is 96-112 B larger than the MicroAllocator the firmware uses.
RECORDING_ALLOCATOR_OVERHEAD = 104
BUFFER_ALIGNMENT = 16  # MicroArenaBufferAlignment()


@dataclass(frozen=True)
class ArenaPrediction:
    host_bytes: int
    predicted_bytes: int  # for the board's 32-bit CMSIS-NN build
    head_bytes: int
    tail_bytes_32: int


def _align(value: int, alignment: int = BUFFER_ALIGNMENT) -> int:
    return -(-value // alignment) * alignment


def cmsis_nn_scratch_bytes(op: OperatorIO) -> int:
    """Scratch the CMSIS-NN kernel (DSP, no MVE) requests in Prepare, as its *_get_buffer_size."""
    if op.op == "CONV_2D" and op.filter_shape:
        _, k_h, k_w, c_in = op.filter_shape
        if (k_h, k_w) == (1, 1) and op.stride == (1, 1):
            return 0  # arm_convolve_1x1_s8_fast
        return 2 * c_in * k_h * k_w * 2  # arm_convolve_s8: two im2col columns of int16
    if op.op == "DEPTHWISE_CONV_2D" and op.filter_shape and op.input_shape:
        _, k_h, k_w, c_out = op.filter_shape
        if op.input_shape[-1] == c_out:  # multiplier 1: arm_depthwise_conv_s8_opt's buffer
            return c_out * k_h * k_w * 2
        return 0
    if op.op == "AVERAGE_POOL_2D" and op.output_shape:
        return op.output_shape[-1] * 4  # arm_avgpool_s8: one int32 accumulator per channel
    return 0


@dataclass(frozen=True)
class PlannedBuffer:
    size: int
    first_used: int
    last_used: int


def planner_buffers(tflite: bytes, scratch: list[int]) -> list[PlannedBuffer]:
    """Buffers in the order TFLM's AllocationInfoBuilder adds them: activation tensors by index
    (constant and zero-size ones excluded), then one scratch buffer per operator that asks.
    Lifetimes count operators from 1; graph inputs live from 0, outputs to the last operator."""
    model = read_model(tflite, "model")
    graph = model.subgraphs[0]
    buffers = model.buffers or []
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def use(index: int, scope: int, created: bool) -> None:
        if created:
            first.setdefault(index, scope)
        last[index] = scope

    for index in graph.inputs:
        use(int(index), 0, True)
    operators = graph.operators or []
    for scope, operator in enumerate(operators, start=1):
        for index in operator.outputs:
            use(int(index), scope, True)
        for index in operator.inputs:
            if index >= 0:
                last[int(index)] = scope
        for index in operator.outputs:
            last[int(index)] = scope
    for index in graph.outputs:
        use(int(index), len(operators), True)
    planned = []
    for index, tensor in enumerate(graph.tensors):
        data = buffers[tensor.buffer].data if 0 < tensor.buffer < len(buffers) else None
        size = int(np.prod(tensor.shape, dtype=np.int64)) * DTYPE_BYTES.get(
            TENSOR_TYPES.get(tensor.type, ""), 4) if tensor.shape is not None else 0
        if (data is not None and len(data)) or tensor.isVariable or size == 0 or index not in first:
            continue
        planned.append(PlannedBuffer(_align(size), first[index], last[index]))
    planned += [PlannedBuffer(_align(size), scope, scope)
                for scope, size in enumerate(scratch, start=1) if size > 0]
    return planned


def greedy_plan_bytes(buffers: list[PlannedBuffer]) -> int:
    """TFLM's GreedyMemoryPlanner: largest first (stable for equal sizes), each at the lowest
    offset where it fits between the already placed buffers that are live at the same time."""
    order = sorted(range(len(buffers)), key=lambda i: -buffers[i].size)  # sorted() is stable
    placed: list[tuple[int, PlannedBuffer]] = []  # (offset, buffer), kept sorted by offset
    for i in order:
        wanted = buffers[i]
        offset = 0
        for other_offset, other in placed:
            if other.first_used > wanted.last_used or wanted.first_used > other.last_used:
                continue  # not live at the same time
            if other_offset - offset >= wanted.size:
                break  # fits in the gap before this one
            offset = max(offset, other_offset + other.size)
        placed.append((offset, wanted))
        placed.sort(key=lambda entry: entry[0])
    return max((offset + b.size for offset, b in placed), default=0)


def predict_from_host(host: HostArena, analysis: TfliteAnalysis, tflite: bytes) -> ArenaPrediction:
    scratch = [cmsis_nn_scratch_bytes(op) for op in analysis.operator_io]
    head = greedy_plan_bytes(planner_buffers(tflite, scratch))
    tail = host.tail - UNCATEGORISED_SAVING
    for category, size in STRUCT_BYTES_32.items():
        used, count = host.categories.get(category, (0, 0))
        tail += count * size - used
    if PERSISTENT_BUFFERS in host.categories:
        tail -= PERSISTENT_BUFFER_FIXED_SAVING + sum(
            PERSISTENT_BUFFER_SAVING_PER_OP.get(op, 0) for op in analysis.operators)
    return ArenaPrediction(host.total, head + tail - RECORDING_ALLOCATOR_OVERHEAD, head, tail)


def predict_arena(tflite: bytes, name: str = "model",
                  analysis: TfliteAnalysis | None = None) -> ArenaPrediction:
    """Runs TFLM's host interpreter once (in a child process) and predicts the 32-bit arena."""
    host = run_tflm_host(tflite, np.zeros((0,), np.int8), name).arena
    return predict_from_host(host, analysis or analyze_tflite_bytes(tflite, name), tflite)


def predict_arena_bytes(tflite: bytes) -> int:
    return predict_arena(tflite).predicted_bytes
