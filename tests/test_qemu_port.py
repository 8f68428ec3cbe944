"""The QEMU mps2-an386 port without TFLM: the self-test firmware (portable core + port + a runner
whose layers are loops of known instruction count) is cross-compiled with CMake and Debian's
arm-none-eabi-gcc, run in qemu-system-arm, and its UART output read through pyserial.

Checks: the protocol records parse, the SysTick clock's calibration (40 instructions per tick under
-icount shift=0) reproduces the loops' instruction counts, and broken firmware (TFLM's HALTED, a
fault, a silent hang) is stopped and reported with the last lines it printed.

CI installs the toolchain and QEMU (.ci/run), so there a missing tool fails the test; elsewhere it
skips with the Debian package to install."""
from __future__ import annotations

import re

import pytest
from cbuild import require_emulator_tools

from pipeline.emulator import build as emu_build, qemu as emu_qemu, stage as emu_stage, toolchain as emu_tools
from pipeline.errors import PipelineError
from pipeline.serial_link.protocol import parse_line, parse_text

# Instruction overhead a LAYER measurement may add to its loop: the clock reads around it (about
# 30 instructions each), one SysTick tick of quantisation at each end (40 each), and the SysTick
# wrap interrupts the self-test's short reload causes (4 wraps in 10 M instructions, ~20 each).
LAYER_OVERHEAD_MAX = 250




@pytest.fixture(scope="module")
def selftest_tree(tmp_path_factory):
    require_emulator_tools("QEMU port test")
    work = tmp_path_factory.mktemp("qemu-port")
    tree = emu_build.configure(work, None)
    for target in ("qemu_selftest", "qemu_selftest_halted", "qemu_selftest_fault",
                   "qemu_selftest_hang", "qemu_selftest_noisy"):
        emu_build.build_target(tree, target)
    return tree


@pytest.fixture(scope="module")
def selftest_run(selftest_tree):
    return emu_qemu.run_firmware(selftest_tree / "qemu_selftest.elf", timeout_s=60)


def test_selftest_prints_a_complete_protocol_run(selftest_run):
    run = selftest_run
    assert run.ok and run.error is None
    assert run.model == "qemu_selftest"
    assert run.unit == "instructions"
    assert run.clock_hz == 1_000_000_000  # -icount shift=0: one instruction per nanosecond
    assert (run.runs, run.warmup) == (3, 1)
    assert (run.arena_size, run.arena_used) == (64, 32)
    assert [layer.op for layer in run.layers] == ["LOOP_200", "LOOP_1000000", "LOOP_10000000"]
    # protocol v2: QEMU models no flash cache and no DWT, and says so
    assert run.protocol_version == 2
    assert run.cache.state == "none" and run.counters.state == "none" and run.sampler is None


def test_systick_calibration_matches_loops_of_known_instruction_count(selftest_run):
    for layer in selftest_run.layers:
        expected = int(re.fullmatch(r"LOOP_(\d+)", layer.op).group(1))
        # Never fewer than the loop executed; a wrong ticks->instructions factor (e.g. QEMU's 1 MHz
        # reference clock, 1000 per tick) would be off by far more than the overhead.
        assert expected <= layer.ticks <= expected + LAYER_OVERHEAD_MAX, layer
    big = selftest_run.layers[-1]
    assert abs(big.ticks - 10_000_000) / 10_000_000 < 1e-4


def test_summary_is_the_sum_of_the_loops_and_micros_are_virtual_time(selftest_run):
    loops = sum(layer.ticks for layer in selftest_run.layers)
    summary = selftest_run.summary
    assert summary.ticks_min <= summary.ticks_median <= summary.ticks_max
    assert loops <= summary.ticks_min and summary.ticks_max <= loops + LAYER_OVERHEAD_MAX
    # 1000 instructions per virtual microsecond
    assert abs(summary.us_median - summary.ticks_median / 1000) <= 2


def test_firmware_text_size_is_read_from_the_elf(selftest_tree):
    size = emu_build.firmware_size(selftest_tree / "qemu_selftest.elf")
    assert 1000 < size.text_bytes < 64_000
    assert size.flash_bytes == size.text_bytes + size.data_bytes


def test_tflm_halted_is_reported_with_the_last_lines(selftest_tree):
    with pytest.raises(PipelineError) as caught:
        emu_qemu.run_firmware(selftest_tree / "qemu_selftest_halted.elf", timeout_s=30)
    message = str(caught.value)
    assert "halted" in message and "HALTED" in message
    assert "TML2 ARENA" in message  # the last lines seen before the abort


def test_fault_ends_the_emulator_and_is_reported(selftest_tree):
    with pytest.raises(PipelineError) as caught:
        emu_qemu.run_firmware(selftest_tree / "qemu_selftest_fault.elf", timeout_s=30)
    assert "FAULT HardFault" in str(caught.value)


def test_hanging_firmware_is_stopped_at_the_time_limit(selftest_tree):
    with pytest.raises(PipelineError) as caught:
        emu_qemu.run_firmware(selftest_tree / "qemu_selftest_hang.elf", timeout_s=3)
    message = str(caught.value)
    assert "time limit of 3 s" in message
    assert "TML2 START" in message


def test_raw_uart_lines_carry_valid_checksums(selftest_tree):
    """The firmware's bytes as they leave UART0, parsed line by line (not through the assembler)."""
    import serial

    qemu = emu_qemu.start_qemu(selftest_tree / "qemu_selftest.elf")
    try:
        link = serial.serial_for_url(qemu.url, timeout=30)
        data = b""
        while b"TML2 DONE" not in data or not data.endswith(b"\n"):
            chunk = link.read(max(1, link.in_waiting))
            assert chunk, f"UART output ended early: {data[-200:]!r}"
            data += chunk
        link.close()
    finally:
        qemu.stop()
    records = [parse_line(line) for line in data.split(b"\n") if line.strip()]
    assert all(record is not None for record in records)
    assert data.count(b"\r\n") == len(records)  # CRLF line ends


def test_a_slow_reader_still_gets_the_whole_run(selftest_tree):
    """A reader slower than the firmware: it connects with a small window and reads only after the
    guest has written 1 MiB and exited. QEMU must still deliver every byte up to DONE's line end
    (checked while looking for issue 19's race; its cause was the reader's open, see
    test_serial_reader.test_an_emulator_that_speaks_on_connect_is_read_whole_on_a_loaded_machine)."""
    import socket
    import time

    qemu = emu_qemu.start_qemu(selftest_tree / "qemu_selftest_noisy.elf")
    try:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader's small window
        client.connect(("127.0.0.1", qemu.port))
        time.sleep(3)  # the guest writes everything and exits meanwhile
        client.settimeout(30)
        data = bytearray()
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
        client.close()
    finally:
        qemu.stop()
    run = parse_text(data.decode("ascii", errors="replace"))
    assert run.model == "qemu_selftest" and run.summary is not None
    assert data.rstrip(b"\r\n").splitlines()[-1].startswith(b"TML2 DONE status=ok")
    assert data.endswith(b"\r\n")
