"""Results on disk: one folder per model under the output folder, plain JSON next to the artifacts,
so any stage can be re-run alone and the report is a pure function of these files."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

DEFAULT_OUT = Path("out")
HOST_RESULT = "result.json"        # tinyml run: analysis, accuracy, host arena, fit
EMULATED_RESULT = "emulated.json"  # tinyml emulate: QEMU Cortex-M4 instructions and arena
MEASURED_RESULT = "measured.json"  # tinyml measure: board (or Renode) cycles and arena


def model_dir(out: Path, name: str) -> Path:
    return Path(out) / "models" / name


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; results are not secrets
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_json(path: Path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def results_folder(tflite: Path) -> Path | None:
    """`tinyml run` keeps each model in OUT/models/<name>/ beside its host result: emulated and
    measured records of that .tflite go there, so the report of OUT picks them up."""
    folder = Path(tflite).resolve().parent
    return folder if (folder / HOST_RESULT).is_file() else None


def report_board(out: Path, default: str) -> str:
    """The board `tinyml run` checked the models of `out` against (for re-rendering the report)."""
    for model in load_results(out):
        if model.get("board"):
            return model["board"]
    return default


def load_results(out: Path) -> list[dict]:
    """Every model's host result with its emulated/measured records merged in, sorted by name."""
    models = []
    for folder in sorted((Path(out) / "models").glob("*")):
        host = read_json(folder / HOST_RESULT)
        if host is None:
            continue
        for key, filename in (("emulated", EMULATED_RESULT), ("measured", MEASURED_RESULT)):
            extra = read_json(folder / filename)
            if extra is not None:
                host[key] = extra
        models.append(host)
    return models
