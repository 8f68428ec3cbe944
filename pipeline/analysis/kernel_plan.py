"""Which kernel runs each layer with `--kernels tinyml`: the project's kernels cover a layer when
the predicates of firmware/kernels (tinyml_dwconv3x3_s8_covers, tinyml_dwconv_s8_covers,
tinyml_conv1x1_s8_covers, tinyml_conv_smallk_s8_covers, tinyml_conv_s8_covers and
the adapter's type checks in firmware/tflm/tinyml_{conv,depthwise}.cc) accept it; every other layer runs
CMSIS-NN's kernel. This module mirrors those predicates from the .tflite alone (shapes, strides,
per-channel multipliers as TFLM's QuantizeMultiplier computes them, biases), so the report can say
which layers used which kernels; tests/test_kernels.py checks both agree on random layers. The 1x1
kernel's predicate includes a cost rule (pointwise_wins: models of both kernels' instruction
counts), and a 1x1 layer it declines runs CMSIS-NN's kernel (tinyml_conv1x1_s8_route).

Scratch: the project kernels need no arena scratch of their own (their buffers live on the stack, at
most about 6 KiB: firmware/kernels/tinyml_kernels.h; tinyml_conv_s8 uses the buffer CMSIS-NN's conv
Prepare requests anyway), and Prepare is CMSIS-NN's, so the arena is the same with both kernel sets
(tests/test_kernels.py compares the emulated arenas)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.analysis.tflite_model import BUILTIN_NAMES, TENSOR_TYPES, parsed
from pipeline.kernel_sets import CMSIS_NN, TINYML, check_kernels

if TYPE_CHECKING:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

DEPTHWISE_KERNEL = "tinyml_dwconv3x3_s8"
ANY_DEPTHWISE_KERNEL = "tinyml_dwconv_s8"
SMALLK_KERNEL = "tinyml_conv_smallk_s8"
POINTWISE_KERNEL = "tinyml_conv1x1_s8"
CONV_KERNEL = "tinyml_conv_s8"
SMALLK_MAX_TAPS = 64  # TINYML_SMALLK_MAX_TAPS
SMALLK_MAX_IN_C = 3  # TINYML_SMALLK_MAX_IN_C
MAX_TAP_PRODUCT = 255 * 128  # |input - zero point| * |int8 weight|
MAX_TRANSPOSED_FILTER = 1024  # kMaxTransposedFilter of firmware/tflm/tinyml_depthwise.cc
# firmware/kernels/dwconv_s8.c: its row pool (int16), constants (words), limits, and the
# SMMLAR requantization's largest right shift (TK_K_MAX_RIGHT_SHIFT).
ANY_DW_POOL = 2048
ANY_DW_CONST_WORDS = 352
ANY_DW_MAX_KH = 16
ANY_DW_MAX_WORDS = 8
ANY_DW_QWORDS = 4
K_MAX_RIGHT_SHIFT = 23


@dataclass(frozen=True)
class LayerKernel:
    index: int
    op: str
    kernel: str  # the function that runs it ("cmsis-nn" for the library's kernels)
    reason: str = ""  # why a conv layer fell back to CMSIS-NN under --kernels tinyml


def quantize_multiplier(value: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier (quantization_util.cc): (significand, shift) with
    value = significand * 2^(shift - 31), significand in [2^30, 2^31)."""
    if value == 0.0:
        return 0, 0
    q, shift = math.frexp(value)
    fixed = int(math.floor(q * (1 << 31) + 0.5))  # TfLiteRound: half away from zero (q > 0)
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return fixed, shift


def channel_shifts(input_scale: float, filter_scales, output_scale: float) -> list[int]:
    """Per-channel shifts as TFLM's PopulateConvolutionQuantizationParams computes them (float
    scales widened to double)."""
    shifts = []
    for scale in filter_scales:
        effective = float(np.float32(input_scale)) * float(np.float32(scale)) / float(np.float32(output_scale))
        shifts.append(quantize_multiplier(effective)[1])
    return shifts


def quant_reason(shifts, bias, taps: int) -> str:
    """'' when the fast requantization applies (tk_quant_covered), else why not."""
    if any(s > -1 or s < -31 for s in shifts):
        return "a per-channel multiplier of 0.5 or more (no right shift)"
    limit = (1 << 30) - 1 - taps * MAX_TAP_PRODUCT
    if limit <= 0:
        return "accumulators could reach 2^30"
    if bias is not None and len(bias) and int(np.max(np.abs(np.asarray(bias, np.int64)))) > limit:
        return "a bias near 2^30"
    return ""


def pointwise_quant_reason(shifts) -> str:
    """'' when the 1x1 kernel takes the layer's quantization (tk_quant_exact_covered: any right
    shift, any bias; channels outside the fast form requantize exactly), else why not."""
    if any(s > 0 for s in shifts):
        return "a per-channel multiplier of 1 or more (a left shift)"
    return ""


def pointwise_tail_pixels(in_c: int, out_c: int, pixels: int) -> int:
    """Pixels the 1x1 kernel computes in plain C (pw_tail_pixels of firmware/kernels/conv1x1_s8.c)."""
    tail_c = 0 if in_c % 4 == 0 else 3 if in_c == 1 else 1
    tail_k = 0 if out_c >= 4 else 3 if out_c == 1 else 1
    return min(max(tail_c, tail_k), pixels)


POINTWISE_CHUNK = 256  # PW_CHUNK: input channels packed at a time
POINTWISE_SIX_MIN_PIXELS = 8  # PW6_MIN_PIXELS


def pointwise_blocks(in_c: int, out_c: int, n_blocked: int) -> tuple[int, int]:
    """Blocks of six and of four channels the 1x1 kernel takes (pw_blocks)."""
    if in_c > POINTWISE_CHUNK or n_blocked < POINTWISE_SIX_MIN_PIXELS or out_c < 6:
        return 0, (out_c + 3) // 4 if n_blocked > 0 else 0
    six = out_c // 6 - 1 if out_c % 6 == 2 else out_c // 6
    return six, (0, 1, 2, 1, 1, 2)[out_c % 6]


def pointwise_wins(pixels: int, in_c: int, out_c: int) -> bool:
    """The 1x1 kernel's cost rule (pw_wins of firmware/kernels/conv1x1_s8.c, the same integers):
    both kernels' modelled instruction counts x100, this kernel's at most 94% of CMSIS-NN's."""
    c, k, n = int(in_c), int(out_c), int(pixels)  # Python ints: the model's shapes are int32
    tail = pointwise_tail_pixels(c, k, n)
    nb, steps, chunks = n - tail, (c + 3) // 4, (c + POINTWISE_CHUNK - 1) // POINTWISE_CHUNK
    six, four = pointwise_blocks(c, k, nb)
    ours = (
        six * (nb * (1801 * steps + 292 * ((steps + 3) // 4) + 5222) + 5359 * steps + 45490)
        + four * (nb * (1393 * steps + 3806 * chunks) + 2725 * steps + 45460 * chunks)
        + tail * k * (598 * c + 5008)
        + 1365 * k
        + 58536  # with the rule's own 120 instructions
    )
    if c % 4 == 0:
        k2, n2, c16, cr = k // 2, n // 2, c // 16, c % 16
        theirs = (
            k2 * (609 * c + 6316 + n2 * (8832 * c16 + 1055 * cr + 15477) + (n % 2) * (5745 * c16 + 683 * cr + 7996))
            + (k % 2) * n * (601 * c + 4797)
            + 63919
        )
    else:
        theirs = n * k * (246 * c + 3970) + 400 * k * c + 3042 * k + 170 * n + 65355
    return 100 * ours <= 94 * theirs


def any_depthwise_reason(input_shape, filter_shape, output_shape, stride, shifts, bias) -> str:
    """'' when tinyml_dwconv_s8_covers accepts the depthwise layer (any kernel size, stride and
    channel multiplier), else why not."""
    _, in_h, in_w, in_c = input_shape
    _, k_h, k_w, out_c = filter_shape
    out_h, out_w = output_shape[1], output_shape[2]
    s_h, s_w = stride
    if in_c < 1 or out_c % in_c:
        return f"{out_c} output channels for {in_c} input channels"
    if min(k_h, k_w, s_h, s_w, out_h, out_w) < 1:
        return "an empty kernel, stride or output"
    if k_w == 1 and k_h > 1 and in_w == 1 and out_w == 1:  # dwa_oriented: k_h x 1 on a column
        k_h, k_w, in_w, out_h, out_w, s_w = k_w, k_h, in_h, out_w, out_h, s_h
    words = k_w // 2 + 1
    if k_h > ANY_DW_MAX_KH or words > ANY_DW_MAX_WORDS:
        return f"{k_h}x{k_w} depthwise kernel (covered: k_h <= {ANY_DW_MAX_KH}, k_w <= {2 * ANY_DW_MAX_WORDS - 1})"
    if k_w < 2:  # slower than CMSIS-NN
        return f"{k_h}x{k_w} depthwise kernel over {in_w} columns (covered: k_w >= 2)"
    if s_w > 2:
        return f"column stride {s_w} (covered: 1 and 2)"
    if out_w < 2 or out_h * out_w < 4:  # the kernel orients a one-column map as one row
        return f"{out_h}x{out_w} output pixels (covered: 2 or more columns, 4 or more pixels)"
    blocks = (out_w + 3) & ~3  # dwa_last_column
    if s_w == 1:
        last = blocks - 4 + 2 * words + 1
    else:
        last = 2 * (blocks - 1) + 2 * ((k_w + 1) // 2) - 1
    pitch = (last + 2) & ~1
    slots = 1 if k_h == 1 else 2 * k_h
    multiplier = out_c // in_c
    channel_words = k_h * 2 * words + ANY_DW_QWORDS
    consts = ANY_DW_CONST_WORDS // (multiplier * channel_words)
    if consts < 1 and channel_words <= ANY_DW_CONST_WORDS:  # output channels in passes
        consts = 1
    group = min(4, ANY_DW_POOL // (slots * pitch), consts)
    if group < 1:
        return f"rows of {pitch} columns or channel multiplier {multiplier} over the kernel's stack buffers"
    reason = quant_reason(shifts, bias, filter_shape[1] * filter_shape[2])
    if reason:
        return reason
    if any(s < -K_MAX_RIGHT_SHIFT for s in shifts):
        return f"a right shift over {K_MAX_RIGHT_SHIFT}"
    return ""


def layer_reason(
    op: str, input_shape, filter_shape, output_shape, stride, dilation, dtypes: tuple[str, ...], shifts, bias
) -> tuple[str, str]:
    """(kernel, reason) for one CONV_2D / DEPTHWISE_CONV_2D under --kernels tinyml."""
    if any(d != "int8" for d in dtypes[:3]) or (len(dtypes) > 3 and dtypes[3] != "int32"):
        return CMSIS_NN, "not int8 (int8 input, weights and output, int32 bias)"
    if len(input_shape) != 4 or len(filter_shape) != 4 or len(output_shape) != 4 or input_shape[0] != 1:
        return CMSIS_NN, "not a 4-D batch-1 layer"
    if tuple(dilation) != (1, 1):
        return CMSIS_NN, "dilated"
    if op == "DEPTHWISE_CONV_2D":  # the order of firmware/tflm/tinyml_depthwise.cc
        _, k_h, k_w, out_c = filter_shape
        if filter_shape[0] != 1:
            return CMSIS_NN, "not a [1, k_h, k_w, channels] depthwise filter"
        reason = ""
        if (k_h, k_w) != (3, 3):
            reason = f"{k_h}x{k_w} depthwise kernel (covered: 3x3)"
        elif out_c != input_shape[3]:
            reason = "channel multiplier other than 1"
        elif not all(1 <= s <= 2 for s in stride):
            reason = f"stride {stride[0]}x{stride[1]} (covered: 1 and 2)"
        else:
            reason = quant_reason(shifts, bias, 9)
        if not reason:
            return DEPTHWISE_KERNEL, ""
        if input_shape[3] == 1:
            # One input channel with a multiplier: the small-k convolution, filter transposed.
            if k_h * k_w > SMALLK_MAX_TAPS or k_h * k_w * out_c > MAX_TRANSPOSED_FILTER:
                reason = f"one input channel, {k_h}x{k_w}x{out_c} filter over {MAX_TRANSPOSED_FILTER} B"
            else:
                reason = quant_reason(shifts, bias, k_h * k_w)
            if not reason:
                return SMALLK_KERNEL, ""
        # Every other kernel size, stride and multiplier.
        any_reason = any_depthwise_reason(input_shape, filter_shape, output_shape, stride, shifts, bias)
        if not any_reason:
            return ANY_DEPTHWISE_KERNEL, ""
        return CMSIS_NN, f"{reason}; {any_reason}" if input_shape[3] == 1 else any_reason
    if op == "CONV_2D":
        out_c, k_h, k_w, in_c = filter_shape
        if in_c != input_shape[3]:
            return CMSIS_NN, "grouped convolution"
        pointwise_reason = ""  # the order of firmware/tflm/tinyml_conv.cc: 1x1 first
        if (k_h, k_w) == (1, 1) and tuple(stride) == (1, 1) and tuple(output_shape[1:3]) == tuple(input_shape[1:3]):
            if not pointwise_wins(output_shape[1] * output_shape[2], in_c, out_c):  # tinyml_conv1x1_s8_route
                return CMSIS_NN, "CMSIS-NN's 1x1 kernel takes fewer instructions for this shape (cost rule)"
            pointwise_reason = pointwise_quant_reason(shifts)
            if not pointwise_reason:
                return POINTWISE_KERNEL, ""
        if in_c <= SMALLK_MAX_IN_C and k_h * k_w * in_c <= SMALLK_MAX_TAPS:
            if not quant_reason(shifts, bias, k_h * k_w * in_c):
                return SMALLK_KERNEL, ""
        reason = conv_reason(filter_shape, stride, shifts)  # then tinyml_conv_s8
        return (CMSIS_NN, pointwise_reason or reason) if reason else (CONV_KERNEL, "")
    return CMSIS_NN, ""


def conv_reason(filter_shape, stride, shifts) -> str:
    """'' when tinyml_conv_s8_covers accepts a CONV_2D that passed the adapter's checks, else why
    not. It runs in the scratch buffer CMSIS-NN's Prepare requests for arm_convolve_s8, which a
    stride-1 1x1 does not get (TFLite pads a stride-1 1x1 by 0)."""
    _, k_h, k_w, _ = filter_shape
    if (k_h, k_w) == (1, 1) and tuple(stride) == (1, 1):
        return "stride-1 1x1 (CMSIS-NN requests no scratch buffer for it)"
    return pointwise_quant_reason(shifts)


def plan_kernels(model: "schema.ModelT | bytes", kernels: str, source: str = "model") -> tuple[LayerKernel, ...]:
    """One LayerKernel per operator, in execution order."""
    check_kernels(kernels)
    model = parsed(model, source)
    graph = model.subgraphs[0]
    buffers = model.buffers or []
    plan = []
    for index, operator in enumerate(graph.operators or []):
        code = model.operatorCodes[operator.opcodeIndex]
        op = BUILTIN_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        if kernels != TINYML or op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            plan.append(LayerKernel(index, op, CMSIS_NN))
            continue
        output = graph.tensors[operator.outputs[0]]
        inp, filt = graph.tensors[operator.inputs[0]], graph.tensors[operator.inputs[1]]
        bias_index = operator.inputs[2] if len(operator.inputs) > 2 else -1
        bias_tensor = graph.tensors[bias_index] if bias_index >= 0 else None
        dtypes = tuple(TENSOR_TYPES.get(t.type, "?") for t in (inp, filt, output)) + (
            (TENSOR_TYPES.get(bias_tensor.type, "?"),) if bias_tensor is not None else ()
        )
        options = operator.builtinOptions
        stride = (options.strideH or 1, options.strideW or 1)
        dilation = (getattr(options, "dilationHFactor", 1) or 1, getattr(options, "dilationWFactor", 1) or 1)
        shifts, bias = [], None
        try:
            filter_scales = list(filt.quantization.scale)
            out_c = output.shape[3]
            if len(filter_scales) == 1:
                filter_scales = filter_scales * out_c
            shifts = channel_shifts(
                float(inp.quantization.scale[0]), filter_scales, float(output.quantization.scale[0])
            )
        except (AttributeError, TypeError, IndexError):
            plan.append(LayerKernel(index, op, CMSIS_NN, "no per-channel quantization"))
            continue
        if (
            bias_tensor is not None
            and 0 < bias_tensor.buffer < len(buffers)
            and buffers[bias_tensor.buffer].data is not None
        ):
            bias = np.frombuffer(bytes(bytearray(buffers[bias_tensor.buffer].data)), dtype="<i4")
        kernel, reason = layer_reason(
            op, tuple(inp.shape), tuple(filt.shape), tuple(output.shape), stride, dilation, dtypes, shifts, bias
        )
        plan.append(LayerKernel(index, op, kernel, reason))
    return tuple(plan)


def kernel_counts(plan) -> dict[str, int]:
    """Layers per kernel function."""
    counts: dict[str, int] = {}
    for layer in plan:
        counts[layer.kernel] = counts.get(layer.kernel, 0) + 1
    return counts
