"""Random per-layer test vectors for the project's kernels (firmware/kernels), with expected
outputs from the numpy reference (tests/kernel_reference.py), written as a C header that the host
driver and the QEMU firmware compile in (firmware/host/kernel_cases.h)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import kernel_reference as ref
from pipeline.analysis import kernel_plan

DEPTHWISE, SMALLK, POINTWISE = 0, 1, 2
CONV_ANY = 20  # tinyml_conv_s8: any other convolution (issue 21)
DEPTHWISE_ANY = 10  # tinyml_dwconv_s8: any k_h x k_w, stride, channel multiplier
DEPTHWISE_KINDS = (DEPTHWISE, DEPTHWISE_ANY)


@dataclass
class Case:
    kind: int
    x: np.ndarray            # (H, W, C) int8
    filt: np.ndarray         # depthwise (KH, KW, C * multiplier); small-k (Cout, KH, KW, Cin)
    bias: np.ndarray | None  # int32
    stride: tuple[int, int]
    pad: tuple[int, int]
    out_hw: tuple[int, int]
    input_zp: int
    output_zp: int
    act: tuple[int, int]
    multiplier: np.ndarray
    shift: np.ndarray
    covered: bool  # the kernel's `covers` predicate (1x1: with the cost rule) must accept it
    supported: bool | None = None  # the kernel computes it (1x1: tinyml_conv1x1_s8_supports)

    def __post_init__(self):
        if self.supported is None:
            self.supported = self.covered
        if self.kind == POINTWISE and self.covered:
            h, w, c = self.x.shape
            self.covered = kernel_plan.pointwise_wins(h * w, c, self.out_c)

    @property
    def out_c(self) -> int:
        return self.filt.shape[-1] if self.kind in DEPTHWISE_KINDS else self.filt.shape[0]

    @property
    def kernel_hw(self) -> tuple[int, int]:
        return self.filt.shape[:2] if self.kind in DEPTHWISE_KINDS else self.filt.shape[1:3]

    @property
    def macs(self) -> int:
        depthwise = self.kind in DEPTHWISE_KINDS
        taps = int(np.prod(self.filt.shape[:-1] if depthwise else self.filt.shape[1:]))
        return self.out_hw[0] * self.out_hw[1] * self.out_c * taps

    def accumulators(self) -> np.ndarray:
        fn = ref.depthwise_accumulators if self.kind in DEPTHWISE_KINDS else ref.conv_accumulators
        return fn(self.x, self.filt, self.bias, stride=self.stride, pad=self.pad,
                  out_hw=self.out_hw, input_zp=self.input_zp)

    def fit_shifts(self, rng) -> None:
        """Right shifts that spread the outputs over the int8 range (few saturate), so the test
        sees every rounding decision; a tenth of the channels keep the shift of -1."""
        spread = np.abs(self.accumulators()).reshape(-1, self.out_c).max(axis=0) + 1
        fitted = -np.clip(np.round(np.log2(spread / 96.0)), 1, 31).astype(np.int64)
        keep = (self.shift > -1) | (self.shift == -1)
        self.shift = np.where(keep, self.shift, fitted - rng.integers(0, 2, self.out_c))

    def expected(self) -> np.ndarray:
        fn = ref.depthwise_conv if self.kind in DEPTHWISE_KINDS else ref.conv
        return fn(self.x, self.filt, self.bias, stride=self.stride, pad=self.pad,
                  out_hw=self.out_hw, input_zp=self.input_zp, output_zp=self.output_zp,
                  multiplier=self.multiplier, shift=self.shift, act_min=self.act[0],
                  act_max=self.act[1])


def _zero_point(rng) -> int:
    return int(rng.choice([-128, 127, -1, 0, int(rng.integers(-128, 128))]))


def _geometry(rng, size_h, size_w, kh, kw):
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    padding = rng.choice(["same", "valid"]) if min(size_h - kh, size_w - kw) >= 0 else "same"
    fn = ref.same_padding if padding == "same" else ref.valid_padding
    oh, ph = fn(size_h, kh, stride[0])
    ow, pw = fn(size_w, kw, stride[1])
    return stride, (ph, pw), (oh, ow)


def _quant(rng, channels: int, covered: bool, kind: int = DEPTHWISE):
    multiplier = rng.integers(1 << 30, (1 << 31) - 1, size=channels, dtype=np.int64)
    # Power-of-two scales (multiplier 2^30) put products exactly on rounding midpoints.
    multiplier[rng.random(channels) < 0.3] = 1 << 30
    shift = rng.integers(-12, -5, size=channels, dtype=np.int64)
    shift[rng.random(channels) < 0.1] = -1  # outputs mostly saturated: still exact
    if kind in (POINTWISE, CONV_ANY) and covered and rng.random() < 0.3:
        shift[rng.random(channels) < 0.3] = 0  # no right shift: the exact requantization
    if not covered:  # outside the kernels: a left shift, or (except 1x1 and any-conv) no shift
        exact_ok = kind in (POINTWISE, CONV_ANY)
        shift[int(rng.integers(0, channels))] = 1 if exact_ok else int(rng.choice([0, 1]))
    return multiplier, shift


def _act(rng, output_zp: int) -> tuple[int, int]:
    kind = rng.choice(["none", "relu", "relu6"])
    if kind == "none":
        return -128, 127
    if kind == "relu":
        return max(output_zp, -128), 127
    return max(output_zp, -128), min(127, max(output_zp, -128) + int(rng.integers(1, 100)))


def _bias(rng, channels: int):
    if rng.random() < 0.15:
        return None
    return rng.integers(-(1 << 18), 1 << 18, size=channels, dtype=np.int64).astype(np.int32)


def _weights(rng, shape) -> np.ndarray:
    """Full-range int8 weights, or tiny ones: small accumulators get right shifts of 1-3, where
    every rounding midpoint shows."""
    bound = 128 if rng.random() < 0.5 else int(rng.integers(1, 4))
    return rng.integers(-bound, bound, size=shape, dtype=np.int64).astype(np.int8)


def random_case(rng, kind: int, covered: bool = True) -> Case:
    h, w = int(rng.integers(1, 14)), int(rng.integers(1, 14))
    if kind == DEPTHWISE:
        c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 13, 16, 17]))
        kh = kw = 3
        filt = _weights(rng, (3, 3, c))
        out_c = c
    elif kind == CONV_ANY:
        c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 32]))
        kh, kw = [(3, 3), (3, 3), (1, 3), (3, 1), (1, 5), (5, 1), (5, 5), (1, 1), (2, 2), (1, 7)][
            int(rng.integers(0, 10))]
        if kh == 1 and rng.random() < 0.5:
            h = 1  # a 1-D model's map
        out_c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 16]))
        filt = _weights(rng, (out_c, kh, kw, c))
    elif kind == POINTWISE:
        c = int(rng.choice([1, 3, 4, 5, 7, 8, 13, 16, 31, 64]))
        kh = kw = 1
        out_c = int(rng.choice([1, 3, 4, 5, 6, 8, 11, 16]))
        filt = _weights(rng, (out_c, 1, 1, c))
    else:
        c = int(rng.choice([1, 1, 2, 3, 3]))
        kh, kw = int(rng.choice([1, 3, 3, 5])), int(rng.choice([1, 3, 3, 4]))
        while kh * kw * c > 64:
            kh = max(1, kh - 1)
        out_c = int(rng.choice([1, 3, 4, 7, 8, 16]))
        filt = _weights(rng, (out_c, kh, kw, c))
    x = rng.integers(-128, 128, size=(h, w, c), dtype=np.int64).astype(np.int8)
    if kind == POINTWISE:
        stride, pad, out_hw = (1, 1), (0, 0), (h, w)
    else:
        stride, pad, out_hw = _geometry(rng, h, w, kh, kw)
    refuse_shape = False  # refused for its shape alone (its quantization is coverable)
    if kind == CONV_ANY and (kh, kw, *stride) == (1, 1, 1, 1):
        if covered:  # the stride-1 1x1 is not this kernel's (CMSIS-NN gives it no scratch)
            stride, pad, out_hw = (2, 2), (0, 0), ((h + 1) // 2, (w + 1) // 2)
        else:
            refuse_shape = rng.random() < 0.5
    output_zp = _zero_point(rng)
    multiplier, shift = _quant(rng, out_c, covered or refuse_shape, kind)
    bias = _bias(rng, out_c)
    # An accumulator that may reach 2^30: outside the fast requantization (the 1x1 kernel takes it
    # exactly, the others leave it to CMSIS-NN).
    big_bias = (kind in (POINTWISE, CONV_ANY)) == covered and bias is not None and \
        rng.random() < (0.25 if covered else 0.5)
    if big_bias:
        shift[:] = -8
        bias[int(rng.integers(0, out_c))] = (1 << 30) - 1000 if rng.random() < 0.5 else -(1 << 30)
    case = Case(kind, x, filt, bias, stride, pad, out_hw, _zero_point(rng), output_zp,
                _act(rng, output_zp), multiplier, shift, covered)
    if not (bias is not None and (np.abs(bias.astype(np.int64)) > (1 << 29)).any()):
        case.fit_shifts(rng)
    return case


def fixed_cases() -> list[Case]:
    """Shapes of MobileNetV1-0.25 at 96x96x1 (first conv, a stride-2 and a stride-1 depthwise),
    wide depthwise rows, a MobileNet pointwise layer."""
    rng = np.random.default_rng(96)
    cases = []
    for kind, (h, w, c, out_c, stride) in (
            (SMALLK, (96, 96, 1, 8, 2)), (SMALLK, (32, 32, 3, 8, 2)),
            (DEPTHWISE, (48, 48, 8, 8, 1)), (DEPTHWISE, (24, 24, 32, 32, 2))):
        base = random_case(rng, kind)
        x = rng.integers(-128, 128, size=(h, w, c), dtype=np.int64).astype(np.int8)
        if kind == DEPTHWISE:
            filt = rng.integers(-127, 128, size=(3, 3, c), dtype=np.int64).astype(np.int8)
        else:
            filt = rng.integers(-127, 128, size=(out_c, 3, 3, c), dtype=np.int64).astype(np.int8)
        oh, ph = ref.same_padding(h, 3, stride)
        ow, pw = ref.same_padding(w, 3, stride)
        multiplier, shift = _quant(rng, out_c, True)
        case = Case(kind, x, filt, rng.integers(-5000, 5000, out_c).astype(np.int32),
                    (stride, stride), (ph, pw), (oh, ow), -128, -128, (-128, 127),
                    multiplier, shift, True)
        case.fit_shifts(rng)
        cases.append(case)
    # Wide rows at the edge of the depthwise row buffers (a pitch of 128 int16 for a group of four
    # channels: 125 columns with SAME padding at stride 1; 126 takes the general path), both
    # strides, a partial channel group.
    for h, w, c, stride in ((3, 125, 4, 1), (3, 126, 4, 1), (4, 61, 5, 2), (5, 100, 12, 1)):
        x = rng.integers(-128, 128, size=(h, w, c), dtype=np.int64).astype(np.int8)
        filt = rng.integers(-127, 128, size=(3, 3, c), dtype=np.int64).astype(np.int8)
        oh, ph = ref.same_padding(h, 3, stride)
        ow, pw = ref.same_padding(w, 3, stride)
        multiplier, shift = _quant(rng, c, True)
        case = Case(DEPTHWISE, x, filt, rng.integers(-5000, 5000, c).astype(np.int32),
                    (stride, stride), (ph, pw), (oh, ow), 5, -3, (-128, 127), multiplier, shift,
                    True)
        case.fit_shifts(rng)
        cases.append(case)
    # A MobileNet pointwise layer (12x12x64 -> 64).
    base = random_case(rng, POINTWISE)
    x = rng.integers(-128, 128, size=(12, 12, 64), dtype=np.int64).astype(np.int8)
    filt = rng.integers(-127, 128, size=(64, 1, 1, 64), dtype=np.int64).astype(np.int8)
    multiplier, shift = _quant(rng, 64, True)
    case = Case(POINTWISE, x, filt, rng.integers(-5000, 5000, 64).astype(np.int32), (1, 1),
                (0, 0), (12, 12), -128, -128, (-128, 127), multiplier, shift, True)
    case.fit_shifts(rng)
    cases.append(case)
    cases.extend(pointwise_boundary_cases(rng))
    return cases


def pointwise_boundary_cases(rng) -> list[Case]:
    """1x1 shapes at the kernel's edges: input channels over the 256 of a chunk (odd, three
    chunks), one to three output channels (the block's padding channels and plain-C pixels), one
    pixel, a right shift of 1 with accumulators near the int32 limits (QADD saturating), and a
    multiplier below 2^30 (the exact requantization)."""
    cases = []
    # Clamps: none, the upper bound only (ReLU6 at zero point -128), both; six-channel blocks
    # (8 pixels or more, out_c 6, 12, 7, 16) with each, and with every step count modulo 4.
    acts = ((-128, 127), (-128, 40), (-90, 60), (-20, 127))
    for i, (h, w, c, out_c) in enumerate((
            (3, 3, 300, 6), (2, 1, 517, 5), (1, 1, 260, 4), (3, 5, 12, 1), (5, 3, 9, 2),
            (2, 2, 4, 3), (1, 1, 64, 9), (4, 4, 16, 4), (4, 4, 16, 12), (3, 3, 33, 7),
            (5, 4, 32, 16), (2, 5, 8, 6), (9, 1, 20, 13), (3, 3, 256, 6), (2, 4, 12, 6),
            (3, 3, 44, 12))):
        x = rng.integers(-128, 128, size=(h, w, c), dtype=np.int64).astype(np.int8)
        filt = rng.integers(-128, 128, size=(out_c, 1, 1, c), dtype=np.int64).astype(np.int8)
        multiplier, shift = _quant(rng, out_c, True, POINTWISE)
        shift = np.minimum(shift, -1)
        bias = rng.integers(-5000, 5000, out_c).astype(np.int32)
        act = acts[i % len(acts)]
        case = Case(POINTWISE, x, filt, bias, (1, 1), (0, 0), (h, w), int(rng.choice([-128, 5, 127])),
                    max(-3, act[0]), act, multiplier, shift, True)
        case.fit_shifts(rng)
        cases.append(case)
    # rs = 1 (shift -1) with biases near +-2^31: outputs saturate both ways through QADD
    c, out_c = 8, 4
    x = rng.integers(-128, 128, size=(3, 3, c), dtype=np.int64).astype(np.int8)
    filt = rng.integers(-128, 128, size=(out_c, 1, 1, c), dtype=np.int64).astype(np.int8)
    bias = np.array([(1 << 31) - 1, -(1 << 31), (1 << 31) - 300000, -(1 << 31) + 300000], np.int64)
    cases.append(Case(POINTWISE, x, filt, bias.astype(np.int32), (1, 1), (0, 0), (3, 3), 0, 7,
                      (-128, 127), np.full(out_c, (1 << 31) - 1, np.int64), np.full(out_c, -1, np.int64),
                      True))
    # multipliers below 2^30 and of 0 (TFLite writes 0 for scales under 2^-31)
    x = rng.integers(-128, 128, size=(4, 3, 16), dtype=np.int64).astype(np.int8)
    filt = rng.integers(-128, 128, size=(8, 1, 1, 16), dtype=np.int64).astype(np.int8)
    multiplier = np.array([1 << 29, 0, 1 << 30, 12345, (1 << 31) - 1, 1 << 20, 3, 1 << 30], np.int64)
    shift = np.array([-3, 0, -4, -1, -9, -2, 0, -31], np.int64)
    cases.append(Case(POINTWISE, x, filt, rng.integers(-5000, 5000, 8).astype(np.int32), (1, 1),
                      (0, 0), (4, 3), -128, -128, (-100, 90), multiplier, shift, True))
    return cases


def conv_any_fixed_cases() -> list[Case]:
    """tinyml_conv_s8 on the shapes it is for: ResNet-8's and the standard MobileNets' 3x3 convs
    (stride 1 and 2), a 1-D model's 1xK and Kx1 convs, a strided 1x1 shortcut, a 5x5 first conv of
    three channels (75 taps), a 1-pixel map whose taps are all padding but the centre, and the
    kernel's internal limits."""
    rng = np.random.default_rng(21)
    cases = []
    for h, w, c, out_c, kh, kw, stride, padding in (
            (16, 16, 16, 16, 3, 3, 1, "same"), (12, 12, 32, 64, 3, 3, 2, "same"),
            (6, 6, 64, 64, 3, 3, 1, "same"), (1, 49, 40, 32, 1, 10, 2, "same"),
            (1, 25, 64, 63, 1, 3, 1, "valid"), (25, 1, 16, 16, 3, 1, 1, "same"),
            (16, 16, 16, 32, 1, 1, 2, "valid"), (32, 32, 3, 16, 5, 5, 2, "same"),
            (1, 1, 64, 9, 3, 3, 1, "same"),
            # over one chunk of channel constants (64) with an odd rest; a receptive field of
            # in_c % 4 != 0 over the int8 patch limit (512 taps): gathered tap by tap
            (4, 5, 16, 67, 3, 3, 1, "same"), (5, 4, 61, 6, 3, 3, 2, "same")):
        x = rng.integers(-128, 128, size=(h, w, c), dtype=np.int64).astype(np.int8)
        filt = rng.integers(-127, 128, size=(out_c, kh, kw, c), dtype=np.int64).astype(np.int8)
        fn = ref.same_padding if padding == "same" else ref.valid_padding
        oh, ph = fn(h, kh, stride)
        ow, pw = fn(w, kw, stride)
        multiplier, shift = _quant(rng, out_c, True)
        case = Case(CONV_ANY, x, filt, rng.integers(-5000, 5000, out_c).astype(np.int32),
                    (stride, stride), (ph, pw), (oh, ow), int(rng.choice([-128, 3])), -128,
                    (-128, 127), multiplier, shift, True)
        case.fit_shifts(rng)
        cases.append(case)
    # Refused for its shape alone: a stride-1 1x1 (CMSIS-NN gives it no scratch buffer).
    x = rng.integers(-128, 128, size=(4, 4, 8), dtype=np.int64).astype(np.int8)
    filt = rng.integers(-127, 128, size=(8, 1, 1, 8), dtype=np.int64).astype(np.int8)
    multiplier, shift = _quant(rng, 8, True)
    cases.append(Case(CONV_ANY, x, filt, None, (1, 1), (0, 0), (4, 4), 0, 0, (-128, 127),
                      multiplier, shift, False))
    return cases


def conv_any_cases(seed: int = 21, count: int = 60) -> list[Case]:
    """Fixed and random tinyml_conv_s8 cases (a tenth refused: a left shift, or a stride-1 1x1)."""
    rng = np.random.default_rng(seed)
    cases = conv_any_fixed_cases()
    for i in range(count):
        cases.append(random_case(rng, CONV_ANY, covered=(i % 10 != 9)))
    return cases


def any_depthwise_case(rng, h: int, w: int, c: int, multiplier: int, kh: int, kw: int,
                       stride: tuple[int, int], padding: str, covered: bool = True) -> Case:
    """A DEPTHWISE_ANY case (tinyml_dwconv_s8): random data, quantization and activation."""
    fn = ref.same_padding if padding == "same" else ref.valid_padding
    oh, ph = fn(h, kh, stride[0])
    ow, pw = fn(w, kw, stride[1])
    out_c = c * multiplier
    x = rng.integers(-128, 128, size=(h, w, c), dtype=np.int64).astype(np.int8)
    output_zp = _zero_point(rng)
    mult, shift = _quant(rng, out_c, covered)
    bias = _bias(rng, out_c)
    big_bias = not covered and bias is not None and rng.random() < 0.5
    if big_bias:  # an accumulator that may reach 2^30: CMSIS-NN's
        shift[:] = -8
        bias[int(rng.integers(0, out_c))] = (1 << 30) - 1000 if rng.random() < 0.5 else -(1 << 30)
    elif covered and bias is not None and rng.random() < 0.2:  # the largest bias covered
        limit = (1 << 30) - 1 - kh * kw * 255 * 128
        bias[int(rng.integers(0, out_c))] = limit if rng.random() < 0.5 else -limit
        shift[:] = np.minimum(shift, -8)
    case = Case(DEPTHWISE_ANY, x, _weights(rng, (kh, kw, out_c)), bias, stride, (ph, pw),
                (oh, ow), _zero_point(rng), output_zp, _act(rng, output_zp), mult, shift, covered)
    if not (bias is not None and (np.abs(bias.astype(np.int64)) > (1 << 29)).any()):
        case.fit_shifts(rng)
    return case


def any_depthwise_shape_covered(w: int, kh: int, kw: int, stride: tuple[int, int],
                                out_hw: tuple[int, int]) -> bool:
    """The kernel's shape rule: a k_h x 1 filter on one column runs as 1 x k_h; then k_w >= 2, a
    column stride of 1 or 2, at least two output columns and four output pixels."""
    out_h, out_w = out_hw
    if kw == 1 and kh > 1 and w == 1 and out_w == 1:
        kw, stride, out_w = kh, (stride[1], stride[0]), out_h
    return kw >= 2 and stride[1] <= 2 and out_w >= 2 and out_h * out_hw[1] >= 4


def random_any_depthwise_case(rng, covered: bool = True) -> Case:
    """Any kernel size (1-D ones too), strides 1-3, multipliers 1-4, odd channel counts."""
    shape = rng.choice(["square", "rect", "row", "column"])
    if shape == "row":  # a 1-D model written as a 1 x T image
        h, w, kh, kw = 1, int(rng.integers(1, 40)), 1, int(rng.choice([2, 3, 4, 5, 7, 9, 10]))
    elif shape == "column":  # written as T x 1: the kernel takes it as 1 x T
        h, w, kh, kw = int(rng.integers(1, 40)), 1, int(rng.choice([2, 3, 5, 8])), 1
    else:
        h, w = int(rng.integers(1, 20)), int(rng.integers(2, 20))
        kh = int(rng.choice([1, 2, 3, 4, 5, 5, 7, 7]))
        kw = kh if shape == "square" else int(rng.choice([1, 2, 3, 4, 5, 6, 7, 11]))
    c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 13, 16]))
    multiplier = int(rng.choice([1, 1, 1, 2, 3, 4]))
    stride = (int(rng.choice([1, 1, 2, 2, 3])), int(rng.choice([1, 1, 2, 2, 3])))
    padding = "valid" if h >= kh and w >= kw and rng.random() < 0.3 else "same"
    case = any_depthwise_case(rng, h, w, c, multiplier, kh, kw, stride, padding, covered)
    case.covered = covered and any_depthwise_shape_covered(w, kh, kw, stride, case.out_hw)
    return case


def any_depthwise_fixed_cases() -> list[Case]:
    """MobileNetV3 / EfficientNet-lite / MCUNet-like layers, one-pixel maps, channel multipliers,
    1-D layers, and rows beyond the kernel's row pool (not covered)."""
    rng = np.random.default_rng(21)
    shapes = (  # h, w, c, multiplier, kh, kw, stride, padding
        (12, 12, 72, 1, 5, 5, 1, "same"), (12, 12, 40, 1, 5, 5, 2, "same"),
        (6, 6, 96, 1, 5, 5, 1, "same"), (12, 12, 24, 1, 7, 7, 1, "same"),
        (12, 12, 16, 2, 3, 3, 1, "same"), (12, 12, 8, 2, 3, 3, 2, "same"),
        (1, 1, 5, 1, 5, 5, 1, "same"), (1, 1, 3, 2, 7, 7, 2, "same"), (2, 3, 6, 1, 5, 5, 2, "same"),
        (9, 11, 5, 3, 5, 3, 1, "valid"), (1, 49, 64, 1, 1, 10, 1, "same"),
        (49, 1, 12, 1, 10, 1, 2, "same"), (1, 400, 8, 1, 1, 3, 1, "same"),
        (1, 1100, 1, 1, 1, 3, 1, "same"), (1, 2100, 1, 1, 1, 3, 1, "same"),
        (7, 7, 16, 1, 17, 1, 1, "same"), (8, 15, 12, 1, 4, 4, 3, "same"),
        (6, 6, 8, 1, 3, 1, 1, "same"), (30, 1, 8, 2, 4, 1, 3, "valid"),
        # every assembly copy of long rows (k_w 10-15) and beyond (loops in C)
        (3, 20, 4, 1, 1, 13, 1, "same"), (2, 24, 5, 2, 2, 15, 1, "same"),
        (4, 30, 4, 1, 3, 11, 2, "same"), (1, 40, 8, 1, 1, 12, 2, "same"),
        (2, 33, 4, 1, 2, 10, 2, "valid"), (3, 17, 3, 2, 2, 12, 1, "same"),
        # multipliers whose constants take several passes (micro_speech's 10x8 x 8 on one channel)
        (20, 16, 1, 8, 10, 8, 2, "same"), (9, 9, 1, 40, 3, 3, 1, "same"),
        (6, 7, 2, 30, 3, 3, 2, "same"),
    )
    cases = []
    for h, w, c, m, kh, kw, s, padding in shapes:
        case = any_depthwise_case(rng, h, w, c, m, kh, kw, (s, s), padding)
        # Rows of 2,100 columns do not fit the row pool, k_h = 17 is over the limit.
        case.covered = w < 2000 and kh <= 16 and any_depthwise_shape_covered(
            w, kh, kw, (s, s), case.out_hw)
        cases.append(case)
    return cases


def any_depthwise_midpoint_cases() -> list[Case]:
    """Outputs on rounding midpoints, negative and positive, unsaturated: inputs near the zero
    point, weights in [-2, 2], power-of-two scales (multiplier 2^30) and right shifts of 1-3, so
    that about half the outputs sit exactly between two integers (a rounding that ignores the sign
    fails here)."""
    rng = np.random.default_rng(7)
    cases = []
    for h, w, c, m, kh, kw, s in ((6, 9, 4, 1, 3, 3, 1), (7, 13, 5, 2, 3, 3, 2), (8, 8, 4, 1, 5, 5, 1),
                                  (9, 10, 3, 2, 5, 5, 2), (6, 12, 4, 1, 7, 7, 1), (5, 11, 8, 1, 1, 5, 1),
                                  (4, 21, 4, 1, 2, 11, 2), (5, 18, 4, 1, 3, 14, 1)):
        zp = int(rng.integers(-100, 100))
        x = (zp + rng.integers(-6, 7, size=(h, w, c))).astype(np.int8)
        out_c = c * m
        oh, ph = ref.same_padding(h, kh, s)
        ow, pw = ref.same_padding(w, kw, s)
        filt = rng.integers(-2, 3, size=(kh, kw, out_c)).astype(np.int8)
        bias = rng.integers(-50, 51, size=out_c).astype(np.int32)
        multiplier = np.full(out_c, 1 << 30, dtype=np.int64)
        shift = rng.integers(-3, 0, size=out_c).astype(np.int64)
        cases.append(Case(DEPTHWISE_ANY, x, filt, bias, (s, s), (ph, pw), (oh, ow), zp,
                          int(rng.integers(-20, 21)), (-128, 127), multiplier, shift, True))
    return cases


def make_cases(seed: int = 11, count: int = 60, pointwise: int = 40, any_depthwise: int = 100) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = fixed_cases()
    for i in range(count):
        kind = DEPTHWISE if i % 2 == 0 else SMALLK
        cases.append(random_case(rng, kind, covered=(i % 10 != 9)))
    rng = np.random.default_rng(seed + 1)
    for i in range(pointwise):
        cases.append(random_case(rng, POINTWISE, covered=(i % 10 != 9)))
    cases += conv_any_cases()
    cases += any_depthwise_fixed_cases() + any_depthwise_midpoint_cases()
    rng = np.random.default_rng(seed + 2)
    for i in range(any_depthwise):
        cases.append(random_any_depthwise_case(rng, covered=(i % 10 != 9)))
    for case in cases:  # only the 1x1 kernel computes layers its predicate declines (its cost rule)
        if case.kind != POINTWISE:
            case.supported = case.covered
    return cases


def _array(name: str, ctype: str, values) -> str:
    flat = np.asarray(values).reshape(-1)
    body = ", ".join(str(int(v)) for v in flat) if flat.size else "0"
    return f"static const {ctype} {name}[] = {{{body}}};\n"


def write_header(cases: list[Case], folder: Path) -> Path:
    """kernel_vectors.h: kCases, kCaseCount and kOutputMax for firmware/host/kernel_cases.h."""
    parts = ["// GENERATED by tests/kernel_vectors.py: kernel test vectors and expected outputs.\n"]
    entries = []
    out_max = 1
    for i, case in enumerate(cases):
        expected = case.expected() if case.supported else np.zeros(1, np.int8)
        h, w, c = case.x.shape
        kh, kw = case.kernel_hw
        parts.append(_array(f"c{i}_in", "int8_t", case.x))
        parts.append(_array(f"c{i}_filt", "int8_t", case.filt))
        parts.append(_array(f"c{i}_mult", "int32_t", case.multiplier))
        parts.append(_array(f"c{i}_shift", "int32_t", case.shift))
        parts.append(_array(f"c{i}_want", "int8_t", expected))
        bias = "0"
        if case.bias is not None:
            parts.append(_array(f"c{i}_bias", "int32_t", case.bias))
            bias = f"c{i}_bias"
        size = case.out_hw[0] * case.out_hw[1] * case.out_c
        out_max = max(out_max, size)
        params = ", ".join(str(v) for v in (
            h, w, c, case.out_hw[0], case.out_hw[1], case.out_c, kh, kw, case.stride[0],
            case.stride[1], case.pad[0], case.pad[1], -case.input_zp, case.output_zp,
            case.act[0], case.act[1]))
        entries.append(f"  {{{case.kind}, {{{params}, c{i}_mult, c{i}_shift}}, c{i}_in, "
                       f"c{i}_filt, {bias}, c{i}_want, {size}, {int(case.covered)}, "
                       f"{case.macs}, {int(case.supported)}}},\n")
    parts.append("static const tk_case kCases[] = {\n" + "".join(entries) + "};\n")
    parts.append(f"enum {{ kCaseCount = {len(cases)}, kOutputMax = {out_max} }};\n")
    scratch = max([4 * int(np.prod(c.filt.shape[1:])) for c in cases if c.kind == CONV_ANY] or [4])
    parts.append(f"enum {{ kConvScratchMax = {scratch} }};  // bytes, tinyml_conv_s8\n")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel_vectors.h"
    path.write_text("".join(parts))
    return path
