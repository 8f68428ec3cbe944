"""`--engine ray`: the pool's tasks (pipeline.sweep.tasks) as Ray tasks, on the cluster at
`--address` or on a local Ray started for the sweep. Ray is an optional extra:
`pip install 'tinyml-deploy[ray]'`.

Placement by Ray resources:
- prune and train need a CPU (any node: TensorFlow with one thread per task);
- emulate needs the custom resource `qemu`, which only nodes with QEMU, CMake, the Arm toolchain and
  the TFLM library offer (`ray start --resources '{"qemu": 2}'`); a local Ray started here offers
  it when this machine has them;
- measuring on a board, when a sweep does it, needs the custom resource `board` (the node the
  board is plugged into: `ray start --resources '{"board": 1}'`): BOARD_RESOURCE.

A Ray worker process is reused for tasks and exits after a few trainings (`max_calls`): the pool
recycles by its own machine's memory, which a cluster's nodes do not tell here. The data set goes
to the object store once; every node runs the same task code, so the tinyml package must be
installed on each."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pipeline
from pipeline.errors import PipelineError
from pipeline.sweep.pool import RECYCLE_AFTER_TASKS, RECYCLE_AFTER_TRAININGS, StageStarted, TaskDone
from pipeline.sweep.tasks import EMULATE, PRUNE, THREAD_ENV, TRAIN, TaskResult, failure, run_task

EMULATOR_RESOURCE = "qemu"
BOARD_RESOURCE = "board"
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # the data set and models are small; leave RAM to TensorFlow


def ray_prune(payload: dict, dataset: Any) -> TaskResult:
    """What a Ray worker runs: the same functions as a pool worker (one per kind: Ray sets
    `max_calls`, the recycling, per function)."""
    return run_task(PRUNE, payload, dataset)


def ray_train(payload: dict, dataset: Any) -> TaskResult:
    return run_task(TRAIN, payload, dataset)


def ray_emulate(payload: dict, dataset: Any) -> TaskResult:
    return run_task(EMULATE, payload, dataset)


def _local_python_path() -> str:
    """A local Ray's workers import this very package (a checkout run with `python -m pipeline`
    included), whatever else their interpreter would find first."""
    here = str(Path(pipeline.__file__).resolve().parent.parent)
    return os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])


def import_ray():
    try:
        import ray
    except ImportError:
        raise PipelineError(
            "--engine ray needs Ray: pip install 'tinyml-deploy[ray]' (or pip install 'ray>=2.9'), "
            "or use the local pool (--engine local)"
        ) from None
    return ray


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None, workers: int | None, dataset: Any, emulation: bool):
        ray = self.ray = import_ray()
        common = dict(logging_level=logging.WARNING, log_to_driver=False)
        try:
            if address:
                ray.init(address=address, runtime_env={"env_vars": dict(THREAD_ENV)}, **common)
            else:
                ray.init(
                    runtime_env={"env_vars": {**THREAD_ENV, "PYTHONPATH": _local_python_path()}},
                    num_cpus=workers,
                    resources={EMULATOR_RESOURCE: float(workers or 1)} if emulation else {},
                    include_dashboard=False,
                    object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                    **common,
                )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PipelineError(
                f"could not start or join {where} ({first}): check --address and `ray status`"
            ) from None
        resources = ray.cluster_resources()
        if emulation and resources.get(EMULATOR_RESOURCE, 0) < 1:
            ray.shutdown()
            raise PipelineError(
                f"no node of the Ray cluster offers the resource '{EMULATOR_RESOURCE}' the emulation runs on: "
                f"start the nodes that have QEMU and the toolchain with "
                f"`ray start --resources '{{\"{EMULATOR_RESOURCE}\": 2}}'`, or sweep with --no-emulate"
            )
        self.size = workers or max(1, int(resources.get("CPU", 1)))
        self.data = ray.put(dataset)
        self.remotes = {
            PRUNE: ray.remote(num_cpus=1, max_calls=RECYCLE_AFTER_TASKS, max_retries=0)(ray_prune),
            TRAIN: ray.remote(num_cpus=1, max_calls=RECYCLE_AFTER_TRAININGS, max_retries=0)(ray_train),
            EMULATE: ray.remote(
                num_cpus=1, resources={EMULATOR_RESOURCE: 1}, max_calls=RECYCLE_AFTER_TASKS, max_retries=0
            )(ray_emulate),
        }
        self.pending: dict[Any, tuple[int, str]] = {}
        self._started: list[StageStarted] = []

    @property
    def capacity(self) -> int:
        return self.size

    def idle(self) -> int:
        return self.size - len(self.pending)

    def submit(self, task: int, kind: str, payload: dict) -> None:
        self.pending[self.remotes[kind].remote(payload, self.data)] = (task, kind)
        self._started.append(StageStarted(task, kind))

    def poll(self, timeout: float | None) -> list[StageStarted | TaskDone]:
        events: list[StageStarted | TaskDone] = list(self._started)
        self._started = []
        if not self.pending:
            return events
        ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0)
        for ref in ready:
            task, kind = self.pending.pop(ref)
            try:
                result = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:
                lines = [line for line in str(exc).splitlines() if line.strip()]
                result = failure(kind, f"the Ray task failed: {lines[-1] if lines else type(exc).__name__}")
            events.append(TaskDone(task, result))
        return events

    def close(self) -> None:
        self.ray.shutdown()

    def terminate(self) -> None:
        for ref in list(self.pending):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - stopping anyway
                pass
        self.pending.clear()
        self.ray.shutdown()
