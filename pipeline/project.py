"""Where the firmware project lives, and where builds go.

The firmware sources (`firmware/`), `platformio.ini` and the model files (`models/`) are the
project. A source checkout or an editable install uses them in place; a wheel carries a copy in
`pipeline/bundled/` (pyproject.toml maps the folders there). Builds and downloads go to the user's
cache folder, never into the installed package or the checkout's source tree."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from pipeline.errors import PipelineError

PACKAGE = Path(__file__).resolve().parent
CACHE_ENV = "TINYML_CACHE_DIR"


def _is_project(folder: Path) -> bool:
    return (folder / "platformio.ini").is_file() and (folder / "firmware").is_dir()


def project_root() -> Path:
    """The firmware project this package runs with: the checkout it was installed from (editable
    install), else the copy inside the wheel."""
    for folder in (PACKAGE.parent, PACKAGE / "bundled"):
        if _is_project(folder):
            return folder
    raise PipelineError(f"the firmware project is missing from {PACKAGE}: reinstall tinyml-deploy")


def firmware_dir() -> Path:
    return project_root() / "firmware"


def models_dir() -> Path:
    """The model files users copy and edit: the default zoo and the sweep space."""
    return project_root() / "models"


def source_checkout() -> Path | None:
    """The checkout of an editable install (None for a wheel: its copy is not for writing)."""
    return PACKAGE.parent if _is_project(PACKAGE.parent) else None


def find_checkout(start: Path | None = None) -> Path | None:
    """The PlatformIO project the user works in: the current folder or a parent holding
    platformio.ini and firmware/ (where `tinyml firmware` writes and `pio run` builds)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_project(folder):
            return folder
    return None


def cache_dir() -> Path:
    """$TINYML_CACHE_DIR, else $XDG_CACHE_HOME/tinyml, else ~/.cache/tinyml."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().resolve() / "tinyml"


def platformio_command() -> list[str]:
    """`pio` on PATH, else the platformio package of this Python."""
    if shutil.which("pio"):
        return ["pio"]
    try:
        import platformio  # noqa: F401
    except ImportError:
        raise PipelineError(
            "PlatformIO is not installed: pip install platformio (or install the PlatformIO IDE), then retry"
        ) from None
    return [sys.executable, "-m", "platformio"]
