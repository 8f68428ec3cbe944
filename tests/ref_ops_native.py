"""The reference-exact int8 kernels (firmware/kernels: FULLY_CONNECTED, MEAN, MUL, standalone RELU6
and their Prepare helpers, tinyml_ref_ops.h) built with the host gcc into a shared library and
called through ctypes, for tests/test_ref_ops.py.

The wrappers take numpy int8 arrays and TFLite's quantization parameters (scales, zero points) and
derive the kernel parameters through the C Prepare helpers (quant_params.c), so a test covers the C
Prepare arithmetic and the C kernel together. The `*_with` variants take the kernel parameters as
given, to compute other arithmetic (e.g. the pinned TFLM library's) with the same kernel.
"""

from __future__ import annotations

import ctypes as C
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

KERNELS_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
SOURCES = ("fully_connected_s8.c", "mean_s8.c", "mul_s8.c", "quant_params.c", "relux_s8.c")
# ISO C99 and the warnings the project holds its C to. -ffp-contract=fast on purpose: the FC
# reference form must stay exact even where the compiler may fuse multiply-adds.
CFLAGS = (
    "-std=c99",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-fPIC",
    "-shared",
    "-ffp-contract=fast",
)

# TfLiteFusedActivation numbering (tinyml_activation_range).
ACT_CODES = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}

I32P = C.POINTER(C.c_int32)
I8P = C.POINTER(C.c_int8)
F64P = C.POINTER(C.c_double)


def build(out_dir: Path) -> Path:
    """libtinyml_ref_ops.so in out_dir, from the repository's kernel sources; skips without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found on PATH: install it (Debian: gcc) to build the reference-exact kernels")
    out = Path(out_dir) / "libtinyml_ref_ops.so"
    cmd = [gcc, *CFLAGS, "-o", str(out), *[str(KERNELS_DIR / s) for s in SOURCES], "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    return out


class FcParams(C.Structure):
    _fields_ = [
        ("batches", C.c_int32),
        ("accum_depth", C.c_int32),
        ("out_c", C.c_int32),
        ("input_offset", C.c_int32),
        ("output_offset", C.c_int32),
        ("act_min", C.c_int32),
        ("act_max", C.c_int32),
        ("quant_channels", C.c_int32),
        ("scale", F64P),
        ("multiplier", I32P),
        ("shift", I32P),
    ]


class MeanParams(C.Structure):
    _fields_ = [
        ("dims", C.c_int32 * 4),
        ("axis_mask", C.c_uint32),
        ("input_zp", C.c_int32),
        ("output_zp", C.c_int32),
        ("multiplier", C.c_int32),
        ("shift", C.c_int32),
    ]


class MulParams(C.Structure):
    _fields_ = [
        ("in1_dims", C.c_int32 * 4),
        ("in2_dims", C.c_int32 * 4),
        ("out_dims", C.c_int32 * 4),
        ("input1_offset", C.c_int32),
        ("input2_offset", C.c_int32),
        ("output_offset", C.c_int32),
        ("multiplier", C.c_int32),
        ("shift", C.c_int32),
        ("act_min", C.c_int32),
        ("act_max", C.c_int32),
    ]


class ReluxParams(C.Structure):
    _fields_ = [
        ("elements", C.c_int32),
        ("input_zp", C.c_int32),
        ("output_zp", C.c_int32),
        ("multiplier", C.c_int32),
        ("shift", C.c_int32),
        ("act_min", C.c_int32),
        ("act_max", C.c_int32),
    ]


def _ptr(a: np.ndarray, ctype):
    return a.ctypes.data_as(C.POINTER(ctype))


def _dims4(shape) -> list[int]:
    shape = [int(d) for d in shape]
    assert len(shape) <= 4, shape
    return [1] * (4 - len(shape)) + shape


class Kernels:
    def __init__(self, path: Path):
        lib = C.CDLL(str(path))
        lib.tinyml_fc_s8.argtypes = [C.POINTER(FcParams), I8P, I8P, I32P, I8P]
        lib.tinyml_fc_s8_covers.argtypes = [C.POINTER(FcParams)]
        lib.tinyml_mean_s8.argtypes = [C.POINTER(MeanParams), I8P, I8P]
        lib.tinyml_mean_s8_covers.argtypes = [C.POINTER(MeanParams)]
        lib.tinyml_mul_s8.argtypes = [C.POINTER(MulParams), I8P, I8P, I8P]
        lib.tinyml_mul_s8_covers.argtypes = [C.POINTER(MulParams)]
        lib.tinyml_relux_s8.argtypes = [C.POINTER(ReluxParams), I8P, I8P]
        lib.tinyml_relux_s8_covers.argtypes = [C.POINTER(ReluxParams)]
        lib.tinyml_quantize_multiplier.argtypes = [C.c_double, I32P, I32P]
        lib.tinyml_fc_scale.argtypes = [C.c_float, C.c_float, C.c_float]
        lib.tinyml_fc_scale.restype = C.c_double
        lib.tinyml_mean_multiplier.argtypes = [C.c_float, C.c_float, I32P, I32P]
        lib.tinyml_mean_fold.argtypes = [C.c_int32, C.c_int32, C.c_int64, I32P, I32P]
        lib.tinyml_mul_multiplier.argtypes = [C.c_float, C.c_float, C.c_float, I32P, I32P]
        lib.tinyml_relux_multiplier.argtypes = [C.c_float, C.c_float, I32P, I32P]
        lib.tinyml_activation_range.argtypes = [C.c_int32, C.c_float, C.c_int32, I32P, I32P]
        self.lib = lib

    # --- Prepare helpers ------------------------------------------------------------------------

    def _pair(self, fn, *args) -> tuple[int, int]:
        a, b = C.c_int32(), C.c_int32()
        fn(*args, C.byref(a), C.byref(b))
        return a.value, b.value

    def quantize_multiplier(self, real: float) -> tuple[int, int]:
        return self._pair(self.lib.tinyml_quantize_multiplier, float(real))

    def fc_scale(self, s_in: float, s_w: float, s_out: float) -> float:
        return self.lib.tinyml_fc_scale(s_in, s_w, s_out)

    def mean_multiplier(self, s_in: float, s_out: float) -> tuple[int, int]:
        return self._pair(self.lib.tinyml_mean_multiplier, s_in, s_out)

    def mean_fold(self, multiplier: int, shift: int, n: int) -> tuple[int, int]:
        return self._pair(self.lib.tinyml_mean_fold, multiplier, shift, n)

    def mul_multiplier(self, s1: float, s2: float, s_out: float) -> tuple[int, int]:
        return self._pair(self.lib.tinyml_mul_multiplier, s1, s2, s_out)

    def relux_multiplier(self, s_in: float, s_out: float) -> tuple[int, int]:
        return self._pair(self.lib.tinyml_relux_multiplier, s_in, s_out)

    def activation_range(self, act: str, scale: float, zero_point: int) -> tuple[int, int]:
        return self._pair(self.lib.tinyml_activation_range, ACT_CODES[act], scale, zero_point)

    # --- FULLY_CONNECTED ------------------------------------------------------------------------

    def fully_connected(
        self, x, w, bias, *, input_scale, input_zp, filter_scales, output_scale, output_zp, act_min, act_max
    ) -> np.ndarray:
        """TFLite's reference form: x (..., K) int8, w (N, K), bias (N,) int32 or None -> (..., N)."""
        scales = np.array([self.fc_scale(input_scale, s, output_scale) for s in filter_scales], np.float64)
        return self._fc(x, w, bias, input_zp, output_zp, act_min, act_max, scales=scales)

    def fully_connected_with(
        self, x, w, bias, *, input_zp, output_zp, act_min, act_max, multipliers, shifts
    ) -> np.ndarray:
        """The integer form with the given per-channel (or single) multipliers and shifts."""
        return self._fc(
            x,
            w,
            bias,
            input_zp,
            output_zp,
            act_min,
            act_max,
            multipliers=np.asarray(multipliers, np.int32),
            shifts=np.asarray(shifts, np.int32),
        )

    def _fc(
        self, x, w, bias, input_zp, output_zp, act_min, act_max, scales=None, multipliers=None, shifts=None
    ) -> np.ndarray:
        w = np.ascontiguousarray(w, np.int8)
        n, k = w.shape
        x = np.asarray(x, np.int8)
        x2 = np.ascontiguousarray(x.reshape(-1, k))
        out = np.zeros((x2.shape[0], n), np.int8)
        channels = len(scales) if scales is not None else len(multipliers)
        p = FcParams(
            x2.shape[0],
            k,
            n,
            -int(input_zp),
            int(output_zp),
            int(act_min),
            int(act_max),
            channels,
            None if scales is None else _ptr(scales, C.c_double),
            None if multipliers is None else _ptr(multipliers, C.c_int32),
            None if shifts is None else _ptr(shifts, C.c_int32),
        )
        assert self.lib.tinyml_fc_s8_covers(C.byref(p))
        b = None if bias is None else np.ascontiguousarray(bias, np.int32)
        self.lib.tinyml_fc_s8(
            C.byref(p),
            _ptr(x2, C.c_int8),
            _ptr(w, C.c_int8),
            None if b is None else _ptr(b, C.c_int32),
            _ptr(out, C.c_int8),
        )
        return out.reshape(*x.shape[:-1], n)

    # --- MEAN -----------------------------------------------------------------------------------

    def mean(self, x, axes, keep_dims, *, input_scale, input_zp, output_scale, output_zp) -> np.ndarray:
        x = np.ascontiguousarray(x, np.int8)
        nd = x.ndim
        axes = sorted({a + nd if a < 0 else a for a in axes})
        mask = 0
        for a in axes:
            mask |= 1 << (a + 4 - nd)
        m, s = self.mean_multiplier(input_scale, output_scale)
        p = MeanParams((C.c_int32 * 4)(*_dims4(x.shape)), mask, int(input_zp), int(output_zp), m, s)
        assert self.lib.tinyml_mean_s8_covers(C.byref(p))
        if keep_dims:
            shape = [1 if i in axes else d for i, d in enumerate(x.shape)]
        else:
            shape = [d for i, d in enumerate(x.shape) if i not in axes]
        out = np.zeros(shape, np.int8)
        self.lib.tinyml_mean_s8(C.byref(p), _ptr(x, C.c_int8), _ptr(out, C.c_int8))
        return out

    # --- MUL ------------------------------------------------------------------------------------

    def mul(self, x1, x2, *, s1, zp1, s2, zp2, s_out, zp_out, act_min, act_max) -> np.ndarray:
        m, s = self.mul_multiplier(s1, s2, s_out)
        return self.mul_with(
            x1, x2, zp1=zp1, zp2=zp2, zp_out=zp_out, act_min=act_min, act_max=act_max, multiplier=m, shift=s
        )

    def mul_with(self, x1, x2, *, zp1, zp2, zp_out, act_min, act_max, multiplier, shift) -> np.ndarray:
        x1 = np.ascontiguousarray(x1, np.int8)
        x2 = np.ascontiguousarray(x2, np.int8)
        shape = np.broadcast_shapes(x1.shape, x2.shape)
        p = MulParams(
            (C.c_int32 * 4)(*_dims4(x1.shape)),
            (C.c_int32 * 4)(*_dims4(x2.shape)),
            (C.c_int32 * 4)(*_dims4(shape)),
            -int(zp1),
            -int(zp2),
            int(zp_out),
            int(multiplier),
            int(shift),
            int(act_min),
            int(act_max),
        )
        assert self.lib.tinyml_mul_s8_covers(C.byref(p))
        out = np.zeros(shape, np.int8)
        self.lib.tinyml_mul_s8(C.byref(p), _ptr(x1, C.c_int8), _ptr(x2, C.c_int8), _ptr(out, C.c_int8))
        return out

    # --- RELU6 (standalone) ---------------------------------------------------------------------

    def relu6(self, x, *, input_scale, input_zp, output_scale, output_zp) -> np.ndarray:
        """TFLite's Relu6Eval: requantized to the output's scale, clamped to [0, 6] in its units."""
        m, s = self.relux_multiplier(input_scale, output_scale)
        lo, hi = self.activation_range("RELU6", output_scale, output_zp)
        x = np.ascontiguousarray(x, np.int8)
        p = ReluxParams(x.size, int(input_zp), int(output_zp), m, s, lo, hi)
        assert self.lib.tinyml_relux_s8_covers(C.byref(p))
        out = np.zeros(x.shape, np.int8)
        self.lib.tinyml_relux_s8(C.byref(p), _ptr(x, C.c_int8), _ptr(out, C.c_int8))
        return out
