"""What produced a result: the versions of the libraries that turn a spec into numbers and a digest
of the pipeline's own stage code. Part of the cache key (a change of either redoes the models)
and of the report's provenance section."""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from pipeline import __version__

PACKAGE = Path(__file__).parent
# The code a result.json depends on: the stages up to the fit verdict and the orchestrator.
RESULT_CODE = ("model", "analysis", "driver.py", "board.py", "provenance.py", "kernel_sets.py")
LIBRARIES = ("tensorflow", "keras", "tflite-micro", "numpy", "scikit-learn", "pillow")


def _library_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def code_digest() -> str:
    h = hashlib.sha256()
    for entry in RESULT_CODE:
        path = PACKAGE / entry
        files = sorted(p for p in path.rglob("*") if p.suffix == ".py") if path.is_dir() else [path]
        for file in files:
            h.update(file.relative_to(PACKAGE).as_posix().encode() + b"\0" + file.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def pipeline_versions() -> dict:
    return {
        "tinyml": __version__,
        "code": code_digest(),
        "python": platform.python_version(),
        **{name: _library_version(name) for name in LIBRARIES},
    }
