"""Files other programs may read while we write them: whole or not at all."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

from pipeline.errors import PipelineError

_ADVICE = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (disk quota)",
    errno.EACCES: "check the folder's permissions",
    errno.EPERM: "check the folder's permissions",
    errno.EROFS: "write somewhere writable",
}


def write_error(path: Path, exc: OSError) -> PipelineError:
    """One line for a failed write, with what to do."""
    what = exc.strerror or type(exc).__name__
    advice = _ADVICE.get(exc.errno or 0, "check the path")
    return PipelineError(f"cannot write {path}: {what}: {advice} and run again (the file was left as it was)")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a file,
    and a failed write (disk full, permissions) leaves the old file and raises one line."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise write_error(path, exc) from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; results are not secrets
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
        raise


def write_json(path: Path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
