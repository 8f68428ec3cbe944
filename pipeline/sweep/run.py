"""The sweep: the points and their keys, then the work scheduled on an engine until every point is
done, failed or infeasible, then the outputs (the checks before it: pipeline.sweep.settings).

Order of work: a point is screened on its spec (no TensorFlow), then pruned (untrained int8
export, analysed), then trained, then emulated; the engine's free workers take emulations first
(they finish points), then prunes (they size the rest of the sweep), then trainings.

Every change of a point is written to DIR/sweep.sqlite as it happens, by this process only; a
re-run (or --resume) reads it back: finished points stay finished, points a stopped sweep had
running are redone, a trained point waiting for its emulation is only emulated."""

from __future__ import annotations

import hashlib
import heapq
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.board import Board
from pipeline.driver import board_digest
from pipeline.files import write_atomic
from pipeline.provenance import pipeline_versions
from pipeline.sweep import outputs, screen
from pipeline.sweep.pool import LocalPool, StageStarted, TaskDone
from pipeline.sweep.settings import Prepared, SweepRequest, default_workers
from pipeline.sweep.space import Space, combination_error, point_spec
from pipeline.sweep.store import (
    DATABASE,
    DONE,
    FAILED,
    INFEASIBLE,
    PENDING,
    RUNNING,
    SweepLock,
    SweepStore,
    fits_column,
    ms_column,
)
from pipeline.sweep.tasks import EMULATE, PRUNE, TRAIN, TaskResult

POINTS_DIR = "points"
POLL_S = 0.5


@dataclass(frozen=True)
class Progress:
    total: int
    counts: dict[str, int]  # by status
    stages: dict[str, int]  # running points by stage
    elapsed_s: float
    eta_s: float | None
    last: str | None = None  # '<name>: <status>' of the point that just finished
    finished: int = 0  # points this run has nothing left to do for


def _ignore(*_args) -> None:
    return None


@dataclass(frozen=True)
class SweepEvents:
    progress: Callable[[Progress], None] = _ignore
    say: Callable[[str], None] = _ignore


@dataclass(frozen=True)
class SweepOutcome:
    out: Path
    counts: dict[str, int]
    fronts: dict[str, tuple[str, ...]]
    written: tuple[Path, ...]
    complete: bool
    stopped: str | None = None  # why it stopped early (time budget), None when complete


class SweepInterrupted(Exception):
    """Ctrl-C: the workers are stopped, the finished points and the outputs are kept."""

    def __init__(self, outcome: SweepOutcome):
        super().__init__("interrupted")
        self.outcome = outcome


# --- keys and rows ---------------------------------------------------------------------------------------


def point_key(spec, data_digest: str, versions: dict, kernels: str, boards: list[Board]) -> str:
    """What a point's results depend on: its spec (classes and epochs as built), the data's
    contents, the pipeline's versions, the kernel set and the boards it is judged against."""
    text = json.dumps(
        [spec.digest(), data_digest, versions, kernels, [board_digest(b) for b in boards]], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _new_row(key: str, values: dict, spec, status: str, reason: str | None) -> dict:
    return {
        "key": key,
        "name": spec.name,
        "status": status,
        "reason": reason,
        **{k: values[k] for k in ("conv", "alpha", "resolution", "channels", "blocks", "epochs")},
        "classes": spec.classes,
        "pruned": 0,
        "emulated": 0,
        "updated": time.time(),
    }


def _tflite_ok(out: Path, row: dict) -> bool:
    if not row.get("tflite") or not row.get("tflite_sha256"):
        return False
    path = out / row["tflite"]
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == row["tflite_sha256"]


def _judge_pruned(row: dict, boards: list[Board], space: Space) -> str | None:
    """A pruned point judged again with the constraints of this run (they may have changed)."""
    if row.get("flash_bytes") is None:
        return screen.screen_spec(screen.SpecCosts(row["macs"], row["params"]), boards, space.constraints)
    reasons = json.loads(row.get("fit_reasons") or "{}")
    fits = {b.key: (bool(row.get(fits_column(b.key))), tuple(reasons.get(b.key, ()))) for b in boards}
    return screen.judge_export(row["flash_bytes"], row["arena_bytes"], fits, boards, space.constraints, row["macs"])


# --- the run -------------------------------------------------------------------------------------------------


class _LargestFirst:
    """The training queue, the most work first (MACs times epochs; pruning finishes before training
    starts, so it holds most points): the trainings left at the end are short ones, and the
    workers run out of work together instead of one training a large point alone. Equal work
    leaves in the order it came."""

    def __init__(self, work: Callable[[str], int]):
        self._work = work
        self._heap: list[tuple[int, int, str]] = []
        self._count = 0

    def append(self, key: str) -> None:
        heapq.heappush(self._heap, (-self._work(key), self._count, key))
        self._count += 1

    def popleft(self) -> str:
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)


class _Sweep:
    def __init__(self, prepared: Prepared, request: SweepRequest, events: SweepEvents):
        self.p = prepared
        self.request = request
        self.events = events
        self.out = Path(request.out)
        self.store = SweepStore(self.out / DATABASE, [b.key for b in prepared.boards])
        self.queues: dict[str, deque[str] | _LargestFirst] = {
            EMULATE: deque(),
            PRUNE: deque(),
            TRAIN: _LargestFirst(self._training_work),
        }
        self.running: dict[int, tuple[str, str]] = {}  # task -> (key, kind)
        self.started_at: dict[int, float] = {}
        self.stage: dict[str, str] = {}  # running key -> stage
        self.durations: dict[str, list[float]] = {PRUNE: [], TRAIN: [], EMULATE: []}
        self.payloads: dict[str, Any] = {}
        self.engine: Any = None
        self.next_task = 0
        self.start = time.monotonic()
        self.keys: list[str] = []
        self.specs: dict[str, Any] = {}
        self.feasible_pruned = self.pruned = 0
        self.held: list[str] = []  # --prune-only: points left to train or emulate
        self.last: str | None = None  # what the last finished point came to, for the progress line

    def _training_work(self, key: str) -> int:
        spec = self.specs[key]
        return screen.spec_costs(spec, spec.classes).macs * spec.epochs

    # -- setting up

    def setup(self) -> None:
        p = self.p
        self.store.set_meta("settings", asdict(p.settings))
        versions = pipeline_versions()
        rows, seen = [], set()
        for values in p.points:
            spec = point_spec(values).for_data(p.dataset.classes)
            key = point_key(spec, p.dataset.digest, versions, p.settings.kernels, p.boards)
            if key in seen:
                continue  # --epochs folded two points of the space into one
            seen.add(key)
            self.keys.append(key)
            self.specs[key] = spec
            invalid = combination_error(values)
            rows.append(_new_row(key, values, spec, INFEASIBLE if invalid else PENDING, invalid))
        self.store.insert(rows)
        self.store.set_selection(self.keys)
        redone = self.store.redo_running()
        if redone:
            self.events.say(f"{redone} point(s) a stopped sweep left running are redone")
        existing = self.store.rows(self.keys)
        for key in self.keys:
            row = existing[key]
            if row["status"] == FAILED and self.request.retry_failed:
                row = self._set(key, status=PENDING, stage=None, reason=None)
            if row["status"] == INFEASIBLE and row.get("macs") is not None:
                if _judge_pruned(row, p.boards, p.space) is None:  # the constraints changed
                    row = self._set(key, status=PENDING, reason=None)
            self._enqueue(key, row)

    def _enqueue(self, key: str, row: dict) -> None:
        status = row["status"]
        emulating = self.p.emulation_root is not None
        if status == PENDING and not row.get("pruned"):
            costs = screen.spec_costs(self.specs[key], self.specs[key].classes)
            reason = screen.screen_spec(costs, self.p.boards, self.p.space.constraints)
            if reason is not None:
                self._set(key, status=INFEASIBLE, reason=reason, macs=costs.macs, params=costs.params)
            else:
                self.queues[PRUNE].append(key)
        elif status == PENDING and row.get("accuracy_int8") is not None and _tflite_ok(self.out, row):
            if emulating:
                self._queue(EMULATE, key)
            else:
                self._set(key, status=DONE, stage=None)
        elif status == PENDING:
            self._queue(TRAIN, key)
        elif status == DONE and emulating and not row.get("emulated") and _tflite_ok(self.out, row):
            self._queue(EMULATE, key)

    def _queue(self, kind: str, key: str) -> None:
        if self.request.prune_only and kind != PRUNE:
            self.held.append(key)  # --prune-only: left for the next run
        else:
            self.queues[kind].append(key)

    def _set(self, key: str, **values) -> dict:
        self.store.update(key, **values)
        row = self.store.row(key)
        assert row is not None
        return row

    # -- scheduling

    def _payload(self, key: str, kind: str) -> dict:
        spec = self.specs[key]
        payload: dict[str, Any] = {"spec": spec, "boards": self.p.boards, "key": key}
        if kind == EMULATE:
            row = self.store.row(key) or {}
            payload = {
                "name": spec.name,
                "tflite": (self.out / row["tflite"]).read_bytes(),
                "boards": self.p.boards,
                "kernels": self.p.settings.kernels,
                "tflm_dir": str(self.p.emulation_root),
                "verify_samples": self.p.settings.verify_samples,
            }
        return payload

    def _engine(self):
        if self.engine is None:
            workers = self.request.workers
            if self.request.engine == "ray":
                from pipeline.sweep.ray_engine import RayEngine

                self.engine = RayEngine(
                    self.request.address, workers, self.p.dataset, self.p.emulation_root is not None
                )
            else:
                self.engine = LocalPool(workers or default_workers(), self.p.dataset)
        return self.engine

    def _fill(self, deadline: float | None) -> None:
        if deadline is not None and time.monotonic() > deadline:
            return
        while any(self.queues.values()):
            engine = self._engine()
            if engine.idle() <= 0:
                return
            kind = next(k for k in (EMULATE, PRUNE, TRAIN) if self.queues[k])
            key = self.queues[kind].popleft()
            task = self.next_task
            self.next_task += 1
            self.running[task] = (key, kind)
            self.started_at[task] = time.monotonic()
            self.stage[key] = kind
            self._set(key, status=RUNNING, stage=kind, reason=None)
            engine.submit(task, kind, self._payload(key, kind))

    def run(self) -> SweepOutcome:
        deadline = self.start + self.p.budget.seconds if self.p.budget.seconds else None
        self._progress()
        while True:
            self._fill(deadline)
            if not self.running:
                break
            for event in self.engine.poll(POLL_S):
                if isinstance(event, StageStarted) and event.task in self.running:
                    key = self.running[event.task][0]
                    self.stage[key] = event.stage
                elif isinstance(event, TaskDone) and event.task in self.running:
                    key, kind = self.running.pop(event.task)
                    self.started_at.pop(event.task, None)
                    self.stage.pop(key, None)
                    self._finished(key, kind, event.result)
            self._progress()
        left = sum(len(q) for q in self.queues.values())
        stopped = None
        if left:
            stopped = f"the time budget ({self.p.budget}) is spent: {left} point(s) left to do"
        elif self.held:
            stopped = f"--prune-only: {len(self.held)} point(s) pruned and left to train"
        return self.finish(stopped)

    # -- results

    def _finished(self, key: str, kind: str, result: TaskResult) -> None:
        self.durations[kind].append(result.seconds)
        seconds = {PRUNE: "prune_s", TRAIN: "train_s", EMULATE: "emulate_s"}[kind]
        if not result.ok:
            self._set(key, status=FAILED, stage=result.stage, reason=result.reason, **{seconds: result.seconds})
            self._said(key, f"failed in {result.stage}: {result.reason}")
            return
        handler = {PRUNE: self._pruned, TRAIN: self._trained, EMULATE: self._emulated}[kind]
        handler(key, result.values, result)

    def _said(self, key: str, text: str) -> None:
        self.last = f"{self.specs[key].name}: {text}"

    def _figures(self, values: dict) -> dict:
        fits = values["fits"]
        columns = {fits_column(b.key): int(fits[b.key][0]) for b in self.p.boards}
        reasons = {b.key: list(fits[b.key][1]) for b in self.p.boards if not fits[b.key][0]}
        return {
            **{k: values[k] for k in ("macs", "params", "flash_bytes", "arena_bytes", "arena_reserved_bytes")},
            **columns,
            "fit_reasons": json.dumps(reasons) if reasons else None,
        }

    def _pruned(self, key: str, values: dict, result: TaskResult) -> None:
        figures = self._figures(values)
        reason = screen.judge_export(
            values["flash_bytes"],
            values["arena_bytes"],
            values["fits"],
            self.p.boards,
            self.p.space.constraints,
            values["macs"],
        )
        self.pruned += 1
        if reason is not None:
            self._set(key, status=INFEASIBLE, stage=None, reason=reason, pruned=1, prune_s=result.seconds, **figures)
            self._said(key, "infeasible")
            return
        self.feasible_pruned += 1
        self._set(key, status=PENDING, stage=None, pruned=1, prune_s=result.seconds, **figures)
        self._queue(TRAIN, key)

    def _trained(self, key: str, values: dict, result: TaskResult) -> None:
        spec = self.specs[key]
        relative = f"{POINTS_DIR}/{key}/{spec.name}.tflite"
        assert result.tflite is not None
        write_atomic(self.out / relative, result.tflite)
        emulating = self.p.emulation_root is not None
        self._set(
            key,
            status=PENDING if emulating else DONE,
            stage=None,
            accuracy_float=values["accuracy_float"],
            accuracy_int8=values["accuracy_int8"],
            tflite=relative,
            tflite_sha256=values["tflite_sha256"],
            train_s=result.seconds,
            **self._figures(values),
        )
        if emulating:
            self._queue(EMULATE, key)
        else:
            self._said(key, f"done (int8 accuracy {values['accuracy_int8']:.3f})")

    def _emulated(self, key: str, values: dict, result: TaskResult) -> None:
        ms = {ms_column(b.key): values["est_ms"].get(b.key) for b in self.p.boards}
        skipped = values.get("estimate_skipped") or {}
        differs = values.get("verify_differs")
        self._set(
            key,
            # The firmware computes another model than the one validated: not a candidate.
            status=FAILED if differs else DONE,
            stage="verify" if differs else None,
            reason=differs,
            accuracy_firmware=values.get("accuracy_firmware"),
            bit_exact_share=values.get("bit_exact_share"),
            emulated=1,
            instructions=values["instructions"],
            arena_used_bytes=values["arena_used_bytes"],
            estimate_skipped=json.dumps(skipped) if skipped else None,
            emulate_s=result.seconds,
            **ms,
        )
        if differs:
            self._said(key, f"failed in verify: {differs}")
            return
        shown = ", ".join(f"{b} {v:.1f} ms" for b, v in values["est_ms"].items() if v is not None)
        self._said(key, f"done{' (' + shown + ')' if shown else ''}")

    # -- progress

    def _eta(self) -> float | None:
        """Seconds left: the work queued and running, at the mean time each kind of task took so
        far, over the workers; the prunes still to come keep the share of feasible points seen."""

        def mean(kind: str) -> float | None:
            values = self.durations[kind]
            return sum(values) / len(values) if values else None

        running = Counter(kind for _, kind in self.running.values())
        share = self.feasible_pruned / self.pruned if self.pruned else 1.0
        trains = len(self.queues[TRAIN]) + (len(self.queues[PRUNE]) + running[PRUNE]) * share
        emulations: float = len(self.queues[EMULATE])
        if self.p.emulation_root is not None:
            emulations += trains + running[TRAIN]
        if self.request.prune_only:
            trains = emulations = 0
        work = 0.0
        for kind, count in ((PRUNE, len(self.queues[PRUNE])), (TRAIN, trains), (EMULATE, emulations)):
            if count > 0:
                m = mean(kind)
                if m is None:
                    return None
                work += count * m
        now = time.monotonic()
        for task, (_, kind) in self.running.items():
            m = mean(kind)
            if m is None:
                return None
            work += max(0.0, m - (now - self.started_at.get(task, now)))
        parallel = self.engine.capacity if self.engine is not None else 1
        return work / max(1, parallel)

    def _progress(self) -> None:
        rows = self.store.selection()
        counts = Counter(r["status"] for r in rows)
        stages = Counter(self.stage.values())
        finished = counts[DONE] + counts[FAILED] + counts[INFEASIBLE]
        if self.request.prune_only:
            finished += sum(1 for r in rows if r["status"] == PENDING and r.get("pruned"))
        elapsed = time.monotonic() - self.start
        self.events.progress(Progress(len(rows), dict(counts), dict(stages), elapsed, self._eta(), self.last, finished))
        self.last = None

    # -- the end

    def finish(self, stopped: str | None) -> SweepOutcome:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        return self._outputs(stopped)

    def interrupt(self) -> SweepOutcome:
        if self.engine is not None:
            self.engine.terminate()
            self.engine = None
        for key, _ in self.running.values():
            self._set(key, status=PENDING, stage=None)
        self.running.clear()
        return self._outputs("interrupted")

    def _outputs(self, stopped: str | None) -> SweepOutcome:
        rows = self.store.selection()
        counts = dict(Counter(r["status"] for r in rows))
        complete = all(r["status"] in (DONE, FAILED, INFEASIBLE) for r in rows)
        info = outputs.SweepInfo(
            settings=asdict(self.p.settings),
            boards=self.p.boards,
            constraints=self.p.space.constraints,
            engine=self.request.engine,
            workers=self.engine.capacity if self.engine is not None else (self.request.workers or default_workers()),
            data=self.p.dataset.source,
            data_digest=self.p.dataset.digest,
            emulation=None if self.p.emulation_root is not None else self.p.emulation_skipped,
            elapsed_s=time.monotonic() - self.start,
            complete=complete,
            stopped=stopped if not complete else None,
        )
        written, fronts = outputs.write_outputs(self.out, rows, info)
        return SweepOutcome(self.out, counts, fronts, tuple(written), complete, info.stopped)

    def close(self) -> None:
        self.store.close()


def run_sweep(prepared: Prepared, request: SweepRequest, events: SweepEvents = SweepEvents()) -> SweepOutcome:
    """The sweep on prepare()'s result. Ctrl-C raises SweepInterrupted once the workers are
    stopped and the outputs of the finished points written."""
    lock = SweepLock(request.out).acquire()
    try:
        sweep = _Sweep(prepared, request, events)
        try:
            sweep.setup()
            try:
                return sweep.run()
            except KeyboardInterrupt:
                raise SweepInterrupted(sweep.interrupt()) from None
            except BaseException:
                if sweep.engine is not None:
                    sweep.engine.terminate()
                raise
        finally:
            sweep.close()
    finally:
        lock.release()
