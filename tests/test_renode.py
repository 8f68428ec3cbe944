"""Renode run of the nano33ble_renode firmware: tests/renode/benchmark.robot via `renode-test`, then
the uart0 log it wrote goes through the project's serial reader (checksums, record order, DONE).

Needs Renode (renode-test on PATH) and a built ELF (`tinyml firmware MODEL.tflite` then
`pio run -e nano33ble_renode`); the project's own CI has neither, so there it skips saying so. The
GitHub workflow .github/workflows/firmware.yml builds the ELF and runs the same suite.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import serial

from pipeline.targets.serial_reader import read_run_from

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "renode" / "benchmark.robot"
ELF = REPO / ".pio" / "build" / "nano33ble_renode" / "firmware.elf"


def test_renode_runs_the_benchmark_firmware(tmp_path):
    renode_test = shutil.which("renode-test")
    if renode_test is None:
        pytest.skip("renode-test not on PATH: Renode cannot be installed in this CI; "
                    ".github/workflows/firmware.yml runs this suite with antmicro/renode-test-action")
    if not ELF.is_file():
        pytest.skip(f"{ELF.relative_to(REPO)} not built: run `tinyml firmware MODEL.tflite` and "
                    "`pio run -e nano33ble_renode` (PlatformIO's registry is unreachable in this CI)")
    uart_log = tmp_path / "uart0.log"
    proc = subprocess.run(
        [renode_test, "--variable", f"ELF:{ELF}", "--variable", f"UART_LOG:{uart_log}",
         "-r", str(tmp_path / "results"), str(SUITE)],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"renode-test failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"

    # The same bytes through the reader the board and QEMU runs use.
    port = serial.serial_for_url("loop://", timeout=0.05)
    port.write(uart_log.read_bytes())
    result = read_run_from(port, 10.0, source="renode uart0")
    assert result.ok, result.error
    assert result.unit == "instructions" and result.runs == 3 and result.clock_hz == 64_000_000
    assert 0 < result.arena_used <= result.arena_size
    assert result.summary.ticks_min > 0 and result.layers
