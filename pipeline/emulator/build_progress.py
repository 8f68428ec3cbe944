"""A CMake build with a progress line: the first emulator build compiles TFLM (a minute or more),
so the user sees how far it is instead of a silent terminal.

Ninja prints `[N/M] Building CXX object ...` and Make `[ 45%] Building ...` per step; the line
shows the step count (or percentage) and what is being compiled. On a terminal it is rewritten in
place; otherwise one line per tenth of the build (logs stay short).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from typing import TextIO

from pipeline.errors import PipelineError

_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]\s+(.*)$")
_MAKE_STEP = re.compile(r"^\[\s*(\d+)%\]\s+(.*)$")
_OBJECT = re.compile(r"(?:Building \w+ object|Linking \w+ \S+)\s+(\S+)")


def progress_of(line: str) -> tuple[float, str] | None:
    """(fraction done, what) for a Ninja or Make progress line, else None."""
    match = _NINJA_STEP.match(line)
    if match:
        done, total = int(match.group(1)), int(match.group(2))
        return (done / total if total else 1.0), match.group(3)
    match = _MAKE_STEP.match(line)
    if match:
        return int(match.group(1)) / 100, match.group(2)
    return None


def _short(what: str) -> str:
    match = _OBJECT.search(what)
    name = match.group(1) if match else what
    name = os.path.basename(name.rstrip("/"))
    for suffix in (".obj", ".o"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


class ProgressLine:
    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.shown_tenth = -1
        self.written = False

    def update(self, fraction: float, what: str) -> None:
        text = f"{self.label}: {fraction:4.0%} {_short(what)}"
        if self.tty:
            self.stream.write("\r" + text[:100].ljust(100))
            self.written = True
        elif int(fraction * 10) > self.shown_tenth:
            self.shown_tenth = int(fraction * 10)
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.written:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def run_build(command: list[str], what: str, timeout_s: float, label: str, stream: TextIO | None = None) -> str:
    """Runs the build `command`, drawing progress on `stream` (default stderr). Returns its output;
    a failure or a timeout is one PipelineError quoting the compiler's error lines."""
    stream = sys.stderr if stream is None else stream
    progress = ProgressLine(label, stream)
    lines: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    ) as proc:
        timer = threading.Timer(timeout_s, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                step = progress_of(line)
                if step is not None:
                    progress.update(*step)
            proc.wait()
        finally:
            timer.cancel()
            progress.finish()
    output = "\n".join(lines)
    if proc.returncode == -signal.SIGKILL:
        raise PipelineError(f"{what} did not finish in {timeout_s:g} s: {' '.join(command)}")
    if proc.returncode != 0:
        errors = [line for line in lines if "error" in line.lower() or "undefined reference" in line]
        detail = " | ".join(errors[:6]) if errors else " | ".join([line for line in lines if line.strip()][-12:])
        raise PipelineError(f"{what} failed (exit {proc.returncode}): {detail}")
    return output
