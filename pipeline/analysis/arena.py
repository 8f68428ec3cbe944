"""Tensor arena of the board's TFLM build (32-bit Cortex-M4, CMSIS-NN kernels), computed from the
.tflite alone the way TFLM's MicroAllocator lays it out (TFLM Arduino library, commit in tflm_ops).

`arena_used_bytes()` after AllocateTensors is head + tail of the SingleArenaBufferAllocator:
- Head (non-persistent): GreedyMemoryPlanner's plan of every activation tensor (not constant, not
  variable, not empty; lifetimes from AllocationInfoBuilder::MarkAllocationLifetimes: graph
  inputs from scope 0, operator i at scope i+1, graph outputs to the last scope; a tensor no
  operator uses keeps the lifetime (-1, -1), so all such tensors are live together) and every scratch
  buffer a kernel requested in Prepare (CMSIS-NN's *_get_buffer_size, see kernel_memory), each size
  rounded up to 16 B. The planner adds buffers from the tail of its list and bubble-sorts them by
  size, so among equal sizes the later tensor is placed first; then first fit among the buffers
  live at the same time.
- Tail (persistent), allocated downwards from the arena end, each allocation aligned down to its
  alignment (so padding depends on the order, which is replayed): the arena allocator, the greedy
  planner and the MicroAllocator objects (MicroAllocator::Create); the builtin data allocator, one
  SubgraphAllocations, a TfLiteEvalTensor per tensor and a NodeAndRegistration per operator
  (StartModelAllocation); each operator's parsed builtin parameters, Init's OpData and Prepare's
  persistent buffers (kernel_memory); one ScratchBufferHandle per scratch buffer; variable tensors;
  the input/output TfLiteTensor pointer arrays and their persistent TfLiteTensors with
  TfLiteAffineQuantization and zero-point array (MicroInterpreter::AllocateTensors).

`required_bytes` is the smallest arena AllocateTensors succeeds with, which can exceed the used
bytes on small models: while planning, the head holds the scratch-buffer requests, the
AllocationInfo array and the planner's own per-buffer lists (CommitStaticMemoryPlan), and while a
kernel prepares, its temporary TfLiteTensors.

Struct sizes come from kernel_memory (sizeof on arm-none-eabi-gcc); nothing here is fitted to models.
`tinyml emulate` compares the prediction with the firmware's own arena_used_bytes() on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from pipeline.analysis import kernel_memory as k
from pipeline.analysis.tflite_model import BUILTIN_NAMES, DTYPE_BYTES, TENSOR_TYPES, parsed


@dataclass(frozen=True)
class ArenaPrediction:
    predicted_bytes: int  # what arena_used_bytes() reports on the board's 32-bit build
    head_bytes: int
    tail_bytes: int
    required_bytes: int  # smallest arena AllocateTensors succeeds with (>= predicted_bytes)
    unmodelled_ops: tuple[str, ...] = field(default=())  # kernels whose persistent data is unknown


def _align_up(value: int, alignment: int = k.ARENA_ALIGNMENT) -> int:
    return -(-value // alignment) * alignment


@dataclass(frozen=True)
class PlannedBuffer:
    size: int
    first_used: int
    last_used: int


def greedy_plan_bytes(buffers: list[PlannedBuffer]) -> int:
    """GreedyMemoryPlanner::GetMaximumMemorySize for buffers in the order they were added."""
    # CalculateOffsetsIfNeeded fills its sorted arrays from the tail, then bubble-sorts by size
    # (stable): equal sizes end up in reverse order of addition.
    order = sorted(reversed(range(len(buffers))), key=lambda i: -buffers[i].size)
    placed: list[tuple[int, PlannedBuffer]] = []  # (offset, buffer), sorted by offset
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


class _Tail:
    """SingleArenaBufferAllocator::AllocatePersistentBuffer from a 16-byte aligned arena end."""

    def __init__(self) -> None:
        self.used = 0

    def allocate(self, size: int, alignment: int = k.ARENA_ALIGNMENT) -> None:
        self.used = _align_up(self.used + size, alignment)


def _optional_tensor_spec(graph, buffers, index: int) -> k.TensorSpec | None:
    """An operator's input that may be absent (index -1: a missing bias)."""
    return None if index < 0 else _tensor_spec(graph, buffers, index)


def _tensor_spec(graph, buffers, index: int) -> k.TensorSpec:
    tensor = graph.tensors[index]
    data = buffers[tensor.buffer].data if 0 < tensor.buffer < len(buffers) else None
    quant = tensor.quantization
    channels = 0
    if (
        quant is not None
        and quant.scale is not None
        and len(quant.scale)
        and quant.zeroPoint is not None
        and len(quant.zeroPoint)
    ):
        channels = len(quant.scale)
    shape = tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()
    return k.TensorSpec(
        index, shape, TENSOR_TYPES.get(tensor.type, str(tensor.type)), data is not None and len(data) > 0, channels
    )


def _tensor_bytes(spec: k.TensorSpec) -> int:
    return int(np.prod(spec.shape, dtype=np.int64)) * DTYPE_BYTES.get(spec.dtype, 4)


def operator_specs(model: schema.ModelT) -> list[k.OperatorSpec]:
    graph = model.subgraphs[0]
    buffers = model.buffers or []
    specs = []
    for operator in graph.operators or []:
        code = model.operatorCodes[operator.opcodeIndex]
        op = BUILTIN_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
        options = operator.builtinOptions
        stride = (getattr(options, "strideH", 1) or 1, getattr(options, "strideW", 1) or 1)
        dilation = (getattr(options, "dilationHFactor", 1) or 1, getattr(options, "dilationWFactor", 1) or 1)
        outputs = tuple(_tensor_spec(graph, buffers, int(i)) for i in operator.outputs)
        # reshape.cpp copies the output dims when the stored shape (not the signature) has a -1
        wildcard = op == "RESHAPE" and any(d < 0 for d in outputs[0].shape)
        specs.append(
            k.OperatorSpec(
                op,
                tuple(_optional_tensor_spec(graph, buffers, int(i)) for i in operator.inputs),
                outputs,
                stride,
                dilation,
                wildcard,
            )
        )
    return specs


UNUSED_LIFETIME = -1  # micro_allocation_info.h kUninitializedLifetime


def planner_buffers(model: schema.ModelT, scratch: list[tuple[int, int]]) -> list[PlannedBuffer]:
    """Buffers in AllocationInfoBuilder's order: tensors by index, then scratch buffers in the
    order they were requested ((operator index, bytes))."""
    graph = model.subgraphs[0]
    buffers = model.buffers or []
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for index in graph.inputs:
        first.setdefault(int(index), 0)
        last[int(index)] = 0
    operators = graph.operators or []
    for scope, operator in enumerate(operators, start=1):
        for index in operator.outputs:
            first.setdefault(int(index), scope)
        for index in list(operator.inputs) + list(operator.outputs):
            if index >= 0:
                last[int(index)] = scope
    for index in graph.outputs:
        first.setdefault(int(index), len(operators))
        last[int(index)] = len(operators)
    planned = []
    for index, tensor in enumerate(graph.tensors):
        spec = _tensor_spec(graph, buffers, index)
        size = _tensor_bytes(spec)
        if spec.constant or tensor.isVariable or size == 0:
            continue
        # A tensor no operator touches (a cut model's leftovers) is still planned, with TFLM's
        # kUninitializedLifetime (-1, -1): such tensors overlap one another in time, not the rest.
        start = first.get(index, UNUSED_LIFETIME)
        planned.append(PlannedBuffer(_align_up(size), start, last.get(index, start)))
    planned += [PlannedBuffer(_align_up(size), node + 1, node + 1) for node, size in scratch]
    return planned


def predict_arena(model: "schema.ModelT | bytes", name: str = "model") -> ArenaPrediction:
    """The arena TFLM + CMSIS-NN on the Cortex-M4 uses for this model (no TFLM needed)."""
    model = parsed(model, name)
    graph = model.subgraphs[0]
    specs = operator_specs(model)
    tail = _Tail()
    for size in (
        k.SINGLE_ARENA_BUFFER_ALLOCATOR,
        k.GREEDY_MEMORY_PLANNER,
        k.MICRO_ALLOCATOR,
        k.MICRO_BUILTIN_DATA_ALLOCATOR,
        k.SUBGRAPH_ALLOCATIONS * len(model.subgraphs),
    ):
        tail.allocate(size, 4)
    tail.allocate(k.TFLITE_EVAL_TENSOR * len(graph.tensors), 4)
    tail.allocate(k.NODE_AND_REGISTRATION * len(specs), 4)
    memories = [k.kernel_memory(spec) for spec in specs]
    for memory in memories:  # PrepareNodeAndRegistrationDataFromFlatbuffer
        if memory is not None and memory.builtin_params is not None:
            tail.allocate(*memory.builtin_params)
    for memory in memories:  # InitSubgraphs
        if memory is not None and memory.init_bytes is not None:
            tail.allocate(memory.init_bytes)
    scratch: list[tuple[int, int]] = []
    prepare_peak = 0
    for node, (spec, memory) in enumerate(zip(specs, memories)):  # PrepareSubgraphs
        if memory is None:
            continue
        for size in memory.persistent:
            tail.allocate(size)
        # Temporary TfLiteTensors the kernel opens (with their zero-point arrays); the conv
        # kernels' CalculateOpDataConv/DepthwiseConv opens them all a second time.
        temps = sum(
            k.TFLITE_TENSOR + k.TFLITE_AFFINE_QUANTIZATION + 4 + 4 * t.channels
            for t in spec.inputs + spec.outputs
            if t is not None
        )
        opened = 2 if spec.op in ("CONV_2D", "DEPTHWISE_CONV_2D") else 1
        prepare_peak = max(
            prepare_peak, k.SCRATCH_BUFFER_REQUEST * (len(scratch) + k.MAX_SCRATCH_BUFFERS_PER_OP) + opened * temps
        )
        scratch += [(node, size) for size in memory.scratch]
    if scratch:  # FinishModelAllocation
        tail.allocate(k.SCRATCH_BUFFER_HANDLE * len(scratch), 4)
    buffers = model.buffers or []
    for index, tensor in enumerate(graph.tensors):  # AllocateVariables
        if tensor.isVariable:
            tail.allocate(_tensor_bytes(_tensor_spec(graph, buffers, index)))
    planned = planner_buffers(model, scratch)
    head = greedy_plan_bytes(planned)
    planning = _align_up(
        k.SCRATCH_BUFFER_REQUEST * (len(scratch) + k.MAX_SCRATCH_BUFFERS_PER_OP)
        + k.ALLOCATION_INFO * (len(graph.tensors) + len(scratch))
    ) + k.PLANNER_BYTES_PER_BUFFER * len(planned)
    tail_at_planning = _align_up(tail.used)
    for indices in (graph.inputs, graph.outputs):  # MicroInterpreter::AllocateTensors
        tail.allocate(k.POINTER * len(indices))
        for index in indices:
            tensor = _tensor_spec(graph, buffers, int(index))
            tail.allocate(k.TFLITE_TENSOR, 4)
            if tensor.channels:
                tail.allocate(k.TFLITE_AFFINE_QUANTIZATION, 4)
                tail.allocate(4 + 4 * tensor.channels, 4)
    used = head + tail.used
    required = max(used, tail_at_planning + planning, tail.used + _align_up(prepare_peak))
    unmodelled = tuple(dict.fromkeys(s.op for s, m in zip(specs, memories) if m is None))
    return ArenaPrediction(used, head, tail.used, required, unmodelled)
