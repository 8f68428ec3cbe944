"""One analysis of a .tflite, parsed once: what code generation, the emulator, the report and the
CLI take. It composes the stage's parts in one place: the flatbuffer (tflite_model), the 32-bit
arena (arena) and what the firmware reserves (fit), the kernel each layer runs with each kernel
set (kernel_plan), the fit verdict per board, and what TFLM would abort on (softmax_limit).

Checks, cheap first, each one line naming the file: readable, a TFLite flatbuffer, an int8 graph,
ops the pinned TFLM registers. The board's fit and TFLM's limits are results, not exceptions:
`require_runnable` turns them into the error `tinyml firmware` and `emulate` give."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Protocol

from pipeline.analysis.arena import ArenaPrediction, predict_arena
from pipeline.analysis.fit import ArenaPlan, FitVerdict, fit_verdict, plan_model_arena
from pipeline.analysis.kernel_plan import LayerKernel, plan_kernels
from pipeline.analysis.runtime_gaps import runtime_problem
from pipeline.analysis.softmax_limit import softmax_scale_problem
from pipeline.analysis.tflite_model import (
    TfliteAnalysis,
    analyze_tflite_bytes,
    check_int8_graph,
    read_model,
    read_model_file,
)
from pipeline.analysis.tflm_ops import check_ops_supported
from pipeline.board import Board
from pipeline.errors import ModelError
from pipeline.kernel_sets import KERNEL_SETS


class ArenaMeasurements(Protocol):
    """Where measured arenas come from (pipeline.store.MeasurementStore)."""

    def arena_bytes(self, sha256: str) -> int | None: ...


@dataclass(frozen=True)
class ModelAnalysis:
    source: str  # the file as the user named it (messages start with it)
    data: bytes = field(repr=False)
    tflite: TfliteAnalysis  # ops, tensors, per-layer MACs and params
    arena: ArenaPrediction  # the 32-bit arena TFLM + CMSIS-NN uses, predicted
    arena_plan: ArenaPlan  # what the firmware reserves: prediction or measurement + margin
    kernel_plans: Mapping[str, tuple[LayerKernel, ...]]  # per kernel set, one entry per operator
    fits: Mapping[str, FitVerdict]  # per board key
    tflm_problem: str | None  # what the pinned TFLM would abort on or compute wrongly, or None

    @property
    def name(self) -> str:
        return self.tflite.name

    @property
    def sha256(self) -> str:
        return self.tflite.sha256

    @property
    def model_bytes(self) -> int:
        return self.tflite.model_bytes

    def fit(self, board: Board) -> FitVerdict:
        return self.fits[board.key]

    def require_runnable(self, board: Board) -> None:
        """The board's fit first, then TFLM's limits: the line `firmware` and `emulate` refuse with."""
        verdict = self.fit(board)
        if not verdict.fits:
            raise ModelError(
                self.source,
                f"does not fit the {board.name}: {'; '.join(verdict.reasons)}: "
                "use a smaller model (lower width multiplier, fewer channels or a "
                "smaller input)",
            )
        if self.tflm_problem:
            raise ModelError(self.source, self.tflm_problem)


def analyze_model(
    data: bytes,
    source: str,
    boards: Iterable[Board],
    *,
    name: str | None = None,
    arena_bytes: int | None = None,
    measurements: ArenaMeasurements | None = None,
) -> ModelAnalysis:
    """The one place a .tflite is parsed. `arena_bytes` (given) or a measurement from
    `measurements` (for these bytes) replaces the predicted arena in the reserved plan."""
    model = read_model(data, source)
    name = name or Path(source).stem
    tflite = analyze_tflite_bytes(data, name, source, model=model)
    check_int8_graph(tflite, source)
    check_ops_supported(tflite.ops, source)
    arena = predict_arena(model, name)
    measured = measurements.arena_bytes(hashlib.sha256(data).hexdigest()) if measurements else None
    plan = plan_model_arena(arena, arena_bytes, measured)
    return ModelAnalysis(
        source=source,
        data=data,
        tflite=tflite,
        arena=arena,
        arena_plan=plan,
        kernel_plans={kernels: plan_kernels(model, kernels, source) for kernels in KERNEL_SETS},
        fits={board.key: fit_verdict(board, tflite.model_bytes, plan) for board in boards},
        tflm_problem=runtime_problem(model) or softmax_scale_problem(model),
    )


def analyze_file(path: str | Path, boards: Iterable[Board], **options) -> ModelAnalysis:
    """analyze_model of a file; a missing, unreadable or directory path is refused in one line."""
    path = Path(path)
    return analyze_model(read_model_file(path), str(path), boards, **options)
