"""TFLite's int8 convolution arithmetic in numpy, written from the reference kernels
(tensorflow/lite/kernels/internal/reference/integer_ops/{conv,depthwise_conv}.h and gemmlowp's
fixed-point helpers), as the independent reference for the project's kernels (firmware/kernels)."""
from __future__ import annotations

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _wrap32(values: np.ndarray) -> np.ndarray:
    return ((values.astype(np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def multiply_by_quantized_multiplier(acc: np.ndarray, multiplier: np.ndarray,
                                     shift: np.ndarray) -> np.ndarray:
    """MultiplyByQuantizedMultiplier per output channel (the last axis), double rounding:
    SaturatingRoundingDoublingHighMul(acc * 2^left, multiplier), then RoundingDivideByPOT(right)."""
    acc = np.asarray(acc, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    a = _wrap32(acc * (np.int64(1) << left))
    ab = a * multiplier
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # gemmlowp divides with truncation toward zero.
    num = ab + nudge
    x = np.where(num >= 0, num // (1 << 31), -((-num) // (1 << 31)))
    x = np.where((a == INT32_MIN) & (multiplier == INT32_MIN), INT32_MAX, x)
    mask = (np.int64(1) << right) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> right) + (remainder > threshold)


def _output(acc, multiplier, shift, output_zp, act_min, act_max) -> np.ndarray:
    out = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_zp
    return np.clip(out, act_min, act_max).astype(np.int8)


def _padded(x: np.ndarray, input_zp: int, pad_h: int, pad_w: int, need_h: int, need_w: int):
    """x (H, W, C) inside a frame of the zero point (a padded tap adds (zp - zp) * w = 0)."""
    h, w, c = x.shape
    frame = np.full((max(need_h, pad_h + h), max(need_w, pad_w + w), c), input_zp, dtype=np.int64)
    frame[pad_h:pad_h + h, pad_w:pad_w + w] = x
    return frame


def depthwise_conv(x, filt, bias, *, stride, pad, out_hw, input_zp, output_zp, multiplier, shift,
                   act_min=-128, act_max=127) -> np.ndarray:
    """x (H, W, C) int8, filt (KH, KW, C * m) int8 (channel multiplier m), bias (C * m,) int32 or
    None."""
    acc = depthwise_accumulators(x, filt, bias, stride=stride, pad=pad, out_hw=out_hw,
                                 input_zp=input_zp)
    return _output(acc, multiplier, shift, output_zp, act_min, act_max)


def _windows(x, bias, kh, kw, channels, *, stride, pad, out_hw, input_zp):
    """The bias-started accumulators (out_h, out_w, channels) and, per tap (ky, kx), the input
    values minus the zero point that tap meets at every output."""
    oh, ow = out_hw
    sh, sw = stride
    frame = _padded(x, input_zp, pad[0], pad[1], (oh - 1) * sh + kh, (ow - 1) * sw + kw)
    frame = frame - input_zp
    acc = np.zeros((oh, ow, channels), dtype=np.int64)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64)
    taps = {(ky, kx): frame[ky:ky + (oh - 1) * sh + 1:sh, kx:kx + (ow - 1) * sw + 1:sw]
            for ky in range(kh) for kx in range(kw)}
    return acc, taps


def depthwise_accumulators(x, filt, bias, *, stride, pad, out_hw, input_zp) -> np.ndarray:
    """filt (KH, KW, C * m): output channel o reads input channel o // m (channel multiplier m)."""
    kh, kw, c = filt.shape
    x = np.repeat(x, c // x.shape[2], axis=2)
    acc, taps = _windows(x, bias, kh, kw, c, stride=stride, pad=pad, out_hw=out_hw,
                         input_zp=input_zp)
    for (ky, kx), window in taps.items():
        acc += window * filt[ky, kx].astype(np.int64)
    return acc


def conv(x, filt, bias, *, stride, pad, out_hw, input_zp, output_zp, multiplier, shift,
         act_min=-128, act_max=127) -> np.ndarray:
    """x (H, W, Cin) int8, filt (Cout, KH, KW, Cin) int8, bias (Cout,) int32 or None."""
    acc = conv_accumulators(x, filt, bias, stride=stride, pad=pad, out_hw=out_hw,
                            input_zp=input_zp)
    return _output(acc, multiplier, shift, output_zp, act_min, act_max)


def conv_accumulators(x, filt, bias, *, stride, pad, out_hw, input_zp) -> np.ndarray:
    cout, kh, kw, cin = filt.shape
    acc, taps = _windows(x, bias, kh, kw, cout, stride=stride, pad=pad, out_hw=out_hw,
                         input_zp=input_zp)
    for (ky, kx), window in taps.items():
        acc += np.einsum("hwc,oc->hwo", window, filt[:, ky, kx].astype(np.int64))
    return acc


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(output size, leading pad) of TFLite's SAME padding."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


def valid_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    return (size - kernel) // stride + 1, 0
