"""Read one benchmark run from a device, emulator or test double over a serial URL.

Ports are opened with `serial.serial_for_url`, so the same code reads a board (`/dev/ttyACM0`),
QEMU/Renode (`socket://localhost:4321`), a pty, or `loop://`. Every read has a deadline. Failures
are one-line PipelineErrors that quote the last lines the device sent.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from pathlib import Path
from typing import Callable

import serial

from pipeline.errors import PipelineError
from pipeline.files import write_json
from pipeline.serial_link.protocol import (
    ProtocolError,
    RunAssembler,
    RunResult,
    StartRecord,
    parse_versioned_line,
    shown,
)

DEFAULT_BAUDRATE = 115200
# How long one port read may block; the overall deadline is checked between reads.
_POLL_S = 0.05
# TFLM's abort on a board: DebugLog("HALTED\n") and spin forever.
_HALTED = re.compile(r"\bHALTED\s*$")


class DeviceHaltedError(PipelineError):
    """TFLM aborted on the device (it printed HALTED and spins)."""


class ReadTimeoutError(PipelineError):
    """No complete run arrived before the deadline."""


class PortVanishedError(PipelineError):
    """The port could not be opened or stopped working while reading."""


class _Transcript:
    """Splits received bytes into lines and keeps the last few for error messages."""

    def __init__(self, keep: int) -> None:
        self.recent: deque[str] = deque(maxlen=keep)
        self._partial = b""

    def feed(self, data: bytes):
        """Complete lines in `data` (plus what came before), each remembered as it is handed out,
        so an error names the offending line last."""
        *complete, self._partial = (self._partial + data).split(b"\n")
        for raw in complete:
            line = raw.decode("ascii", errors="replace").rstrip("\r")
            self.recent.append(line)
            yield line

    def last_lines(self) -> str:
        lines = [shown(line) for line in self.recent]
        if self._partial:
            lines.append(shown(self._partial.decode("ascii", errors="replace")) + " (unfinished)")
        return " | ".join(lines) if lines else "(nothing received)"


def open_port(url: str, *, baudrate: int = DEFAULT_BAUDRATE) -> serial.SerialBase:
    """The serial port at `url`, opened; a device's stale input is flushed, an emulator's socket
    keeps what its guest sent from the moment of connection."""
    try:
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=_POLL_S, do_not_open=True)
        if url.startswith("socket://"):
            # An emulator starts its guest when the reader connects (QEMU's -serial ...,wait=on), so
            # what arrived between connect and the end of open() is the start of the run, not stale
            # input: pyserial's open() would discard it (on a loaded machine, START with it).
            port.reset_input_buffer = lambda: None
            port.open()
            del port.reset_input_buffer
        else:
            port.open()  # a board's tty: stale input is flushed, the caller resets the board after
        return port
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortVanishedError(
            f"cannot open serial port {url}: {exc}; check the device is connected (or the emulator "
            "is listening) and the port name"
        ) from exc


def read_run(
    url: str,
    timeout_s: float,
    *,
    baudrate: int = DEFAULT_BAUDRATE,
    on_open: Callable[[serial.SerialBase], None] | None = None,
    keep_lines: int = 6,
) -> RunResult:
    """Open `url`, call `on_open(port)` (e.g. start the device or emulator so no output is lost to
    the flush on open), then read until one run's DONE. Raises PipelineError subclasses:
    PortVanishedError, ReadTimeoutError, DeviceHaltedError, protocol.ProtocolError."""
    port = open_port(url, baudrate=baudrate)
    try:
        if on_open is not None:
            on_open(port)
        return read_run_from(port, timeout_s, source=url, keep_lines=keep_lines)
    finally:
        try:
            port.close()
        except (serial.SerialException, OSError):
            pass  # a vanished port cannot be closed cleanly; the read already reported it


def read_run_from(port: serial.SerialBase, timeout_s: float, *, source: str, keep_lines: int = 6) -> RunResult:
    """Read one run from an open port. Noise and records before the first START (joined mid-run)
    are skipped; an ERROR record comes back as `RunResult.error`, not as an exception."""
    transcript = _Transcript(keep_lines)
    assembler = RunAssembler()
    skipped = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            # Up to the end of one line, never past it: what follows DONE (the verification
            # session's VREADY, sent right after it) stays in the port for VerifySession. A chunk
            # read (in_waiting) would take it along from a board's tty, where both arrive together.
            data = port.read_until(b"\n")
        except (serial.SerialException, OSError) as exc:
            raise PortVanishedError(
                f"serial port {source} stopped working while reading ({exc}): the device was "
                f"unplugged or reset, or the emulator exited; last lines: {transcript.last_lines()}"
            ) from exc
        for line in transcript.feed(data):
            if _HALTED.search(line):
                raise DeviceHaltedError(
                    f"{source}: the device halted (TFLM aborted, often an unsupported op or "
                    f"out-of-range quantisation); last lines: {transcript.last_lines()}"
                )
            try:
                parsed = parse_versioned_line(line)
                if parsed is None:
                    continue
                version, record = parsed
                if not assembler.started and not isinstance(record, StartRecord):
                    skipped += 1  # tail of a run we joined late
                    continue
                if assembler.add(record, version):
                    return assembler.result()
            except ProtocolError as exc:
                raise type(exc)(f"{source}: {exc}; last lines: {transcript.last_lines()}") from exc
    raise ReadTimeoutError(_timeout_message(source, timeout_s, assembler, skipped, transcript))


def _timeout_message(
    source: str, timeout_s: float, assembler: RunAssembler, skipped: int, transcript: _Transcript
) -> str:
    if assembler.start is None:
        what = "no START record"
        if skipped:
            what += f" ({skipped} records of a run already under way were skipped)"
        hint = "reset the device (or restart the emulator) after opening the port, check the port and baud rate"
    else:
        what = f"run of {assembler.start.model} unfinished after {assembler.count} records"
        hint = "the device hung or the run needs a longer timeout"
    return f"{source}: {what} within {timeout_s:g} s: {hint}; last lines: {transcript.last_lines()}"


def save_run_result(result: RunResult, path: str | os.PathLike) -> Path:
    """Write `result` as JSON atomically: a finished model's result is either fully on disk or not
    at all, even if the process dies while writing."""
    path = Path(path)
    write_json(path, result.to_dict())
    return path


def load_run_result(path: str | os.PathLike) -> RunResult:
    """A RunResult written by save_run_result."""
    path = Path(path)
    try:
        return RunResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PipelineError(f"cannot read run result {path}: {exc}; measure the model again") from exc
