"""The local engine: a pool of long-lived worker processes, each running TensorFlow with one thread
(TensorFlow takes seconds to import: a worker imports it once, when it starts), recycled when its
memory passes its share of the machine's (TensorFlow keeps some 35-70 MB per fit of the default
space's models) or after RECYCLE_AFTER_TASKS tasks, and replaced when it dies (a point's failure,
recorded with its stage, never the sweep's).

The driver hands a task to an idle worker only, over a pipe; a worker reports the stage it starts
and its TaskResult. Workers ignore Ctrl-C: the driver stops them, so an interrupted sweep ends in
one place. They are started with `spawn` (no fork of a process with threads)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from pipeline.sweep.tasks import TaskResult, failure, one_thread_tensorflow, run_task

RECYCLE_AFTER_TRAININGS = 4  # Ray's workers (max_calls): the memory of a cluster's nodes is not known here
RECYCLE_AFTER_TASKS = 40
# The workers together may hold this share of the machine's memory; the rest is for QEMU, the
# compilers, the driver and whatever else runs.
WORKERS_MEMORY_SHARE = 0.5
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class StageStarted:
    task: int
    stage: str


@dataclass(frozen=True)
class TaskDone:
    task: int
    result: TaskResult
    retiring: bool = False  # the worker exits after this task (recycled): no task is sent to it


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that tells
        return None


def worker_memory_limit(workers: int) -> int | None:
    """The resident memory past which a worker is recycled: its part of the workers' share."""
    total = physical_memory_bytes()
    return int(total * WORKERS_MEMORY_SHARE / workers) if total else None


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), else None (recycled by its task count only)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _holds_more_than(limit: int | None) -> bool:
    if limit is None:
        return False
    resident = resident_bytes()
    return resident is not None and resident > limit


def worker_main(conn: Connection, dataset: Any, memory_limit: int | None, tasks: int) -> None:
    """A worker's life: import TensorFlow, then run tasks until told to stop or due for recycling.
    Its Python output (the emulator's build progress, library warnings) would garble the driver's
    progress line: results and failures come back as TaskResults instead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    one_thread_tensorflow()
    done = 0
    while True:
        try:
            message = conn.recv()
        except EOFError:
            message = None
        if message is None:
            # Its results are all sent: TensorFlow's own teardown at exit takes a second or two
            # the driver would wait for.
            os._exit(0)
        task, kind, payload = message

        def started(stage: str, task: int = task) -> None:
            conn.send(StageStarted(task, stage))

        result = run_task(kind, payload, dataset, started)
        done += 1
        retiring = done >= tasks or _holds_more_than(memory_limit)
        conn.send(TaskDone(task, result, retiring))
        if retiring:
            conn.close()
            os._exit(0)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: int | None = None
    stage: str | None = None


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class LocalPool:
    name = "local"

    def __init__(
        self,
        workers: int,
        dataset: Any,
        memory_limit: int | None = None,
        tasks: int = RECYCLE_AFTER_TASKS,
    ):
        """`memory_limit`: bytes of resident memory past which a worker is recycled (default
        worker_memory_limit); `tasks`: it is recycled after that many tasks in any case."""
        self.size = workers
        self.dataset = dataset
        self.limits = (memory_limit if memory_limit is not None else worker_memory_limit(workers), tasks)
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.retired: list[_Worker] = []  # recycled, exiting: joined when they are gone
        self.started = 0  # processes started (recycling included)
        for _ in range(workers):
            self.workers.append(self._start())

    @property
    def capacity(self) -> int:
        return self.size

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=worker_main, args=(child, self.dataset, *self.limits), daemon=True, name="tinyml-sweep-worker"
        )
        process.start()
        child.close()
        self.started += 1
        return _Worker(process, parent)

    def idle(self) -> int:
        return sum(1 for w in self.workers if w.task is None)

    def submit(self, task: int, kind: str, payload: dict) -> None:
        worker = next(w for w in self.workers if w.task is None)
        worker.task, worker.stage = task, kind
        worker.conn.send((task, kind, payload))

    def poll(self, timeout: float | None) -> list[StageStarted | TaskDone]:
        """What happened within `timeout` seconds: stages started, tasks done. A worker due for
        recycling is replaced as it reports its last task; one that died with a task fails that
        task (its point, not the sweep) and is replaced."""
        waitables: dict[Any, _Worker] = {}
        for worker in self.workers:
            waitables[worker.conn] = worker
            waitables[worker.process.sentinel] = worker
        events: list[StageStarted | TaskDone] = []
        ready = wait(list(waitables), timeout)
        seen: list[_Worker] = []
        for item in ready:
            worker = waitables[item]
            if worker in seen:
                continue
            seen.append(worker)
            ended = self._drain(worker, events)
            if worker in self.retired:
                continue
            if ended or worker.process.sentinel in ready or not worker.process.is_alive():
                self._replace_dead(worker, events)
        self.retired = [w for w in self.retired if w.process.is_alive()]  # reaped once gone
        return events

    def _drain(self, worker: _Worker, events: list) -> bool:
        """Every message the worker has sent; True when its end of the pipe is closed."""
        while True:
            try:
                if not worker.conn.poll():
                    return False
                message = worker.conn.recv()
            except (EOFError, OSError):
                return True
            if isinstance(message, StageStarted):
                worker.stage = message.stage
            elif isinstance(message, TaskDone):
                worker.task = worker.stage = None
                if message.retiring:  # replaced now: the new one imports TensorFlow while others work
                    self.workers[self.workers.index(worker)] = self._start()
                    self.retired.append(worker)
                    worker.conn.close()
                    events.append(message)
                    return True
            events.append(message)

    def _replace_dead(self, worker: _Worker, events: list) -> None:
        worker.process.join(timeout=STOP_TIMEOUT_S)
        if worker.task is not None:
            stage = worker.stage or "worker"
            reason = f"the worker process died ({_death(worker.process.exitcode)}) during {stage}"
            events.append(TaskDone(worker.task, failure(stage, reason)))
        worker.conn.close()
        self.workers[self.workers.index(worker)] = self._start()

    def close(self) -> None:
        """Every worker told to stop after its task (none is running one when the sweep ends)."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self.workers + self.retired:
            worker.process.join(timeout=STOP_TIMEOUT_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.workers, self.retired = [], []

    def terminate(self) -> None:
        """Ctrl-C: every worker stopped now (their points are redone on the next run)."""
        for worker in self.workers + self.retired:
            if worker.process.is_alive():
                os.kill(worker.process.pid, signal.SIGKILL)
        for worker in self.workers + self.retired:
            worker.process.join(timeout=STOP_TIMEOUT_S)
            worker.conn.close()
        self.workers, self.retired = [], []
