"""The serial reader against the host test double behind a pty (as a board or emulator would be
seen), plus loop:// and the atomic result store. No hardware needed."""
from __future__ import annotations

import errno
import json
import os
import threading
import signal
import socket
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.serial_link.protocol import (
    CorruptLineError,
    DeviceResetError,
    ErrorRecord,
    SequenceError,
    VersionMismatchError,
    encode_record,
    parse_text,
)
from pipeline.serial_link.reader import (
    DeviceHaltedError,
    PortVanishedError,
    ReadTimeoutError,
    load_run_result,
    read_run,
    save_run_result,
)
import cbuild

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")

TIMEOUT_S = 20.0  # generous: only a broken reader ever waits this long


@pytest.fixture(scope="session")
def fake_device(tmp_path_factory):
    return cbuild.fake_device_binary(tmp_path_factory)


class FakeBoard:
    """The test double writing to a pty master; the reader opens the slave's tty path."""

    def __init__(self, binary: Path, *args: str) -> None:
        self.binary, self.args = binary, args
        self.master, self.slave = os.openpty()
        self.url = os.ttyname(self.slave)
        self.process: subprocess.Popen | None = None

    def start(self, port=None) -> None:
        """on_open hook: start after the port is open (pyserial flushes input on open)."""
        self.process = subprocess.Popen(
            [str(self.binary), *self.args], stdin=subprocess.PIPE, stdout=self.master,
            stderr=subprocess.PIPE)
        os.close(self.master)  # the double holds the only master: its exit hangs up the port
        self.master = None

    def start_and_wait_idle(self, port=None) -> None:
        """on_open hook for timeout tests: return once the double wrote everything and idles
        (it closes stderr then), so what the reader sees does not depend on timing."""
        self.start(port)
        self.process.stderr.read()

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()  # lets the idling double exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stderr.close()
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)


@pytest.fixture
def board(fake_device):
    boards = []

    def make(*args: str) -> FakeBoard:
        boards.append(FakeBoard(fake_device, *args))
        return boards[-1]

    yield make
    for b in boards:
        b.close()


def read_fake(board, *args: str, timeout_s: float = TIMEOUT_S):
    fake = board(*args)
    return read_run(fake.url, timeout_s, on_open=fake.start)


def expect_error(error_type, board, *args: str, timeout_s: float = TIMEOUT_S, wait_idle=False) -> str:
    fake = board(*args)
    with pytest.raises(error_type) as info:
        read_run(fake.url, timeout_s, on_open=fake.start_and_wait_idle if wait_idle else fake.start)
    message = str(info.value)
    assert isinstance(info.value, PipelineError) and "\n" not in message  # one line for the CLI
    return message


@pytest.mark.parametrize("extra", [[], ["--boot-noise"], ["--layers", "9", "--runs", "7"]])
def test_run_over_pty_equals_the_run_on_stdout(board, fake_device, extra):
    result = read_fake(board, *extra)
    assert result.ok and result.model == "fake_model"
    # Same double, same arguments, read through a pipe and the plain parser: identical result.
    assert result == parse_text(cbuild.run_fake(fake_device, *extra).stdout.decode("ascii", "replace"))


def test_alloc_error_is_a_result_not_an_exception(board):
    result = read_fake(board, "--boot-noise", "--fail", "alloc")
    assert not result.ok
    assert result.error.code == "alloc_failed"
    assert result.arena_size is None and result.summary is None


def test_invoke_error_keeps_the_arena(board):
    result = read_fake(board, "--fail", "invoke", "--fail-at", "3")
    assert result.error == ErrorRecord("invoke_failed", "fake_kernel_failed")
    assert result.arena_used == 82404


def test_cut_line_times_out_showing_the_unfinished_line(board):
    message = expect_error(ReadTimeoutError, board, "--cut", "3", timeout_s=0.3, wait_idle=True)
    assert "run of fake_model unfinished after 3 records" in message
    assert "'TML2 LAYER index=1" in message and "(unfinished)" in message


def test_garbled_line_is_reported_as_corrupt(board):
    message = expect_error(CorruptLineError, board, "--garble", "2")
    assert "checksum mismatch" in message and "LAYER" in message
    assert "last lines:" in message


def test_lost_line_is_detected(board):
    # 3 layers: line 5 is SUMMARY, 6-9 CACHE COUNTERS SAMPLER OUTPUT; DONE then counts one more.
    message = expect_error(SequenceError, board, "--drop", "8")
    assert "DONE counts 10 records but 9 arrived" in message


def test_halted_device_is_fatal_with_last_lines(board):
    message = expect_error(DeviceHaltedError, board, "--boot-noise", "--fail", "halt")
    assert "halted" in message and "'HALTED'" in message and "TML2 START" in message


def test_reset_mid_run_is_detected(board):
    message = expect_error(DeviceResetError, board, "--reset-after", "3", "--boot-noise")
    assert "reset mid-run" in message and "boot: fake_device" in message


def test_other_protocol_version_is_rejected(board):
    message = expect_error(VersionMismatchError, board, "--protocol-version", "3")
    assert "version 3" in message and "versions 1 and 2" in message


def test_version_1_firmware_is_still_read(board, fake_device):
    # The real core writing version 1 (no v2 records): what boards flashed before the bump send.
    result = read_fake(board, "--protocol-version", "1", "--boot-noise")
    assert result.ok and result.protocol_version == 1
    assert result.cache is None and result.counters is None and result.output is None
    v2 = read_fake(board)
    assert (result.layers, result.summary) == (v2.layers, v2.summary)


def test_version_2_records_over_a_pty(board):
    result = read_fake(board, "--layers", "4", "--runs", "3", "--warmup", "1")
    assert result.protocol_version == 2
    # the double's documented fakes (firmware/host/fake_device.cpp): last timed invoke k = 3
    assert (result.cache.state, result.cache.hits, result.cache.misses) == ("on", 9003, 103)
    assert result.output.bytes == 10
    assert result.output_crc32 == zlib.crc32(bytes((i * 37 + 11) % 256 for i in range(10)))
    c = result.counters
    assert c.state == "ok" and (c.cpi, c.exc, c.lsu, c.fold) == (c.cycles // 8, 40, c.cycles // 16,
                                                                    c.cycles // 32)
    assert result.sampler.samples == c.cycles // 200 and result.sampler.period == 200


def test_unavailable_counters_are_marked(board):
    result = read_fake(board, "--counters", "none", "--cache", "none")
    assert result.ok and result.counters.state == "none" and result.counters.cycles is None
    assert result.cache.state == "none" and result.cache.hits is None and result.sampler is None


def test_nothing_speaking_times_out(board):
    fake = board()  # nobody starts the double: the port stays silent
    with pytest.raises(ReadTimeoutError) as info:
        read_run(fake.url, 0.3)
    assert "no START record within 0.3 s" in str(info.value)
    assert "(nothing received)" in str(info.value)


def test_silent_device_times_out(board):
    message = expect_error(ReadTimeoutError, board, "--silent", timeout_s=0.3, wait_idle=True)
    assert "no START record" in message


def test_device_exiting_mid_run_is_a_vanished_port(board):
    message = expect_error(PortVanishedError, board, "--vanish-after", "3", "--layers", "9")
    assert "stopped working while reading" in message


def read_line(port, limit_s: float = 10.0) -> bytes:
    deadline = time.monotonic() + limit_s
    line = b""
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        line += port.read(1)
    return line


def test_killed_device_is_a_vanished_port(board):
    fake = board("--layers", "9")

    def start_then_kill(port):
        fake.start(port)
        assert read_line(port).startswith(b"TML2 START")  # it is speaking ...
        fake.process.send_signal(signal.SIGKILL)  # ... and dies
        fake.process.wait()

    with pytest.raises(PortVanishedError, match="stopped working while reading"):
        read_run(fake.url, TIMEOUT_S, on_open=start_then_kill)


class SocketBoard:
    """The double speaking through a TCP socket, as QEMU's or Renode's UART does (socket://)."""

    def __init__(self, binary: Path, *args: str) -> None:
        self.binary, self.args = binary, args
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.process: subprocess.Popen | None = None

    def start(self, port) -> None:
        connection, _ = self.server.accept()  # the reader's connect is already queued
        with connection:
            self.process = subprocess.Popen([str(self.binary), *self.args], stdin=subprocess.PIPE,
                                            stdout=connection.fileno(), stderr=subprocess.DEVNULL)

    def close(self) -> None:
        self.server.close()
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


@pytest.fixture
def socket_board(fake_device):
    boards = []

    def make(*args: str) -> SocketBoard:
        boards.append(SocketBoard(fake_device, *args))
        return boards[-1]

    yield make
    for b in boards:
        b.close()


def test_socket_url_like_an_emulator(socket_board, fake_device):
    fake = socket_board("--boot-noise", "--layers", "4")
    result = read_run(fake.url, TIMEOUT_S, on_open=fake.start)
    assert result.ok
    assert result == parse_text(cbuild.run_fake(fake_device, "--layers", "4").stdout.decode())


def test_emulator_exiting_mid_run_is_a_vanished_port(socket_board):
    fake = socket_board("--vanish-after", "2")
    with pytest.raises(PortVanishedError, match="stopped working while reading"):
        read_run(fake.url, TIMEOUT_S, on_open=fake.start)


def test_an_emulator_that_speaks_on_connect_is_read_whole_on_a_loaded_machine(monkeypatch):
    """The race of issue 19 ("socket disconnected" after DONE): QEMU's guest starts sending the
    moment the reader connects (-serial ...,wait=on), and pyserial's open() then discarded the
    input already received. On a loaded machine START arrived inside that window, every record
    after it was skipped as the tail of an earlier run, and QEMU's exit looked like a vanished
    port. Here the reader's setup after connect is slowed as load slows it."""
    import serial.urlhandler.protocol_socket as protocol_socket

    server = socket.create_server(("127.0.0.1", 0))

    def emulator():
        connection, _ = server.accept()
        with connection:
            connection.sendall(ok_run_text().encode())  # the whole run, then exit

    thread = threading.Thread(target=emulator, daemon=True)
    thread.start()
    original = protocol_socket.Serial._reconfigure_port

    def loaded(self, *args, **kwargs):
        time.sleep(0.5)  # connected, the emulator is sending, the reader not yet reading
        return original(self, *args, **kwargs)

    monkeypatch.setattr(protocol_socket.Serial, "_reconfigure_port", loaded)
    try:
        result = read_run(f"socket://127.0.0.1:{server.getsockname()[1]}", 5.0)
    finally:
        server.close()
        thread.join(5)
    assert result.ok and result.summary.ticks_median == 5


def test_port_that_does_not_exist(tmp_path):
    with pytest.raises(PortVanishedError, match="cannot open serial port"):
        read_run(str(tmp_path / "ttyACM9"), 1.0)


def ok_run_text() -> str:
    return "".join([
        encode_record("START", {"fw": "1", "model": "m", "clock_hz": 25000000, "unit": "instructions",
                                "runs": 1, "warmup": 0}),
        encode_record("ARENA", {"size": 8, "used": 7}),
        encode_record("SUMMARY", {"runs": 1, "ticks_min": 5, "ticks_median": 5, "ticks_max": 5,
                                  "us_min": 0, "us_median": 0, "us_max": 0}),
        encode_record("DONE", {"status": "ok", "records": 3}),
    ])


def test_loop_url_and_records_of_a_run_joined_late_are_skipped():
    tail_of_earlier_run = encode_record("LAYER", {"index": 4, "op": "SOFTMAX", "ticks": 1}) + encode_record(
        "DONE", {"status": "ok", "records": 9})
    result = read_run("loop://", 5.0, on_open=lambda port: port.write(
        (tail_of_earlier_run + "noise\r\n" + ok_run_text()).encode()))
    assert result.ok and result.unit == "instructions" and result.summary.ticks_median == 5


def test_the_verification_session_after_done_is_left_in_the_port():
    """A board's tty hands DONE and the VREADY sent right after it over in one read: the run's
    reader must stop at DONE's line so the verification session finds its VREADY."""
    import serial

    from pipeline.serial_link.reader import read_run_from
    from pipeline.serial_link.verify_session import VerifySession

    port = serial.serial_for_url("loop://", timeout=0.05)
    port.write((ok_run_text() + encode_record("VREADY", {"input": 768, "output": 10})).encode())
    assert read_run_from(port, 5.0, source="loop").ok
    session = VerifySession(port, 2.0, "loop")
    assert (session.input_bytes, session.output_bytes) == (768, 10)


def test_save_and_load_run_result(tmp_path):
    result = parse_text(ok_run_text())
    path = save_run_result(result, tmp_path / "results" / "m.json")
    assert load_run_result(path) == result
    assert json.loads(path.read_text())["model"] == "m"
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.json"]  # no temp file left


def test_failed_save_keeps_the_previous_result(tmp_path, monkeypatch):
    result = parse_text(ok_run_text())
    path = save_run_result(result, tmp_path / "m.json")
    before = path.read_text()

    def broken_fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipeline.files.os.fsync", broken_fsync)  # fails mid-write
    with pytest.raises(PipelineError, match="No space left on device: free some space") as caught:
        save_run_result(result, path)
    assert "\n" not in str(caught.value)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_load_of_a_damaged_result_is_a_pipeline_error(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(PipelineError, match="measure the model again"):
        load_run_result(path)
