"""Device loop: find the board, flash it with PlatformIO, read one benchmark run over serial and
turn it into the `measured` record of the report."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from serial.tools import list_ports

from pipeline.board import Board
from pipeline.errors import PipelineError
from pipeline.targets.protocol import RunResult

REPO_ROOT = Path(__file__).resolve().parents[2]
REENUMERATE_TIMEOUT_S = 15.0


def find_board_port(board: Board, ports=None, pids: tuple[int, ...] | None = None) -> str:
    """The one serial port whose USB VID:PID is the board's (any of `pids`, default all of the
    board's); asks for --port otherwise."""
    ports = list_ports.comports() if ports is None else ports
    pids = board.usb_pids if pids is None else pids
    ids = ", ".join(f"{board.usb_vid:04x}:{pid:04x}" for pid in pids)
    found = sorted(p.device for p in ports if p.vid == board.usb_vid and p.pid in pids)
    if not found:
        raise PipelineError(f"no {board.name} found on USB ({ids}): plug it in (double-tap reset if "
                            "it does not enumerate) or pass --port")
    if len(found) > 1:
        raise PipelineError(f"{len(found)} boards found ({', '.join(found)}): choose one with --port")
    return found[0]


def wait_for_port(board: Board, timeout_s: float = REENUMERATE_TIMEOUT_S, ports_fn=None,
                  pids: tuple[int, ...] | None = None) -> str:
    """After an upload the board resets and its USB serial port re-enumerates (possibly renamed)."""
    ports_fn = ports_fn or list_ports.comports
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return find_board_port(board, ports_fn(), pids)
        except PipelineError:
            if time.monotonic() > deadline:
                raise PipelineError(f"the {board.name} did not come back on USB within {timeout_s:.0f} s "
                                    "after the upload: press reset, then run with --no-flash") from None
            time.sleep(0.25)


def wait_for_path(port: str, timeout_s: float = REENUMERATE_TIMEOUT_S) -> str:
    """A port given by the user: wait until its device node is back (URLs are returned as they are)."""
    if "://" in port:
        return port
    deadline = time.monotonic() + timeout_s
    while not Path(port).exists():
        if time.monotonic() > deadline:
            raise PipelineError(f"{port} did not come back within {timeout_s:.0f} s after the upload: "
                                "check the cable, press reset, then run with --no-flash")
        time.sleep(0.25)
    return port


def platformio_command() -> list[str]:
    """`pio` on PATH, else the platformio package of this Python."""
    if shutil.which("pio"):
        return ["pio"]
    try:
        import platformio  # noqa: F401
    except ImportError:
        raise PipelineError("PlatformIO is not installed: pip install platformio (or install the "
                            "PlatformIO IDE), then retry") from None
    return [sys.executable, "-m", "platformio"]


def upload(env: str, port: str | None, project_dir: Path = REPO_ROOT, runner=subprocess.run) -> None:
    """`pio run -e ENV -t upload`: PlatformIO does the 1200-bps touch and bossac for the Nano."""
    command = platformio_command() + ["run", "-d", str(project_dir), "-e", env, "-t", "upload"]
    if port:
        command += ["--upload-port", port]
    proc = runner(command, capture_output=True, text=True)
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        lines = [line for line in output.strip().splitlines() if line.strip()]
        last = lines[-1][:200] if lines else "(no output)"
        hint = ("PlatformIO could not download its platform or libraries: connect to the internet once "
                "or install them offline (pio pkg install)"
                if any(w in output for w in ("HTTPClientError", "Could not resolve", "ConnectionError",
                                             "Name or service not known"))
                else "see the output of the command above")
        raise PipelineError(f"upload failed: `{' '.join(command)}` exited {proc.returncode} ({last}); {hint}")


def measured_record(run: RunResult, source: str) -> dict:
    """The `measured` object of report.json for one run read from a device."""
    if run.error is not None:
        raise PipelineError(f"{run.model}: the device reported {run.error.code}: {run.error.detail}")
    summary = run.summary
    record = {
        "source": source, "unit": run.unit, "clock_hz": run.clock_hz, "firmware": run.firmware_version,
        "runs": summary.runs, "ticks": summary.ticks_median, "ticks_min": summary.ticks_min,
        "ticks_max": summary.ticks_max, "us": summary.us_median, "us_min": summary.us_min,
        "us_max": summary.us_max, "arena_used_bytes": run.arena_used, "arena_size_bytes": run.arena_size,
        "layers": [{"op": layer.op, "ticks": layer.ticks} for layer in run.layers],
    }
    if run.unit == "cycles":  # only a real clock counts cycles; emulators count instructions
        record.update(cycles=summary.ticks_median, cycles_min=summary.ticks_min, cycles_max=summary.ticks_max)
    record.update(board_v2_fields(run))
    return record


def board_v2_fields(run: RunResult) -> dict:
    """Protocol-v2 additions of the `measured` record: cache, DWT counters and the board's
    instruction count (null where the device did not count them), the output's CRC-32."""
    from dataclasses import asdict

    from pipeline.targets.dwt import board_instructions

    counted = board_instructions(run)
    return {
        "protocol_version": run.protocol_version,
        "cache": asdict(run.cache) if run.cache else None,
        "dwt": ({**asdict(run.counters), **counted.to_dict()} if counted
                else asdict(run.counters) if run.counters else None),
        "board_instructions": counted.instructions if counted else None,
        "output_crc32": run.output_crc32,
    }
