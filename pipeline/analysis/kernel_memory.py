"""What each kernel of the pinned TFLM build (CMSIS-NN, Cortex-M4 with DSP) takes from the arena.

Per operator, read from the kernels' sources in the TFLM Arduino library (commit in tflm_ops):
- the builtin parameters the flatbuffer parser allocates (`core/api/flatbuffer_conversions.cpp`:
  `Allocate<TfLiteXxxParams>()`, placed with that struct's alignment);
- what `Init` allocates (`AllocatePersistentBuffer(sizeof(OpData))`, 16-byte aligned);
- what `Prepare` allocates persistently (per-channel multipliers and shifts, ...);
- the scratch buffers `Prepare` requests (planned in the head with the activations), sized by
  CMSIS-NN's own `*_get_buffer_size` rules for the path it takes at that shape.

Struct sizes are `sizeof`/`alignof` under arm-none-eabi-gcc 12 for the Cortex-M4 (32-bit
pointers), read by compiling each kernel's source (tests/tflm_struct_probe.py prints them from a
TFLM checkout, and tests/test_arena.py checks this table against it when TFLM_ARDUINO_DIR is set).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- sizeof / alignof on the Cortex-M4 (arm-none-eabi-gcc 12) -------------------------------------
# Allocator objects and per-model structs (micro_allocator.cpp, micro_interpreter.cpp).
SINGLE_ARENA_BUFFER_ALLOCATOR = 36
GREEDY_MEMORY_PLANNER = 44
MICRO_ALLOCATOR = 36
MICRO_BUILTIN_DATA_ALLOCATOR = 8
SUBGRAPH_ALLOCATIONS = 8
TFLITE_EVAL_TENSOR = 12
NODE_AND_REGISTRATION = 44
SCRATCH_BUFFER_HANDLE = 4
TFLITE_TENSOR = 64
TFLITE_AFFINE_QUANTIZATION = 12
SCRATCH_BUFFER_REQUEST = 12
ALLOCATION_INFO = 24
# GreedyMemoryPlanner::per_buffer_size(): BufferRequirements (16) + two int arrays + ListEntry (12)
# + the offsets array (4).
PLANNER_BYTES_PER_BUFFER = 16 + 4 + 4 + 12 + 4
MAX_SCRATCH_BUFFERS_PER_OP = 12  # kMaxScratchBuffersPerOp
ARENA_ALIGNMENT = 16  # MicroArenaBufferAlignment()
POINTER = 4

# Builtin parameters allocated by the parser: op -> (sizeof, alignof). Ops whose parser allocates
# nothing (QUANTIZE, DEQUANTIZE, LOGISTIC, PAD, RELU, ...) are absent.
BUILTIN_PARAMS: dict[str, tuple[int, int]] = {
    "CONV_2D": (24, 4),
    "DEPTHWISE_CONV_2D": (28, 4),
    "FULLY_CONNECTED": (4, 1),
    "AVERAGE_POOL_2D": (40, 4),
    "MAX_POOL_2D": (40, 4),
    "L2_POOL_2D": (40, 4),
    "SOFTMAX": (4, 4),
    "ADD": (2, 1),
    "SUB": (2, 1),
    "MUL": (1, 1),
    "DIV": (1, 1),
    "MEAN": (1, 1),
    "SUM": (1, 1),
    "REDUCE_MAX": (1, 1),
    "CONCATENATION": (8, 4),
    "RESHAPE": (36, 4),
    "SQUEEZE": (36, 4),
    "LEAKY_RELU": (4, 4),
    "STRIDED_SLICE": (20, 4),
    "SVDF": (8, 4),
    "SPLIT": (4, 4),
    "SPLIT_V": (4, 4),
    "PACK": (8, 4),
    "UNPACK": (8, 4),
    "TRANSPOSE_CONV": (16, 4),
    "RESIZE_BILINEAR": (2, 1),
    "RESIZE_NEAREST_NEIGHBOR": (2, 1),
    "SHAPE": (1, 1),
    "GATHER": (8, 4),
    "ARG_MAX": (1, 1),
    "ARG_MIN": (1, 1),
    "L2_NORMALIZATION": (1, 1),
    "MIRROR_PAD": (1, 1),
    "CAST": (2, 1),
    "DEPTH_TO_SPACE": (4, 4),
    "SPACE_TO_DEPTH": (4, 4),
    "CUMSUM": (2, 1),
}
# sizeof of the struct each kernel's Init allocates (16-byte aligned). None: the kernel has no Init.
INIT_BYTES: dict[str, int | None] = {
    "CONV_2D": 60,  # cmsis_nn/conv.cpp OpData {OpDataConv; int buffer_idx}
    "DEPTHWISE_CONV_2D": 60,  # cmsis_nn/depthwise_conv.cpp OpData
    "FULLY_CONNECTED": 60,  # cmsis_nn/fully_connected.cpp OpData
    "AVERAGE_POOL_2D": 36,  # cmsis_nn/pooling.cpp OpData {OpDataPooling; int buffer_idx}
    "MAX_POOL_2D": 36,
    "SOFTMAX": 64,  # cmsis_nn/softmax.cpp CMSISNNSoftmaxParams
    "ADD": 60,  # cmsis_nn/add.cpp OpData
    "MUL": 36,  # mul.h OpDataMul
    "SUB": 52,  # sub.h OpDataSub
    "CONCATENATION": 24,  # concatenation.cpp OpData
    "PAD": 56,
    "PADV2": 56,  # pad.cpp OpData
    "QUANTIZE": 32,  # quantize.h OpDataQuantizeReference
    "DEQUANTIZE": 32,  # dequantize.h DequantizeOpData
    "LOGISTIC": 16,  # logistic.h OpDataLogistic
    "TANH": 16,  # tanh.cpp OpData
    "MEAN": 40,
    "SUM": 40,
    "REDUCE_MAX": 40,  # reduce.h OpDataReduce
    "RELU": 28,  # activations.h ReluOpData
    "RELU6": 2,  # activations.h Relu6OpData
    "LEAKY_RELU": 24,  # leaky_relu.h LeakyReluOpData
    "STRIDED_SLICE": 84,  # strided_slice.cpp StridedSliceParams
    "RESHAPE": None,
    "SQUEEZE": None,  # RegisterOp(nullptr, Prepare, Eval)
}

# The project's reference-exact adapters (firmware/tflm/tinyml_{fully_connected,relu6}.cc),
# registered with both kernel sets, keep a struct of their own beside the library's OpData:
REFERENCE_FC_DATA = 12  # FcData {void* library_data; double* scale; int32_t scale_count}
REFERENCE_FC_SCALE = 8  # one double per output of an int8 layer (taken before the scales are read)
REFERENCE_RELU6_DATA = 36  # Relu6Data {void*; tinyml_relux_params (7 x int32); bool}


@dataclass(frozen=True)
class TensorSpec:
    index: int
    shape: tuple[int, ...]
    dtype: str
    constant: bool
    channels: int  # entries of the quantization scale array (0: not quantized)


@dataclass(frozen=True)
class OperatorSpec:
    op: str
    inputs: tuple[TensorSpec | None, ...]
    outputs: tuple[TensorSpec, ...]
    stride: tuple[int, int] = (1, 1)  # (h, w)
    dilation: tuple[int, int] = (1, 1)  # (h, w)
    shape_has_wildcard: bool = False  # RESHAPE output shape with a -1 (kernel copies dims)

    def input(self, i: int) -> TensorSpec:
        """An input the kernel needs (optional inputs, such as a missing bias, are None)."""
        tensor = self.inputs[i]
        if tensor is None:
            raise ValueError(f"{self.op}: input {i} is missing")
        return tensor


@dataclass(frozen=True)
class KernelMemory:
    builtin_params: tuple[int, int] | None  # (bytes, alignment) from the parser
    init_bytes: int | None  # Init's OpData, 16-byte aligned
    persistent: tuple[int, ...]  # Prepare's persistent buffers, each 16-byte aligned
    scratch: tuple[int, ...]  # scratch buffers requested in Prepare (head)


def _elements(shape: tuple[int, ...]) -> int:
    count = 1
    for d in shape:
        count *= d
    return count


def conv_scratch_bytes(op: OperatorSpec) -> int:
    """arm_convolve_wrapper_s8_get_buffer_size (DSP, no MVE): the 1x1 fast path (1x1 kernel,
    stride 1, no padding, no dilation) needs none; 1xN and the generic im2col both take
    2 columns of int16: 2 * C_in * K_h * K_w * 2 bytes."""
    _, k_h, k_w, c_in = op.input(1).shape
    if (k_h, k_w) == (1, 1) and op.stride == (1, 1) and op.dilation == (1, 1):
        return 0
    return 2 * c_in * k_h * k_w * 2


def depthwise_scratch_bytes(op: OperatorSpec) -> int:
    """arm_depthwise_conv_wrapper_s8_get_buffer_size: arm_depthwise_conv_s8_opt's buffer
    C * K_h * K_w * 2 whenever the multiplier is 1, the batch 1 and there is no dilation (asked
    for even when the 3x3 kernel then runs without it); otherwise none."""
    c_in = op.input(0).shape[-1]
    _, k_h, k_w, c_out = op.input(1).shape
    batch = op.input(0).shape[0] if len(op.input(0).shape) == 4 else 1
    if c_in == c_out and batch == 1 and op.dilation == (1, 1):
        return c_in * k_h * k_w * 2
    return 0


def kernel_memory(op: OperatorSpec) -> KernelMemory | None:
    """The arena the kernel of `op` takes, or None for kernels this table does not cover."""
    if op.op not in INIT_BYTES:
        return None
    params = BUILTIN_PARAMS.get(op.op)
    init = INIT_BYTES[op.op]
    data_in = op.input(0)
    quantized = data_in.dtype in ("int8", "int16")
    persistent: list[int] = []
    scratch: list[int] = []
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        c_out = op.input(1).shape[0 if op.op == "CONV_2D" else 3]
        if quantized:
            persistent += [4 * c_out, 4 * c_out]  # per-channel output multiplier and shift
        if data_in.dtype == "int8":
            size = conv_scratch_bytes(op) if op.op == "CONV_2D" else depthwise_scratch_bytes(op)
            if size:
                scratch.append(size)
    elif op.op == "FULLY_CONNECTED":
        out_shape = op.outputs[0].shape
        weights = op.input(1)
        accum_depth = weights.shape[-1]
        if data_in.dtype == "int8" and len(out_shape) > 2 and accum_depth % 4 == 0:
            persistent += [4 * out_shape[-1], 4 * out_shape[-1]]  # run as a 1x1 convolution
        persistent.append(REFERENCE_FC_DATA)
        int8 = data_in.dtype == weights.dtype == op.outputs[0].dtype == "int8"
        if int8 and len(weights.shape) == 2:
            persistent.append(REFERENCE_FC_SCALE * weights.shape[0])
    elif op.op == "RELU6":
        persistent.append(REFERENCE_RELU6_DATA)
    elif op.op == "AVERAGE_POOL_2D":
        if quantized:
            scratch.append(4 * op.input(0).shape[-1])  # arm_avgpool_s8: int32 per channel
    elif op.op == "CONCATENATION":
        if op.outputs[0].dtype == "int8":
            inputs = sum(1 for t in op.inputs if t is not None)
            persistent += [4 * inputs, 4 * inputs]  # input scales and zero points
    elif op.op in ("MEAN", "SUM"):
        if quantized:
            scratch.append(4 * _elements(op.outputs[0].shape))  # int32 accumulators
    elif op.op == "REDUCE_MAX":
        axis = op.inputs[1]
        scratch += [4 * len(data_in.shape), 4 * _elements(axis.shape) if axis else 4]
    elif op.op == "RESHAPE" and op.shape_has_wildcard:
        persistent.append(4 + 4 * len(op.outputs[0].shape))  # CreateWritableTensorDimsWithCopy
    return KernelMemory(params, init, tuple(persistent), tuple(scratch))
