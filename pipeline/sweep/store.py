"""DIR/sweep.sqlite: one row per point (table `points`), the sweep's settings (`meta`) and the
points of the current sweep in order (`selection`). The standard library's sqlite3 in WAL mode:
the driver process is the only writer and commits each change as it happens, so a killed sweep
loses nothing finished; readers (a user's `sqlite3`, a notebook) never block it.

Point statuses: pending (pruned or not yet), running, done, failed (its stage and reason),
infeasible (ruled out before training, with the reason). A re-run puts running points back to
pending: they are redone.

DIR/sweep.lock keeps a second sweep off the folder: an fcntl lock held while the sweep runs, which
the system drops when its process ends however it ends (a stale lock file is simply taken over)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from pipeline.errors import PipelineError

DATABASE = "sweep.sqlite"
LOCK = "sweep.lock"
PENDING, RUNNING, DONE, FAILED, INFEASIBLE = "pending", "running", "done", "failed", "infeasible"
STATUSES = (PENDING, RUNNING, DONE, FAILED, INFEASIBLE)
STORE_LAYOUT = 1

# (column, SQL type), in the order of sweep.csv; the per-board columns follow RESULT_COLUMNS.
IDENTITY_COLUMNS = (
    ("key", "TEXT PRIMARY KEY"),
    ("name", "TEXT NOT NULL"),
    ("status", "TEXT NOT NULL"),
    ("stage", "TEXT"),  # the failed stage (failed), the stage under way (running)
    ("reason", "TEXT"),
)
SPEC_COLUMNS = (
    ("conv", "TEXT"),
    ("alpha", "REAL"),
    ("resolution", "INTEGER"),
    ("channels", "INTEGER"),
    ("blocks", "INTEGER"),
    ("classes", "INTEGER"),
    ("epochs", "INTEGER"),
)
RESULT_COLUMNS = (
    ("accuracy_float", "REAL"),
    ("accuracy_int8", "REAL"),
    ("macs", "INTEGER"),
    ("flash_bytes", "INTEGER"),
    ("arena_bytes", "INTEGER"),
)
EXTRA_COLUMNS = (
    ("params", "INTEGER"),
    ("arena_reserved_bytes", "INTEGER"),  # what the firmware reserves (the fit verdicts use it)
    ("instructions", "INTEGER"),  # per inference in QEMU
    ("arena_used_bytes", "INTEGER"),  # the arena TFLM used in QEMU
    ("accuracy_firmware", "REAL"),  # the emulated firmware's own accuracy on the verified inputs
    ("bit_exact_share", "REAL"),  # 0..1: inputs whose firmware outputs equal TFLite's reference kernels'
    ("tflite", "TEXT"),  # relative to DIR
    ("tflite_sha256", "TEXT"),
    ("fit_reasons", "TEXT"),  # JSON: per board, why it does not fit
    ("estimate_skipped", "TEXT"),  # JSON: per board, why there is no estimated ms
    ("pruned", "INTEGER"),  # 1: the prune step ran (its figures are in)
    ("emulated", "INTEGER"),  # 1: the emulation ran
    ("prune_s", "REAL"),
    ("train_s", "REAL"),
    ("emulate_s", "REAL"),
    ("updated", "REAL"),  # unix time of the last change
)


def ms_column(board: str) -> str:
    return f"est_ms_{board}"


def fits_column(board: str) -> str:
    return f"fits_{board}"


def board_columns(boards: Iterable[str]) -> list[tuple[str, str]]:
    columns = []
    for board in boards:
        columns += [(ms_column(board), "REAL"), (fits_column(board), "INTEGER")]
    return columns


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns(boards: Sequence[str]) -> list[str]:
    """The columns of sweep.csv (and of the table, for these boards), in order."""
    return [
        name
        for name, _ in (
            *IDENTITY_COLUMNS,
            *SPEC_COLUMNS,
            *RESULT_COLUMNS,
            *board_columns(boards),
            *EXTRA_COLUMNS,
        )
    ]


class SweepStore:
    def __init__(self, path: Path, boards: Sequence[str]):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._create(boards)
        except sqlite3.DatabaseError as exc:
            raise PipelineError(
                f"{self.path}: not a sweep database ({exc}): move it away or use another --out"
            ) from None

    def _create(self, boards: Sequence[str]) -> None:
        spec = ", ".join(
            f"{quoted(n)} {t}" for n, t in (*IDENTITY_COLUMNS, *SPEC_COLUMNS, *RESULT_COLUMNS, *EXTRA_COLUMNS)
        )
        self.db.execute(f"CREATE TABLE IF NOT EXISTS points ({spec})")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS selection (position INTEGER PRIMARY KEY, key TEXT NOT NULL)")
        layout = self.meta("layout")
        if layout is not None and layout != STORE_LAYOUT:
            raise PipelineError(
                f"{self.path}: a sweep database of layout {layout}, this tinyml reads {STORE_LAYOUT}: use another --out"
            )
        self.set_meta("layout", STORE_LAYOUT)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(points)")}
        for name, kind in board_columns(boards):
            if name not in have:
                self.db.execute(f"ALTER TABLE points ADD COLUMN {quoted(name)} {kind}")

    def close(self) -> None:
        self.db.close()

    # --- settings -----------------------------------------------------------------------------

    def meta(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, name: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )

    # --- points ----------------------------------------------------------------------------------

    def rows(self, keys: Iterable[str] | None = None) -> dict[str, dict]:
        if keys is None:
            found = self.db.execute("SELECT * FROM points").fetchall()
        else:
            wanted = list(keys)
            found = []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                found += self.db.execute(
                    f"SELECT * FROM points WHERE key IN ({', '.join('?' * len(chunk))})", chunk
                ).fetchall()
        return {row["key"]: dict(row) for row in found}

    def row(self, key: str) -> dict | None:
        found = self.db.execute("SELECT * FROM points WHERE key = ?", (key,)).fetchone()
        return dict(found) if found else None

    def insert(self, rows: Sequence[dict]) -> None:
        """New points (a key already there is left as it is)."""
        with self.transaction():
            for values in rows:
                names = list(values)
                self.db.execute(
                    f"INSERT OR IGNORE INTO points ({', '.join(map(quoted, names))}) "
                    f"VALUES ({', '.join('?' * len(names))})",
                    [values[n] for n in names],
                )

    def update(self, key: str, **values: Any) -> None:
        values["updated"] = time.time()
        names = list(values)
        self.db.execute(
            f"UPDATE points SET {', '.join(f'{quoted(n)} = ?' for n in names)} WHERE key = ?",
            [values[n] for n in names] + [key],
        )

    def set_selection(self, keys: Sequence[str]) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM selection")
            self.db.executemany("INSERT INTO selection(position, key) VALUES(?, ?)", list(enumerate(keys)))

    def selection(self) -> list[dict]:
        """The rows of the current sweep, in its order."""
        found = self.db.execute(
            "SELECT points.* FROM selection JOIN points ON points.key = selection.key ORDER BY selection.position"
        ).fetchall()
        return [dict(row) for row in found]

    def redo_running(self) -> int:
        """Points a stopped sweep left running go back to pending (they are redone)."""
        cursor = self.db.execute(
            "UPDATE points SET status = ?, stage = NULL, reason = NULL WHERE status = ?", (PENDING, RUNNING)
        )
        return cursor.rowcount

    def transaction(self):
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


# --- the folder's lock -----------------------------------------------------------------------------


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"pid {info['pid']} on {info['host']}, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def check_unlocked(folder: Path) -> None:
    """Refuses in one line when a sweep holds the folder (a look, nothing created)."""
    path = Path(folder) / LOCK
    if not path.is_file():
        return
    try:
        handle = open(path, "a+")
    except OSError:
        return  # acquire() will say what is wrong
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(folder, path) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def _busy(folder: Path, path: Path) -> PipelineError:
    return PipelineError(
        f"--out {folder} is in use by another tinyml sweep ({_holder(path)}): wait for it to end, or give another --out"
    )


class SweepLock:
    """Held from acquire() until release() or the end of the process."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.handle: IO[str] | None = None

    def acquire(self) -> "SweepLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise _busy(self.folder, self.path) from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started}) + "\n")
        handle.flush()
        self.handle = handle
        return self

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
