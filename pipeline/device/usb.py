"""The board on USB: find its serial port by VID:PID, upload firmware with PlatformIO, wait for it
to come back after the reset."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from serial.tools import list_ports

from pipeline.board import Board
from pipeline.errors import PipelineError
from pipeline.project import platformio_command, project_root

REENUMERATE_TIMEOUT_S = 15.0


def find_board_port(board: Board, ports=None, pids: tuple[int, ...] | None = None) -> str:
    """The one serial port whose USB VID:PID is the board's (any of `pids`, default all of the
    board's); asks for --port otherwise."""
    ports = list_ports.comports() if ports is None else ports
    pids = board.usb_pids if pids is None else pids
    ids = ", ".join(f"{board.usb_vid:04x}:{pid:04x}" for pid in pids)
    found = sorted(p.device for p in ports if p.vid == board.usb_vid and p.pid in pids)
    if not found:
        raise PipelineError(
            f"no {board.name} found on USB ({ids}): plug it in (double-tap reset if "
            "it does not enumerate) or pass --port"
        )
    if len(found) > 1:
        raise PipelineError(f"{len(found)} boards found ({', '.join(found)}): choose one with --port")
    return found[0]


def wait_for_port(
    board: Board, timeout_s: float = REENUMERATE_TIMEOUT_S, ports_fn=None, pids: tuple[int, ...] | None = None
) -> str:
    """After an upload the board resets and its USB serial port re-enumerates (possibly renamed)."""
    ports_fn = ports_fn or list_ports.comports
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return find_board_port(board, ports_fn(), pids)
        except PipelineError:
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"the {board.name} did not come back on USB within {timeout_s:.0f} s "
                    "after the upload: press reset, then run with --no-flash"
                ) from None
            time.sleep(0.25)


def wait_for_path(port: str, timeout_s: float = REENUMERATE_TIMEOUT_S) -> str:
    """A port given by the user: wait until its device node is back (URLs are returned as they are)."""
    if "://" in port:
        return port
    deadline = time.monotonic() + timeout_s
    while not Path(port).exists():
        if time.monotonic() > deadline:
            raise PipelineError(
                f"{port} did not come back within {timeout_s:.0f} s after the upload: "
                "check the cable, press reset, then run with --no-flash"
            )
        time.sleep(0.25)
    return port


def upload(env: str, port: str | None, project_dir: Path | None = None, runner=subprocess.run) -> None:
    """`pio run -e ENV -t upload`: PlatformIO does the 1200-bps touch and bossac for the Nano."""
    command = platformio_command() + ["run", "-d", str(project_dir or project_root()), "-e", env, "-t", "upload"]
    if port:
        command += ["--upload-port", port]
    proc = runner(command, capture_output=True, text=True)
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        lines = [line for line in output.strip().splitlines() if line.strip()]
        last = lines[-1][:200] if lines else "(no output)"
        hint = (
            "PlatformIO could not download its platform or libraries: connect to the internet once "
            "or install them offline (pio pkg install)"
            if any(
                w in output
                for w in ("HTTPClientError", "Could not resolve", "ConnectionError", "Name or service not known")
            )
            else "see the output of the command above"
        )
        raise PipelineError(f"upload failed: `{' '.join(command)}` exited {proc.returncode} ({last}); {hint}")
