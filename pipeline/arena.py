"""Tensor arena a 32-bit Cortex-M build of TFLM needs, predicted from the host's measurement.

The host `tflite-micro` interpreter is a 64-bit build: its arena tail (persistent structs that hold
pointers) is larger than on the MCU, while the head (activations planned by the greedy memory
planner) is the same. The prediction keeps the head and re-sizes each tail category to its 32-bit
struct size. Calibrated against the firmware in QEMU's Cortex-M4 (see `tinyml emulate`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.tflm_host import HostArena, run_tflm_host

# category -> (bytes per item on the 64-bit host, bytes per item on a 32-bit MCU)
POINTER_STRUCTS = {
    "TfLiteEvalTensor data": (24, 12),          # void* data, TfLiteIntArray* dims, TfLiteType
    "NodeAndRegistration struct": (64, 32),     # TfLiteNode (6 pointers + size) + registration*
    "Persistent TfLiteTensor data": (64, 40),
    "Persistent TfLiteTensor quantization data": (16, 8),
}


@dataclass(frozen=True)
class ArenaPrediction:
    host_bytes: int
    predicted_bytes: int  # for a 32-bit MCU
    head_bytes: int
    tail_bytes_32: int


def predict_from_host(host: HostArena) -> ArenaPrediction:
    tail = host.tail
    for category, (host_size, mcu_size) in POINTER_STRUCTS.items():
        used, count = host.categories.get(category, (0, 0))
        if count:
            tail -= used - count * mcu_size
    return ArenaPrediction(host.total, host.head + tail, host.head, tail)


def predict_arena(tflite: bytes, name: str = "model") -> ArenaPrediction:
    """Runs TFLM's host interpreter once (in a child process) and predicts the 32-bit arena."""
    host = run_tflm_host(tflite, np.zeros((0,), np.int8), name).arena
    return predict_from_host(host)


def predict_arena_bytes(tflite: bytes) -> int:
    return predict_arena(tflite).predicted_bytes
