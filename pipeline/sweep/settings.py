"""A sweep's settings and the checks before it runs: what defines the sweep (kept in its store, so
`--resume` needs only the folder), then every check that writes nothing, cheapest first."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.board import DEFAULT_BOARD, Board, load_board
from pipeline.driver import check_classes
from pipeline.emulator import toolchain
from pipeline.errors import PipelineError
from pipeline.kernel_sets import check_kernels
from pipeline.model.dataset import load_dataset
from pipeline.store import check_output_folder
from pipeline.sweep.space import Budget, Space, combination_error, parse_space, point_spec
from pipeline.sweep.store import DATABASE, check_unlocked
from pipeline.tomlcompat import tomllib

ENGINES = ("local", "ray")


def _ignore(*_args) -> None:
    return None


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """What defines a sweep (kept in DIR/sweep.sqlite for --resume)."""

    space_text: str
    space_source: str
    board: str | None = None  # --board: replaces the space file's boards
    data: str | None = None
    epochs: int | None = None
    kernels: str = "cmsis-nn"
    strategy: str | None = None  # None: the space file's
    budget_points: int | None = None  # None: the space file's
    budget_seconds: float | None = None
    emulate: bool | None = None  # None: when the toolchain and library are there
    tflm_dir: str | None = None
    verify_samples: int | None = None  # each emulated point's firmware on N test inputs (None: all; 0: none)


@dataclass(frozen=True)
class SweepRequest:
    out: Path
    settings: Settings | None  # None with resume: the folder's
    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    resume: bool = False
    retry_failed: bool = False
    prune_only: bool = False  # size every point and rule out what cannot fit; train nothing


@dataclass
class Prepared:
    settings: Settings
    space: Space
    boards: list[Board]
    dataset: Any
    emulation_root: Path | None
    emulation_skipped: str | None
    points: list[dict]  # the selection: spec values (classes resolved, epochs overridden)
    budget: Budget


def stored_settings(out: Path) -> Settings:
    """The settings of the sweep in `out` (for --resume), read without writing anything."""
    path = Path(out) / DATABASE
    if not path.is_file():
        raise PipelineError(f"--resume: no sweep in {out} (no {DATABASE}): start one with --space, or check --out")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE name = 'settings'").fetchone()
        finally:
            db.close()
        return Settings(**json.loads(row[0]))
    except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
        raise PipelineError(f"--resume: {path} holds no sweep settings ({exc}): start the sweep again") from None


def _space(settings: Settings) -> Space:
    try:
        data = tomllib.loads(settings.space_text)
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{settings.space_source}: not valid TOML ({exc}): fix the syntax") from None
    return parse_space(data, settings.space_source)


def _boards(space: Space, board: str | None) -> list[Board]:
    """--board when given (the command line wins, as for --budget), else the space file's boards,
    else the default board."""
    keys = (board,) if board else space.boards or (DEFAULT_BOARD,)
    return [load_board(key) for key in keys]


def prepare(request: SweepRequest, notify: Callable[[str], None] = _ignore) -> Prepared:
    """Every check that writes nothing, cheapest first: the settings, the folder's lock, the space
    file, the boards, the output folder, the engine, the data, then the emulation environment."""
    if request.engine not in ENGINES:
        raise PipelineError(f"--engine {request.engine}: use {' or '.join(ENGINES)}")
    if request.address and request.engine != "ray":
        raise PipelineError("--address names a Ray cluster: add --engine ray, or leave --address out")
    if request.workers is not None and request.workers < 1:
        raise PipelineError(f"--workers {request.workers}: use 1 or more")
    settings = request.settings if request.settings is not None else stored_settings(request.out)
    check_unlocked(request.out)
    check_kernels(settings.kernels)
    if settings.epochs is not None and settings.epochs < 0:
        raise PipelineError(f"--epochs {settings.epochs}: use 0 or more")
    space = _space(settings)
    boards = _boards(space, settings.board)
    check_output_folder(request.out)
    if request.engine == "ray":
        from pipeline.sweep.ray_engine import import_ray

        import_ray()
    dataset = load_dataset(settings.data)
    budget = space.budget  # --budget replaces the file's
    if settings.budget_points is not None or settings.budget_seconds is not None:
        budget = Budget(settings.budget_points, settings.budget_seconds)
    points = []
    for values in space.select(settings.strategy, budget.points):
        values = dict(values)
        if settings.epochs is not None:
            values["epochs"] = settings.epochs
        points.append(values)
    pinned = {v["classes"] for v in points if v["classes"] is not None}
    if pinned:
        check_classes(
            [point_spec(v) for v in points if v["classes"] is not None and not combination_error(v)],
            dataset.classes,
            dataset.source,
        )
    plan = toolchain.plan_emulation(settings.emulate, settings.tflm_dir, notify=notify)
    return Prepared(settings, space, boards, dataset, plan.tflm_root, plan.skipped, points, budget)


def settings_for(
    space_path: Path,
    *,
    board: str | None = None,
    data: str | None = None,
    epochs: int | None = None,
    kernels: str = "cmsis-nn",
    strategy: str | None = None,
    budget: Budget | None = None,
    emulate: bool | None = None,
    tflm_dir: str | None = None,
    verify_samples: int | None = None,
) -> Settings:
    """The settings of a new sweep from the command's options (the space file read here: a later
    edit of the file does not change a sweep under way)."""
    space_path = Path(space_path)
    if not space_path.is_file():
        raise PipelineError(f"space file {space_path} not found: pass an existing .toml file (--space)")
    try:
        text = space_path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{space_path}: cannot be read ({exc}): check the file") from None
    if data not in (None, "digits") and Path(data).exists():
        data = str(Path(data).resolve())
    return Settings(
        space_text=text,
        space_source=str(space_path),
        board=board,
        data=data,
        epochs=epochs,
        kernels=kernels,
        strategy=strategy,
        budget_points=budget.points if budget else None,
        budget_seconds=budget.seconds if budget else None,
        emulate=emulate,
        tflm_dir=tflm_dir,
        verify_samples=verify_samples,
    )
