"""Results on disk: one folder per model under the output folder, the stages' typed records as
JSON next to the artifacts (pipeline.records, docs/records.md), so any stage can be re-run alone
and the report is a pure function of these files.

Paths inside the files are relative to the output folder: the folder can be moved, and a relative
--out given from another working folder finds the same results."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.files import read_json, write_json
from pipeline.kernel_sets import KERNEL_SETS, result_file_name
from pipeline.project import cache_dir
from pipeline.records import (
    EmulatedRecord,
    FailedRecord,
    HostResult,
    ManifestEntry,
    MeasuredRecord,
    ModelResults,
    RecordError,
    RunManifest,
    load_record,
)

DEFAULT_OUT = Path("out")
RUN_MANIFEST = "run.json"  # tinyml run: the selection, data, board and versions of the last run
HOST_RESULT = "result.json"  # tinyml run: the last good analysis, accuracy, host arena, fit
FAILED_RESULT = "failed.json"  # tinyml run: the last failed attempt (the good result stays)
EMULATED_RESULT = "emulated.json"  # tinyml emulate: QEMU Cortex-M4 instructions and arena
MEASURED_RESULT = "measured.json"  # tinyml measure: board (or Renode) cycles and arena
LOCK_FILE = ".tinyml.lock"  # held by the one process writing the output folder
_HELD: set[Path] = set()  # output folders this process holds the lock of


@contextmanager
def output_lock(out: Path, command: str) -> Iterator[None]:
    """One writer per output folder: an exclusive lock on OUT/.tinyml.lock for the block. A second
    writer is refused in one line naming the first; a lock whose process is gone was released by
    the kernel with it (flock), so the next writer simply takes it over."""
    out = Path(out)
    key = out.resolve()
    if key in _HELD:  # this process writes the folder already (a run's measure step): re-entered
        yield
        return
    path = out / LOCK_FILE
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise PipelineError(f"cannot lock {out} ({exc.strerror}): pass an --out folder you can write to") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise PipelineError(
            f"{out} is being written by {holder}: wait for it to finish, or pass another --out"
        ) from None
    _HELD.add(key)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"`{command}` (pid {os.getpid()})".encode(), 0)
        yield
    finally:
        _HELD.discard(key)
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def model_dir(out: Path, name: str) -> Path:
    return Path(out) / "models" / name


def relative_tflite(name: str) -> str:
    """Where a model's .tflite lives, relative to the output folder (as result.json stores it)."""
    return f"models/{name}/{name}.tflite"


def tflite_path(out: Path, host: HostResult) -> Path:
    """The .tflite of a result, for the output folder `out`."""
    return Path(out) / host.tflite


def check_output_folder(out: Path) -> None:
    """--out must be (or become) a folder we can write to: checked before any training, and
    without creating anything."""
    out = Path(out)
    probe = out.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise PipelineError(f"--out {out}: {probe} is a file, not a folder: pass a folder (it is created if missing)")
    for folder in (probe, probe / "models") if probe == out.absolute() else (probe,):
        if not folder.is_dir():
            continue
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise PipelineError(
                f"--out {out}: cannot write in {folder} ({exc.strerror}): pass a folder you can write to"
            ) from None


def results_folder(tflite: Path) -> Path | None:
    """`tinyml run` keeps each model in OUT/models/<name>/ beside its host result: emulated and
    measured records of that .tflite go there, so the report of OUT picks them up."""
    folder = Path(tflite).resolve().parent
    return folder if (folder / HOST_RESULT).is_file() else None


def emulated_file(kernels: str) -> str:
    """emulated.json for CMSIS-NN (the default), emulated_tinyml.json for the project kernels."""
    return result_file_name(EMULATED_RESULT, kernels)


def measured_file(kernels: str) -> str:
    return result_file_name(MEASURED_RESULT, kernels)


def report_board(out: Path, default: str) -> str:
    """The board `tinyml run` checked the models of `out` against (for re-rendering the report)."""
    try:
        manifest = load_record(Path(out) / RUN_MANIFEST, RunManifest)
    except RecordError:
        manifest = None
    return manifest.board if manifest is not None else default


def load_model_results(folder: Path, name: str, entry: ManifestEntry | None = None, board: str = "") -> ModelResults:
    """A model's records. With the run's manifest `entry`, a result made with other inputs does
    not count: this run's failure shows (with `kept_result` when an older good result stays), or,
    with neither, a failure saying the run did not get to the model."""
    host = load_record(folder / HOST_RESULT, HostResult)
    failed = load_record(folder / FAILED_RESULT, FailedRecord)
    if entry is not None and not (host is not None and host.cache_key == entry.cache_key):
        if failed is None or failed.cache_key != entry.cache_key:
            failed = FailedRecord(
                entry.spec, entry.cache_key, board, "run", "no result for this configuration (interrupted?): run again"
            )
        return ModelResults(name, failed=failed, kept_result=host is not None)
    if host is None:
        return ModelResults(name, failed=failed)
    emulated = {k: r for k in KERNEL_SETS if (r := load_record(folder / emulated_file(k), EmulatedRecord))}
    measured = {k: r for k in KERNEL_SETS if (r := load_record(folder / measured_file(k), MeasuredRecord))}
    return ModelResults(name, host=host, emulated=emulated, measured=measured)


def load_run(out: Path) -> tuple[RunManifest | None, list[ModelResults], list[ModelResults]]:
    """(manifest, models of the last run's selection in zoo order, other models in the folder).
    A record of an older layout is refused in one line (RecordError)."""
    out = Path(out)
    manifest = load_record(out / RUN_MANIFEST, RunManifest)
    folders = sorted(p for p in (out / "models").glob("*") if p.is_dir())
    if manifest is None:
        return None, [load_model_results(f, f.name) for f in folders], []
    selected = [
        load_model_results(model_dir(out, e.spec.name), e.spec.name, e, manifest.board) for e in manifest.models
    ]
    names = {e.spec.name for e in manifest.models}
    others = [load_model_results(f, f.name) for f in folders if f.name not in names]
    return manifest, selected, [m for m in others if m.host or m.failed]


MEASUREMENTS = "measurements"  # folder of MeasurementStore records in an output folder


@dataclass(frozen=True)
class MeasurementStore:
    """What `tinyml emulate` measured about a model, by the sha256 of its bytes: the arena TFLM
    really used, which `tinyml firmware` (and the fit verdict) then reserve instead of the
    prediction. Analysis reads a measurement only when a command hands it one from here."""

    folder: Path

    def _arena_file(self, sha256: str) -> Path:
        return self.folder / "arena" / f"{sha256}.json"

    def arena_bytes(self, sha256: str) -> int | None:
        record = read_json(self._arena_file(sha256))
        if not isinstance(record, dict) or record.get("sha256") != sha256:
            return None
        used = record.get("arena_used_bytes")
        return used if isinstance(used, int) and not isinstance(used, bool) and used > 0 else None

    def record_arena(self, sha256: str, arena_used_bytes: int, model: str) -> Path:
        path = self._arena_file(sha256)
        write_json(path, {"model": model, "sha256": sha256, "arena_used_bytes": int(arena_used_bytes)})
        return path


def run_output_folder(tflite: Path) -> Path | None:
    """OUT when `tflite` is OUT/models/<name>/<name>.tflite of a `tinyml run` output folder."""
    folder = results_folder(tflite)
    return folder.parent.parent if folder is not None else None


def measurement_store(tflite: Path | None = None, folder: Path | None = None) -> MeasurementStore:
    """The store a command uses: the folder given (--measurements), else the output folder's of a
    model `tinyml run` built, else the user cache's (pipeline.project.cache_dir)."""
    if folder is not None:
        return MeasurementStore(Path(folder))
    out = run_output_folder(tflite) if tflite is not None else None
    return MeasurementStore((out if out is not None else cache_dir()) / MEASUREMENTS)
