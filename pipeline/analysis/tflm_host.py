"""Stage 4: the .tflite under TFLM's host interpreter (`tflite-micro` package), in a child process:
tensor arena from its recording allocator and agreement with the reference interpreter."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.analysis.softmax_limit import softmax_scale_problem
from pipeline.errors import PipelineError

# Arena handed to the host interpreter for measuring; the recording allocator reports what it used.
MEASURE_ARENA_BYTES = 4 * 1024 * 1024
TIMEOUT_S = 600
_TOTAL = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_CATEGORY = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead \(requested (\d+) bytes for (\d+) ")


@dataclass(frozen=True)
class HostArena:
    """What TFLM's recording allocator reports on this 64-bit host (reference kernels)."""

    total: int
    head: int  # non-persistent: activations planned by the greedy planner, kernel scratch
    tail: int  # persistent: eval tensors, node structs, op data
    categories: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (bytes, count)


@dataclass(frozen=True)
class TflmHostResult:
    arena: HostArena
    outputs: np.ndarray  # int8 outputs per input sample


def parse_allocations(text: str) -> HostArena:
    totals = {k: int(v) for k, v in _TOTAL.findall(text)}
    if set(totals) != {"total", "head", "tail"}:
        raise PipelineError(
            "TFLM's allocation report was not found in its output: "
            "check that the tflite-micro package is installed and up to date"
        )
    categories = {name: (int(used), int(count)) for name, used, _, count in _CATEGORY.findall(text)}
    return HostArena(totals["total"], totals["head"], totals["tail"], categories)


def run_tflm_host(tflite: bytes, inputs: np.ndarray, name: str) -> TflmHostResult:
    """Runs every input through TFLM in a child process. inputs: int8, (count, *input shape[1:])."""
    with tempfile.TemporaryDirectory(prefix="tinyml-tflm-") as tmp:
        model, ins, outs = Path(tmp, "model.tflite"), Path(tmp, "in.npz"), Path(tmp, "out.npz")
        model.write_bytes(tflite)
        np.savez(ins, x=inputs.astype(np.int8))
        try:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pipeline.analysis.tflm_worker",
                    str(model),
                    str(ins),
                    str(outs),
                    str(MEASURE_ARENA_BYTES),
                ],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise PipelineError(
                f"{name}: TFLM's host interpreter did not finish in {TIMEOUT_S} s: "
                "check the model with `tinyml analyze`"
            ) from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
            how = (
                f"aborted ({signal.Signals(-proc.returncode).name})"
                if proc.returncode < 0
                else f"failed (exit {proc.returncode})"
            )
            known = softmax_scale_problem(tflite)
            if known:
                raise PipelineError(f"{name}: TFLM {how} on this model: {known}")
            raise PipelineError(
                f"{name}: TFLM {how} on this model; last message: {last}. "
                "Calibrate on real data and check the ops with `tinyml analyze`"
            )
        outputs = np.load(outs)["y"]
    return TflmHostResult(parse_allocations(proc.stderr), outputs)
