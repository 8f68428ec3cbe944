"""QEMU's Cortex-M4 (mps2-an386) as a process: headless, UART0 on a local TCP socket that holds the
guest until the reader connects, semihosting so the firmware's exit ends QEMU, and `-icount
shift=0` so the firmware's SysTick counts executed instructions."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.serial_link.protocol import RunResult
from pipeline.serial_link.reader import ReadTimeoutError, read_run

QEMU_MACHINE = "mps2-an386"
EMULATOR_BOARD = "qemu_mps2_an386"  # pipeline/boards/qemu_mps2_an386.toml: the machine's memories
DEFAULT_TIMEOUT_S = 120.0


_LISTENING = re.compile(r"waiting for connection on: \S*tcp:([0-9.]+):(\d+)")


def qemu_command(elf: Path, extra_args: tuple | list = (), command_line: tuple[str, ...] = ()) -> list[str]:
    """Headless QEMU: UART0 on a TCP server that holds the guest until the reader connects
    (so no output is lost), semihosting so the firmware's exit ends QEMU (and `command_line`
    reaches it), instruction counting."""
    semihosting = ",".join(["enable=on,target=native", *(f"arg={word}" for word in command_line)])
    return [
        "qemu-system-arm",
        "-M",
        QEMU_MACHINE,
        "-nographic",
        "-monitor",
        "none",
        "-icount",
        "shift=0",
        "-semihosting-config",
        semihosting,
        "-serial",
        "tcp:127.0.0.1:0,server=on,wait=on",
        "-kernel",
        str(elf),
        *extra_args,
    ]


class _StderrPump:
    """Drains QEMU's stderr on a thread (a full pipe would stall QEMU) and keeps the last lines."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.recent: deque[str] = deque(maxlen=8)
        self.fatal: str | None = (
            None  # QEMU's first fatal line ("qemu: fatal: Lockup ..."), not the register dump after it
        )
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            line = line.rstrip()
            if not _LISTENING.search(line):  # the expected notice is not worth quoting in errors
                self.recent.append(line)
                if self.fatal is None and "fatal" in line.lower():
                    self.fatal = line
            self.lines.put(line)

    def text(self) -> str:
        return self.fatal or " | ".join(self.recent) or "(nothing)"


def _wait_for_listening_port(proc: subprocess.Popen, pump: _StderrPump, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            line = pump.lines.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                raise PipelineError(
                    f"qemu-system-arm exited ({proc.returncode}) before starting the firmware: {pump.text()}"
                ) from None
            continue
        match = _LISTENING.search(line)
        if match:
            return int(match.group(2))
    raise PipelineError(f"qemu-system-arm did not open its serial socket: {pump.text()}")


@dataclass
class QemuInstance:
    """A running qemu-system-arm whose guest waits for a client on 127.0.0.1:port (UART0)."""

    proc: subprocess.Popen
    port: int
    pump: _StderrPump

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def said(self) -> str:
        return f" (qemu-system-arm: {self.pump.text()})" if self.pump.recent else ""

    def stop(self) -> None:
        """QEMU normally exits by itself after DONE (semihosting exit); otherwise it is ended."""
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_qemu(
    elf: Path, startup_timeout_s: float = 30, extra_args: tuple | list = (), command_line: tuple[str, ...] = ()
) -> QemuInstance:
    """Starts QEMU on `elf`; returns once its serial socket listens (the guest has not run yet)."""
    if not Path(elf).is_file():
        raise PipelineError(f"firmware {elf} does not exist: build it first")
    proc = subprocess.Popen(
        qemu_command(elf, extra_args, command_line),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pump = _StderrPump(proc.stderr)
    try:
        port = _wait_for_listening_port(proc, pump, time.monotonic() + startup_timeout_s)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return QemuInstance(proc, port, pump)


def run_firmware(elf: Path, timeout_s: float = DEFAULT_TIMEOUT_S, extra_args: tuple | list = ()) -> RunResult:
    """Runs `elf` in QEMU and returns the protocol run it prints on UART0. The whole run is limited
    to timeout_s of wall time; a firmware that hangs, faults or prints TFLM's HALTED raises a
    PipelineError quoting the last lines seen."""
    deadline = time.monotonic() + timeout_s
    qemu = start_qemu(elf, min(timeout_s, 30), extra_args)
    try:
        return read_run(qemu.url, max(1.0, deadline - time.monotonic()))
    except ReadTimeoutError as exc:
        raise PipelineError(
            f"{elf.name} in QEMU stopped at the time limit of {timeout_s:g} s: {exc}{qemu.said()}"
        ) from None
    except PipelineError as exc:
        raise PipelineError(f"{elf.name} in QEMU: {exc}{qemu.said()}") from None
    finally:
        qemu.stop()
