"""The reference-exact int8 kernels (firmware/kernels: tinyml_fc_s8, tinyml_mean_s8, tinyml_mul_s8,
tinyml_relux_s8 and the Prepare helpers of quant_params.c) against TensorFlow Lite's builtin
reference kernels (tf.lite.Interpreter with OpResolverType.BUILTIN_REF), every output byte.

Why: the pinned TFLM Arduino library computes int8 FULLY_CONNECTED with channel 0's scale for every
channel, MEAN in float (or by C truncation when the scales are equal), the MUL multiplier in double
and a standalone RELU6 without requantizing, so its outputs differ from the reference the project's
accuracy numbers come from. These kernels reproduce TFLite's reference arithmetic instead; this
file checks that they do, on the operators of small seeded Keras models converted to full int8.

One case = one operator on one random int8 model input: the operator's input tensors as TFLite
computed them (experimental_preserve_all_tensors) go through the C kernel (built with the host gcc,
called with ctypes: tests/ref_ops_native.py), whose output must equal TFLite's output tensor in every
byte. Re-packed flatbuffers (tests/ref_ops_models.py) reach scale and zero-point combinations the
converter rarely writes. Where the kernels differ from the pinned library, the same cases computed
the library's way must differ from TFLite, so the comparison is shown to see the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pytest
import ref_ops_models as rm
import ref_ops_native

INPUTS = 24  # random model inputs per converted model


@pytest.fixture(scope="session")
def native(tmp_path_factory) -> ref_ops_native.Kernels:
    return ref_ops_native.Kernels(ref_ops_native.build(tmp_path_factory.mktemp("ref-ops")))


def _convert(seed: int, build, *args, per_tensor_dense=False, **kwargs) -> bytes:
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model, shape = build(rng, *args, **kwargs)
    calib = float(rng.choice([0.5, 1.0, 4.0]))
    return rm.convert(model, shape, seed=seed, calib_range=calib, per_tensor_dense=per_tensor_dense)


# --- running one operator kind of a model on TFLite and on the C kernel --------------------------


@dataclass
class Case:
    op: rm.Op
    tensor: object  # index -> the array TFLite computed
    quant: dict  # index -> (scales, zero points)

    def scale_zp(self, index: int) -> tuple[float, int]:
        scales, zps = self.quant[index]
        return scales[0], zps[0]


def cases(buf: bytes, kind: str, rng, inputs: int = INPUTS):
    it = rm.interpreter(buf)
    quant = rm.quantization(it)
    ops = [op for op in rm.operators(buf) if op.name == kind]
    assert ops, (kind, [op.name for op in rm.operators(buf)])
    detail = it.get_input_details()[0]
    for _ in range(inputs):
        it.set_tensor(detail["index"], rng.integers(-128, 128, size=detail["shape"]).astype(np.int8))
        it.invoke()
        for op in ops:
            yield Case(op, it.get_tensor, quant)


def fc_operands(case: Case):
    x_idx, w_idx = case.op.inputs[:2]
    b_idx = case.op.inputs[2] if len(case.op.inputs) > 2 else -1
    w = case.tensor(w_idx)
    assert all(z == 0 for z in case.quant[w_idx][1])
    x = case.tensor(x_idx).reshape(-1, w.shape[1])
    return x, w, case.tensor(b_idx) if b_idx >= 0 else None


def c_fully_connected(native, case: Case, act: str | None = None) -> np.ndarray:
    x, w, bias = fc_operands(case)
    s_in, zp_in = case.scale_zp(case.op.inputs[0])
    s_out, zp_out = case.scale_zp(case.op.outputs[0])
    lo, hi = native.activation_range(act or case.op.activation, s_out, zp_out)
    return native.fully_connected(
        x,
        w,
        bias,
        input_scale=s_in,
        input_zp=zp_in,
        filter_scales=case.quant[case.op.inputs[1]][0],
        output_scale=s_out,
        output_zp=zp_out,
        act_min=lo,
        act_max=hi,
    )


def c_mean(native, case: Case) -> np.ndarray:
    x_idx, axes_idx = case.op.inputs
    s_in, zp_in = case.scale_zp(x_idx)
    s_out, zp_out = case.scale_zp(case.op.outputs[0])
    axes = [int(a) for a in np.ravel(case.tensor(axes_idx))]
    return native.mean(
        case.tensor(x_idx),
        axes,
        case.op.keep_dims,
        input_scale=s_in,
        input_zp=zp_in,
        output_scale=s_out,
        output_zp=zp_out,
    )


def c_mul(native, case: Case) -> np.ndarray:
    i1, i2 = case.op.inputs
    (s1, zp1), (s2, zp2) = case.scale_zp(i1), case.scale_zp(i2)
    s_out, zp_out = case.scale_zp(case.op.outputs[0])
    lo, hi = native.activation_range(case.op.activation, s_out, zp_out)
    return native.mul(
        case.tensor(i1),
        case.tensor(i2),
        s1=s1,
        zp1=zp1,
        s2=s2,
        zp2=zp2,
        s_out=s_out,
        zp_out=zp_out,
        act_min=lo,
        act_max=hi,
    )


def c_relu6(native, case: Case) -> np.ndarray:
    s_in, zp_in = case.scale_zp(case.op.inputs[0])
    s_out, zp_out = case.scale_zp(case.op.outputs[0])
    return native.relu6(
        case.tensor(case.op.inputs[0]), input_scale=s_in, input_zp=zp_in, output_scale=s_out, output_zp=zp_out
    )


C_KERNEL = {"FULLY_CONNECTED": c_fully_connected, "MEAN": c_mean, "MUL": c_mul, "RELU6": c_relu6}


@dataclass
class Tally:
    cases: int = 0
    bytes: int = 0
    differing: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, label: str, expected: np.ndarray, got: np.ndarray) -> None:
        got = np.asarray(got).reshape(expected.shape)
        bad = int(np.count_nonzero(got != expected))
        self.cases += 1
        self.bytes += expected.size
        self.differing += bad
        if bad and len(self.failures) < 5:
            lsb = int(np.max(np.abs(got.astype(np.int32) - expected.astype(np.int32))))
            self.failures.append(f"{label}: {bad}/{expected.size} bytes differ, up to {lsb} LSB")


def compare(native, models: dict[str, bytes], kind: str, seed: int, compute=None) -> Tally:
    """Every `kind` operator of every model on INPUTS random inputs: compute(native, case) (the C
    kernel by default) against TFLite's output tensor."""
    compute = compute or C_KERNEL[kind]
    rng = np.random.default_rng(seed)
    tally = Tally()
    for label, buf in models.items():
        for case in cases(buf, kind, rng):
            tally.add(label, case.tensor(case.op.outputs[0]), compute(native, case))
    return tally


def assert_exact(tally: Tally, record_property, min_bytes: int) -> None:
    record_property("cases", tally.cases)
    record_property("bytes_compared", tally.bytes)
    assert tally.differing == 0, tally.failures
    assert tally.bytes >= min_bytes, tally.bytes


# --- re-packed quantization -----------------------------------------------------------------------


def repacked(models: dict[str, bytes], kind: str, variants, seed: int) -> dict[str, bytes]:
    """For every model and variant: the model with the quantization changes `variant(rng, op, quant)`
    returns for each `kind` operator, re-packed."""
    rng = np.random.default_rng(seed)
    out = {}
    for label, buf in models.items():
        quant = rm.quantization(rm.interpreter(buf))
        for variant in variants:
            changes = {}
            for op in (o for o in rm.operators(buf) if o.name == kind):
                changes.update(variant(rng, op, quant))
            out[f"{label}/{variant.__name__}"] = rm.edit_quantization(buf, changes)
    return out


def output_as_input(rng, op, quant):
    return {op.outputs[0]: quant[op.inputs[0]]}


def _scaled_output(rng, op, quant, zp, low=-7.0, high=4.0):
    """The output at the input's scale times 2^u, u in [low, high] (for MEAN and RELU6 real
    multipliers s_in / s_out from 1/16 to 128: right and left shifts)."""
    scale = float(np.float32(quant[op.inputs[0]][0][0] * 2.0 ** rng.uniform(low, high)))
    return {op.outputs[0]: ([scale], [zp])}


def output_random(rng, op, quant):
    return _scaled_output(rng, op, quant, int(rng.integers(-128, 128)))


def output_zp_min(rng, op, quant):
    return _scaled_output(rng, op, quant, -128)


def output_zp_max(rng, op, quant):
    return _scaled_output(rng, op, quant, 127)


def input_zp_extreme(rng, op, quant):
    scales = quant[op.inputs[0]][0]
    changes = {op.inputs[0]: (scales, [int(rng.choice([-128, 127]))])}
    changes.update(output_random(rng, op, quant))
    return changes


# --- Prepare helpers: C against Python ------------------------------------------------------------


def quantize_multiplier_ref(real: float) -> tuple[int, int]:
    """tflite::QuantizeMultiplier in exact rational arithmetic: real = q * 2^e with q in [1/2, 1),
    q_fixed = round(q * 2^31) half away from zero, 2^31 -> 2^30 with e + 1, e < -31 -> (0, 0)."""
    if real == 0.0:
        return 0, 0
    f = Fraction(real)
    e = f.numerator.bit_length() - f.denominator.bit_length()
    while f / Fraction(2) ** e >= 1:
        e += 1
    while f / Fraction(2) ** e < Fraction(1, 2):
        e -= 1
    q = math.floor(f * Fraction(2) ** (31 - e) + Fraction(1, 2))
    if q == 1 << 31:
        q, e = q // 2, e + 1
    if e < -31:
        return 0, 0
    return q, e


def _f32(v) -> np.float32:
    return np.float32(v)


def _round_half_away(v: float) -> int:
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def test_quantize_multiplier_matches_python(native):
    rng = np.random.default_rng(0)
    reals = [float(r) for r in np.exp(rng.uniform(math.log(1e-12), math.log(1e4), 20000))]
    # Rounding ties q * 2^31 = m + 1/2 (half away from zero: m + 1, also for even m), values that
    # round up to 2^31, and the flush below 2^-32.
    for m, e in zip(rng.integers(1 << 30, 1 << 31, 2000), rng.integers(-33, 12, 2000)):
        reals.append(math.ldexp(int(m) + 0.5, int(e) - 31))
        reals.append(math.ldexp((1 << 31) - 0.25, int(e) - 31))
    reals += [1.0, 0.5, 2.0**-31, 2.0**-32, 2.0**-33, 1 - 2.0**-40, 0.99999999999, 3.0, 1e-10, 1e-9]
    mismatches = [
        (r, native.quantize_multiplier(r), quantize_multiplier_ref(r))
        for r in reals
        if native.quantize_multiplier(r) != quantize_multiplier_ref(r)
    ]
    assert not mismatches, mismatches[:5]
    # Hand-checked values (the reference itself): 1 = 2^30 / 2^31 * 2^1; the tie 0.5 + 2^-32
    # rounds away from zero to the odd 2^30 + 1; 2^-32 still has shift -31, 2^-33 flushes.
    assert native.quantize_multiplier(1.0) == (1 << 30, 1)
    assert native.quantize_multiplier(0.5 + 2.0**-32) == ((1 << 30) + 1, 0)
    assert native.quantize_multiplier(1 - 2.0**-40) == (1 << 30, 1)
    assert native.quantize_multiplier(2.0**-32) == (1 << 30, -31)
    assert native.quantize_multiplier(2.0**-33) == (0, 0)


def test_prepare_helpers_match_python(native):
    rng = np.random.default_rng(1)
    float_vs_double = {"mul": 0, "relux": 0, "fc": 0}
    for _ in range(3000):
        s1, s2, so = (_f32(np.exp(rng.uniform(-12, 2))) for _ in range(3))
        # FULLY_CONNECTED: (double)s_in * (double)s_w / (double)s_out, left to right.
        fc = float(s1) * float(s2) / float(so)
        assert native.fc_scale(s1, s2, so) == fc
        float_vs_double["fc"] += fc != float(_f32(s1 * s2)) / float(so)
        # MEAN: QuantizeMultiplier((double)s_in / (double)s_out), then 1/n folded in.
        m, s = quantize_multiplier_ref(float(s1) / float(so))
        assert native.mean_multiplier(s1, so) == (m, s)
        n = int(rng.integers(1, 1 << 24))
        k = min(n.bit_length() - 1, 32, 31 + s)
        assert native.mean_fold(m, s, n) == ((m << k) // n, s - k), (m, s, n)
        # MUL: s1 * s2 / s_out in float arithmetic; RELU6: s_in / s_out in float.
        mul = quantize_multiplier_ref(float(_f32(s1 * s2) / so))
        assert native.mul_multiplier(s1, s2, so) == mul
        float_vs_double["mul"] += mul != quantize_multiplier_ref(float(s1) * float(s2) / float(so))
        relux = quantize_multiplier_ref(float(s1 / so))
        assert native.relux_multiplier(s1, so) == relux
        float_vs_double["relux"] += relux != quantize_multiplier_ref(float(s1) / float(so))
        # CalculateActivationRangeQuantized: zp + roundf(f / scale), clamped to int8.
        zp = int(rng.integers(-128, 128))
        scale = _f32(np.exp(rng.uniform(-7, 1)))

        def q(f, scale=scale, zp=zp):
            return zp + _round_half_away(float(_f32(f) / scale))

        expected = {
            "NONE": (-128, 127),
            "RELU": (max(-128, q(0)), 127),
            "RELU6": (max(-128, q(0)), min(127, q(6))),
            "RELU_N1_TO_1": (max(-128, q(-1)), min(127, q(1))),
        }
        for act, bounds in expected.items():
            assert native.activation_range(act, scale, zp) == bounds, (act, scale, zp)
    # The inputs tell float from double arithmetic: a helper computing in the other precision fails.
    assert min(float_vs_double.values()) > 100, float_vs_double


# --- FULLY_CONNECTED ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fc_per_channel_models() -> dict[str, bytes]:
    models = {f"dense#{i}": _convert(100 + i, rm.dense) for i in range(3)}
    models["dense_4d"] = _convert(110, rm.dense_4d)
    return models


def test_fully_connected_per_channel(native, fc_per_channel_models, record_property):
    for label, buf in fc_per_channel_models.items():
        quant = rm.quantization(rm.interpreter(buf))
        for op in (o for o in rm.operators(buf) if o.name == "FULLY_CONNECTED"):
            scales = quant[op.inputs[1]][0]
            assert len(scales) > 1 and len(set(scales)) > 1, (label, scales)
    tally = compare(native, fc_per_channel_models, "FULLY_CONNECTED", seed=1)
    assert_exact(tally, record_property, min_bytes=2000)


def test_channel_0_scale_for_every_channel_differs(native, fc_per_channel_models, record_property):
    """What the pinned library computes (CalculateOpDataFullyConnected: one multiplier from
    (double)(float)(s_in * s_w[0]) / s_out for every channel) differs from TFLite on these models:
    the per-channel comparison sees it."""

    def channel_0_everywhere(native, case):
        x, w, bias = fc_operands(case)
        s_in, zp_in = case.scale_zp(case.op.inputs[0])
        s_out, zp_out = case.scale_zp(case.op.outputs[0])
        s_w0 = case.quant[case.op.inputs[1]][0][0]
        m, s = native.quantize_multiplier(float(_f32(_f32(s_in) * _f32(s_w0))) / float(_f32(s_out)))
        lo, hi = native.activation_range(case.op.activation, s_out, zp_out)
        n = w.shape[0]
        return native.fully_connected_with(
            x, w, bias, input_zp=zp_in, output_zp=zp_out, act_min=lo, act_max=hi, multipliers=[m] * n, shifts=[s] * n
        )

    tally = compare(native, fc_per_channel_models, "FULLY_CONNECTED", seed=1, compute=channel_0_everywhere)
    record_property("bytes_differing", f"{tally.differing}/{tally.bytes}")
    assert tally.differing > tally.bytes // 10, (tally.differing, tally.bytes)


def test_fully_connected_per_tensor(native, record_property):
    models = {f"dense#{i}": _convert(200 + i, rm.dense, per_tensor_dense=True) for i in range(2)}
    models["dense_4d"] = _convert(210, rm.dense_4d, per_tensor_dense=True)
    for label, buf in models.items():
        quant = rm.quantization(rm.interpreter(buf))
        for op in (o for o in rm.operators(buf) if o.name == "FULLY_CONNECTED"):
            assert len(quant[op.inputs[1]][0]) == 1, label  # the converter flag took effect
    tally = compare(native, models, "FULLY_CONNECTED", seed=2)
    assert_exact(tally, record_property, min_bytes=900)


def test_fully_connected_fused_activation(native, record_property):
    """Dense with relu / relu6 fused into FULLY_CONNECTED, as converted and re-packed with output
    quantizations whose activation bounds lie inside int8 (the converter's own usually sit at -128 /
    127, where the activation clamp and int8 saturation coincide)."""
    models = {
        "relu": _convert(300, rm.dense, "relu"),
        "relu6": _convert(301, rm.dense, "relu6"),
        "relu_4d": _convert(302, rm.dense_4d, "relu"),
        "relu6_per_tensor": _convert(303, rm.dense, "relu6", per_tensor_dense=True),
    }
    seen = {op.activation for buf in models.values() for op in rm.operators(buf) if op.name == "FULLY_CONNECTED"}
    assert seen == {"RELU", "RELU6"}, seen

    def inner_bounds(rng, op, quant):
        scale = quant[op.outputs[0]][0][0] * 2.0 ** rng.uniform(0.7, 2.0)
        return {op.outputs[0]: ([float(np.float32(scale))], [int(rng.integers(-64, 64))])}

    inner = repacked(models, "FULLY_CONNECTED", [inner_bounds, inner_bounds], seed=3)
    tally = compare(native, {**models, **inner}, "FULLY_CONNECTED", seed=3)
    assert_exact(tally, record_property, min_bytes=5000)
    # The activation bounds decide bytes here: the same kernel without them differs.
    unclamped = compare(
        native,
        inner,
        "FULLY_CONNECTED",
        seed=3,
        compute=lambda native, case: c_fully_connected(native, case, act="NONE"),
    )
    record_property("unclamped_bytes_differing", f"{unclamped.differing}/{unclamped.bytes}")
    assert unclamped.differing > 0


# --- MEAN -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mean_models() -> dict[str, bytes]:
    return {
        "gap": _convert(400, rm.global_average_pool, False, False),
        "gap_conv": _convert(401, rm.global_average_pool, False, True),
        "gap_keep": _convert(402, rm.global_average_pool, True, False),
        "gap_keep_conv": _convert(403, rm.global_average_pool, True, True),
        "axis1_keep": _convert(404, rm.mean_over, [1], True),
        "axis2": _convert(405, rm.mean_over, [2], False),
        "axis-1": _convert(406, rm.mean_over, [-1], False),
        "axes13_keep": _convert(407, rm.mean_over, [1, 3], True),
        "axes23": _convert(408, rm.mean_over, [2, 3], False),
    }


def _mean_axes(buf: bytes) -> list[tuple[list[int], bool]]:
    it = rm.interpreter(buf)
    return [
        (sorted(int(a) % 4 for a in np.ravel(it.get_tensor(op.inputs[1]))), op.keep_dims)
        for op in rm.operators(buf)
        if op.name == "MEAN"
    ]


def test_mean(native, mean_models, record_property):
    """GlobalAveragePooling2D (MEAN over [1, 2]) with keep_dims both ways, and other axis sets of at
    most two axes, as converted."""
    seen = {label: _mean_axes(buf) for label, buf in mean_models.items()}
    assert ([1, 2], False) in seen["gap"] and ([1, 2], True) in seen["gap_keep"], seen
    assert {tuple(a) for v in seen.values() for a, _ in v} == {(1, 2), (1,), (2,), (3,), (1, 3), (2, 3)}, seen
    tally = compare(native, mean_models, "MEAN", seed=4)
    assert_exact(tally, record_property, min_bytes=1000)


def test_mean_repacked_quantization(native, mean_models, record_property):
    """The MEAN output at the input's scale and zero point (the pinned library's truncating path),
    random output scales (multipliers 1/16 to 128), output zero points -128 and 127, and input zero
    points -128 / 127."""
    same = repacked(mean_models, "MEAN", [output_as_input], seed=5)
    other = repacked(mean_models, "MEAN", [output_random, output_zp_min, output_zp_max, input_zp_extreme], seed=6)
    tally = compare(native, {**same, **other}, "MEAN", seed=5)
    assert_exact(tally, record_property, min_bytes=5000)

    def truncating_mean(native, case):
        """reference_ops::Mean for equal scales: (int8)(sum / n), C division, no rounding."""
        x = case.tensor(case.op.inputs[0]).astype(np.int64)
        axes = tuple(int(a) % x.ndim for a in np.ravel(case.tensor(case.op.inputs[1])))
        total, n = x.sum(axis=axes), math.prod(x.shape[a] for a in axes)
        return (np.sign(total) * (np.abs(total) // n)).astype(np.int8)

    pinned = compare(native, same, "MEAN", seed=5, compute=truncating_mean)
    record_property("truncating_bytes_differing", f"{pinned.differing}/{pinned.bytes}")
    assert pinned.differing > 0


# --- MUL ------------------------------------------------------------------------------------------


def test_mul(native, record_property):
    """Squeeze-excite MUL ([1,H,W,C] * [1,1,1,C]) and equal shapes, with and without a fused ReLU, as
    converted and with random output quantizations."""
    models = {
        "se#0": _convert(500, rm.squeeze_excite),
        "se#1": _convert(501, rm.squeeze_excite),
        "se_relu": _convert(502, rm.squeeze_excite, True),
        "equal": _convert(503, rm.equal_shape_mul),
        "equal_relu": _convert(504, rm.equal_shape_mul, True),
    }
    shapes = set()
    for buf in models.values():
        it = rm.interpreter(buf)
        for op in (o for o in rm.operators(buf) if o.name == "MUL"):
            a, b = (tuple(it.get_tensor_details()[i]["shape"]) for i in op.inputs)
            shapes.add((a == b, op.activation))
    assert shapes == {(False, "NONE"), (False, "RELU"), (True, "NONE"), (True, "RELU")}, shapes
    variants = repacked(models, "MUL", [output_random, output_zp_min], seed=7)
    tally = compare(native, {**models, **variants}, "MUL", seed=7)
    assert_exact(tally, record_property, min_bytes=50000)


def test_mul_multiplier_is_computed_in_float(native):
    """TFLite's MUL Prepare computes s1 * s2 / s_out in float; the pinned library in double. One case
    where that moves a byte: MUL(x, x), input scale 0.06315549 (zero point -128), output scale
    0.80714059 (zero point -100), x = -31: TFLite and the kernel give -53, the double multiplier -54."""
    model, shape = rm.square()
    buf = rm.convert(model, shape)
    (op,) = rm.operators(buf)
    assert op.name == "MUL" and op.inputs[0] == op.inputs[1]
    s_in, s_out = 0.06315548717975616, 0.807140588760376
    buf = rm.edit_quantization(buf, {op.inputs[0]: ([s_in], [-128]), op.outputs[0]: ([s_out], [-100])})
    it = rm.interpreter(buf)
    x = np.array([[-31, 0, 50, 127]], np.int8)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    expected = it.get_tensor(op.outputs[0])
    got = native.mul(x, x, s1=s_in, zp1=-128, s2=s_in, zp2=-128, s_out=s_out, zp_out=-100, act_min=-128, act_max=127)
    assert got.tolist() == expected.tolist() and expected[0, 0] == -53
    m, s = native.quantize_multiplier(float(_f32(s_in)) * float(_f32(s_in)) / float(_f32(s_out)))
    double = native.mul_with(x, x, zp1=-128, zp2=-128, zp_out=-100, act_min=-128, act_max=127, multiplier=m, shift=s)
    assert double[0, 0] == -54


# --- RELU6 (standalone) ---------------------------------------------------------------------------


def test_relu6_standalone(native, record_property):
    """keras.layers.ReLU(6.0) that the converter cannot fuse into the convolution before it: its
    output has [0, 6]'s scale, its input the convolution's, so TFLite requantizes."""
    models = {f"conv_relu6#{i}": _convert(600 + i, rm.conv_relu6) for i in range(3)}
    for label, buf in models.items():
        quant = rm.quantization(rm.interpreter(buf))
        ops = [o for o in rm.operators(buf) if o.name == "RELU6"]
        assert len(ops) == 1, (label, [o.name for o in rm.operators(buf)])
        assert quant[ops[0].inputs[0]] != quant[ops[0].outputs[0]], label

    def output_range(rng, op, quant):
        scale = float(np.float32(6.0 / 255 * 2.0 ** rng.uniform(-1.0, 1.5)))
        return {op.outputs[0]: ([scale], [int(rng.integers(-128, 40))])}

    variants = repacked(models, "RELU6", [output_range, input_zp_extreme], seed=8)
    tally = compare(native, {**models, **variants}, "RELU6", seed=8)
    assert_exact(tally, record_property, min_bytes=20000)

    def clamped_input_copy(native, case):
        """The pinned library's Relu6Quantized: the input byte clamped to 0 and 6 in the input's units."""
        s_in, zp_in = case.scale_zp(case.op.inputs[0])
        lo, hi = native.activation_range("RELU6", s_in, zp_in)
        return np.clip(case.tensor(case.op.inputs[0]), lo, hi)

    pinned = compare(native, models, "RELU6", seed=8, compute=clamped_input_copy)
    record_property("input_copy_bytes_differing", f"{pinned.differing}/{pinned.bytes}")
    assert pinned.differing > pinned.bytes // 2, (pinned.differing, pinned.bytes)
