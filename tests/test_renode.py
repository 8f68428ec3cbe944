"""Renode run of the nano33ble_renode firmware: tests/renode/benchmark.robot via `renode-test`, then
the uart0 log it wrote goes through the project's serial reader (checksums, record order, DONE).
The suite's per-layer check gets the MACs of the model inside the ELF (g_model_data), analysed here.

Needs Renode (renode-test on PATH) and a built ELF (`tinyml firmware MODEL.tflite` then
`pio run -e nano33ble_renode`); the project's own CI has neither, so there it skips saying so. The
GitHub workflow .github/workflows/firmware.yml builds the ELF and runs the same suite.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import serial

from pipeline.commands.analyze import analyze
from pipeline.serial_link.reader import read_run_from

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "renode" / "benchmark.robot"
ELF = REPO / ".pio" / "build" / "nano33ble_renode" / "firmware.elf"


def load_layer_ticks():
    spec = importlib.util.spec_from_file_location("layer_ticks", REPO / "tests" / "renode" / "layer_ticks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_in_elf(elf: Path) -> bytes:
    """The .tflite bytes the firmware carries: the generated g_model_data array."""
    from elftools.elf.elffile import ELFFile  # pyelftools comes with PlatformIO

    with open(elf, "rb") as f:
        image = ELFFile(f)
        symbol = next(s for s in image.get_section_by_name(".symtab").iter_symbols()
                      if s.name == "g_model_data")
        address, size = symbol["st_value"], symbol["st_size"]
        section = next(s for s in image.iter_sections()
                       if s["sh_addr"] <= address < s["sh_addr"] + s["sh_size"] and s["sh_type"] == "SHT_PROGBITS")
        start = address - section["sh_addr"]
        return section.data()[start:start + size]


def test_renode_runs_the_benchmark_firmware(tmp_path):
    renode_test = shutil.which("renode-test")
    if renode_test is None:
        pytest.skip("renode-test not on PATH: Renode cannot be installed in this CI; "
                    ".github/workflows/firmware.yml runs this suite with antmicro/renode-test-action")
    if not ELF.is_file():
        pytest.skip(f"{ELF.relative_to(REPO)} not built: run `tinyml firmware MODEL.tflite` and "
                    "`pio run -e nano33ble_renode` (PlatformIO's registry is unreachable in this CI)")
    uart_log = tmp_path / "uart0.log"
    model = tmp_path / "model.tflite"
    model.write_bytes(model_in_elf(ELF))
    analysis = tmp_path / "analysis.json"
    analysis.write_text(json.dumps(analyze(model, with_arena=False)))
    proc = subprocess.run(
        [renode_test, "--variable", f"ELF:{ELF}", "--variable", f"UART_LOG:{uart_log}",
         "--variable", f"ANALYSIS:{analysis}", "-r", str(tmp_path / "results"), str(SUITE)],
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


# --- the suite's per-layer keywords (plain Python), on made-up records -------------------------------

def layer_line(index: int, op: str, ticks: int) -> str:
    return f"TML2 LAYER index={index} op={op} ticks={ticks} *ABCD"


def test_quantum_is_read_from_renodes_time_source_info():
    keywords = load_layer_ticks()
    info = "Elapsed Virtual Time: 00:00:01.250000\nAdvance immediately: False\nQuantum: 00:00:00.000010"
    assert keywords.quantum_microseconds(info) == 10
    assert keywords.quantum_microseconds("Quantum: 00:00:01.000100") == 1_000_100
    with pytest.raises(AssertionError, match="no quantum"):
        keywords.quantum_microseconds("State: Started")


def test_layers_with_enough_macs_must_read_above_one_quantum(tmp_path):
    keywords = load_layer_ticks()
    floor = 640  # 10 us at 64 MIPS: layers over 4 x 640 MACs must read more than 640
    lines = [layer_line(0, "CONV_2D", 124_800), layer_line(1, "FULLY_CONNECTED", 640),
             layer_line(2, "SOFTMAX", 640), layer_line(3, "DEPTHWISE_CONV_2D", 640)]
    analysis = tmp_path / "analysis.json"
    analysis.write_text(json.dumps({"layers": [{"macs": m} for m in (331_776, 2_560, 0, 20_736)]}))
    macs = keywords.layer_macs(str(analysis))
    assert macs == [331_776, 2_560, 0, 20_736]
    stuck = keywords.layers_at_the_quantum_floor(lines, macs, str(floor))
    assert stuck == ["TML2 LAYER index=3 op=DEPTHWISE_CONV_2D ticks=640 (20736 MACs)"]
    assert keywords.layers_at_the_quantum_floor(lines[:3], macs[:3], floor) == []
    # At Renode's default 100 us (6,400 ticks) the same depthwise layer is below the bound: not judged.
    assert keywords.layers_at_the_quantum_floor(lines, macs, 6_400) == []
    with pytest.raises(AssertionError, match="another model"):
        keywords.layers_at_the_quantum_floor(lines, macs[:3], floor)
