"""Results on disk: one folder per model under the output folder, plain JSON next to the artifacts,
so any stage can be re-run alone and the report is a pure function of these files.

Paths inside the files are relative to the output folder: the folder can be moved, and a relative
--out given from another working folder finds the same results."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.files import read_json, write_json
from pipeline.project import cache_dir

DEFAULT_OUT = Path("out")
RUN_MANIFEST = "run.json"          # tinyml run: the selection, data, board and versions of the last run
HOST_RESULT = "result.json"        # tinyml run: the last good analysis, accuracy, host arena, fit
FAILED_RESULT = "failed.json"      # tinyml run: the last failed attempt (the good result stays)
EMULATED_RESULT = "emulated.json"  # tinyml emulate: QEMU Cortex-M4 instructions and arena
MEASURED_RESULT = "measured.json"  # tinyml measure: board (or Renode) cycles and arena
# The same with the project's kernels (--kernels tinyml; pipeline.kernel_sets.result_file_name).
EMULATED_TINYML_RESULT = "emulated_tinyml.json"
MEASURED_TINYML_RESULT = "measured_tinyml.json"


def model_dir(out: Path, name: str) -> Path:
    return Path(out) / "models" / name


def relative_tflite(name: str) -> str:
    """Where a model's .tflite lives, relative to the output folder (as result.json stores it)."""
    return f"models/{name}/{name}.tflite"


def tflite_path(out: Path, model: dict) -> Path:
    """The .tflite of a result, for the output folder `out` (absolute paths of old results too)."""
    return Path(out) / model["tflite"]


def check_output_folder(out: Path) -> None:
    """--out must be (or become) a folder we can write to: checked before any training, and
    without creating anything."""
    out = Path(out)
    probe = out.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise PipelineError(f"--out {out}: {probe} is a file, not a folder: pass a folder "
                            "(it is created if missing)")
    for folder in (probe, probe / "models") if probe == out.absolute() else (probe,):
        if not folder.is_dir():
            continue
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise PipelineError(f"--out {out}: cannot write in {folder} ({exc.strerror}): pass a "
                                "folder you can write to") from None


def results_folder(tflite: Path) -> Path | None:
    """`tinyml run` keeps each model in OUT/models/<name>/ beside its host result: emulated and
    measured records of that .tflite go there, so the report of OUT picks them up."""
    folder = Path(tflite).resolve().parent
    return folder if (folder / HOST_RESULT).is_file() else None


def report_board(out: Path, default: str) -> str:
    """The board `tinyml run` checked the models of `out` against (for re-rendering the report)."""
    manifest = read_json(Path(out) / RUN_MANIFEST)
    if isinstance(manifest, dict) and manifest.get("board"):
        return manifest["board"]
    for model in load_results(out):
        if model.get("board"):
            return model["board"]
    return default


def _with_device_records(folder: Path, host: dict) -> dict:
    for key, filename in (("emulated", EMULATED_RESULT), ("measured", MEASURED_RESULT),
                          ("emulated_tinyml", EMULATED_TINYML_RESULT),
                          ("measured_tinyml", MEASURED_TINYML_RESULT)):
        extra = read_json(folder / filename)
        if extra is not None:
            host[key] = extra
    return host


def load_results(out: Path) -> list[dict]:
    """Every model's host result with its emulated/measured records merged in, sorted by name."""
    models = []
    for folder in sorted((Path(out) / "models").glob("*")):
        host = read_json(folder / HOST_RESULT)
        if host is None:
            continue
        models.append(_with_device_records(folder, host))
    return models


def load_run(out: Path) -> tuple[dict | None, list[dict], list[dict]]:
    """(manifest, models of the last run's selection in zoo order, other models in the folder).

    A selected model is its good result when that result has the run's cache key, else the
    failure of this run (with `kept_result` when an older good result is still on disk). Without
    a manifest (a folder from before manifests) every result counts as selected."""
    out = Path(out)
    manifest = read_json(out / RUN_MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), list):
        return None, load_results(out), []
    selected, names = [], set()
    for entry in manifest["models"]:
        name, key = entry["name"], entry["cache_key"]
        names.add(name)
        folder = model_dir(out, name)
        good, failed = read_json(folder / HOST_RESULT), read_json(folder / FAILED_RESULT)
        if good is not None and good.get("cache_key") == key:
            selected.append(_with_device_records(folder, good))
        elif failed is not None and failed.get("cache_key") == key:
            selected.append({**failed, "kept_result": good is not None})
        else:
            selected.append({**entry, "status": "failed", "stage": "run",
                             "error": "no result for this configuration (interrupted?): run again"})
    others = []
    for folder in sorted((out / "models").glob("*")):
        if folder.name in names:
            continue
        record = read_json(folder / HOST_RESULT) or read_json(folder / FAILED_RESULT)
        if record is not None:
            others.append(record)
    return manifest, selected, others


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
