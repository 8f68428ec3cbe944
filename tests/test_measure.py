"""Device loop without hardware: port discovery, PlatformIO failures, and `tinyml measure` reading
the host-built firmware core (the real protocol writer) over a socket into the report."""
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import cbuild
from pipeline.device import usb as device
from pipeline import project
from pipeline.board import load_board
from pipeline.errors import PipelineError
from dataclasses import replace

from pipeline import driver
from pipeline.records import write_record
from results_fixtures import emulated, result

BOARD = load_board()


def port(device_name, vid=0x2341, pid=0x805A):
    return SimpleNamespace(device=device_name, vid=vid, pid=pid)


def test_find_board_port():
    assert device.find_board_port(BOARD, [port("/dev/ttyACM0"), port("/dev/ttyUSB0", 0x0403, 0x6001)]) == "/dev/ttyACM0"
    with pytest.raises(PipelineError, match="no Arduino Nano 33 BLE Sense found"):
        device.find_board_port(BOARD, [port("/dev/ttyUSB0", 0x0403, 0x6001)])
    with pytest.raises(PipelineError, match="2 boards found .*--port"):
        device.find_board_port(BOARD, [port("/dev/ttyACM0"), port("/dev/ttyACM1", pid=0x005A)])


def test_wait_for_port_sees_the_board_come_back():
    calls = iter([[], [], [port("/dev/ttyACM1")]])
    assert device.wait_for_port(BOARD, 5, lambda: next(calls)) == "/dev/ttyACM1"
    # right after an upload the bootloader's port may linger: wait for the sketch's
    calls = iter([[port("/dev/ttyACM0", pid=0x005A)], [port("/dev/ttyACM0", pid=0x005A)],
                  [port("/dev/ttyACM1", pid=0x805A)]])
    assert device.wait_for_port(BOARD, 5, lambda: next(calls), pids=(BOARD.usb_app_pid,)) == "/dev/ttyACM1"
    with pytest.raises(PipelineError, match="did not come back"):
        device.wait_for_port(BOARD, 0.3, lambda: [])


def test_upload_failure_says_what_was_tried(monkeypatch):
    monkeypatch.setattr(device, "platformio_command", lambda: ["pio"])
    offline = lambda cmd, **kw: SimpleNamespace(returncode=1, stdout="", stderr="HTTPClientError: could not fetch")  # noqa: E731
    with pytest.raises(PipelineError) as err:
        device.upload("nano33ble", "/dev/ttyACM0", runner=offline)
    message = str(err.value)
    assert "pio run" in message and "-t upload --upload-port /dev/ttyACM0" in message
    assert "could not download" in message and "\n" not in message


def test_platformio_missing(monkeypatch):
    monkeypatch.setattr(project.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "platformio", None)
    with pytest.raises(PipelineError, match="pip install platformio"):
        project.platformio_command()


class RelayServer:
    """A TCP 'serial port' that starts the test double once a reader connects (like QEMU's
    -serial tcp:...,server) and relays its stdout; or stays silent."""

    def __init__(self, binary, *args, silent=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.url = f"socket://127.0.0.1:{self.sock.getsockname()[1]}"
        self.command = [str(binary), *args]
        self.silent = silent
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.sock.accept()
        time.sleep(0.3)  # pyserial drops input that arrives while it opens the port
        if not self.silent:
            proc = subprocess.run(self.command, stdin=subprocess.DEVNULL, capture_output=True)
            conn.sendall(proc.stdout)
        time.sleep(5)
        conn.close()


@pytest.fixture(scope="module")
def fake_binary(tmp_path_factory):
    return cbuild.fake_device_binary(tmp_path_factory)


@pytest.fixture(scope="module")
def three_op_tflite(tmp_path_factory) -> Path:
    """A real int8 .tflite of three operators (CONV_2D, RESHAPE, FULLY_CONNECTED), as many as the
    test double's default LAYER records: measure checks the device's figures against the model."""
    import keras
    import numpy as np

    from pipeline.model.quantize import convert_keras_int8

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1), batch_size=1)
    out = keras.layers.Dense(4)(keras.layers.Flatten()(keras.layers.Conv2D(2, 3, strides=2)(inp)))
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    path = tmp_path_factory.mktemp("measure") / "three_ops.tflite"
    path.write_bytes(convert_keras_int8(keras.Model(inp, out), lambda: ([x[i : i + 1]] for i in range(4))))
    return path


@pytest.fixture
def make_results(three_op_tflite):
    def make(tmp_path, name="fake_model"):
        folder = tmp_path / "out" / "models" / name
        folder.mkdir(parents=True)
        host = result(name, "separable")
        write_record(folder / "result.json", replace(host, macs=40_000))
        tflite = folder / f"{name}.tflite"
        tflite.write_bytes(three_op_tflite.read_bytes())
        return tflite

    return make


def tinyml(*args):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_measure_reads_the_real_protocol_into_the_report(tmp_path, fake_binary, make_results):
    tflite = make_results(tmp_path)
    server = RelayServer(fake_binary, "--model", "fake_model", "--layers", "3", "--runs", "5", "--boot-noise")
    proc = tinyml("measure", tflite, "--port", server.url, "--no-flash", "--json", "--timeout", "20")
    assert proc.returncode == 0, proc.stderr
    measured = json.loads(proc.stdout)["models"][0]["measured"]
    assert measured["unit"] == "cycles" and measured["runs"] == 5
    assert measured["ticks_min"] <= measured["cycles"] <= measured["ticks_max"]
    assert [layer["op"] for layer in measured["layers"]] == ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"]
    stored = json.loads((tflite.parent / "measured.json").read_text())
    assert stored == measured
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["models"][0]["measured"]["cmsis-nn"]["cycles"] == measured["cycles"]
    md = (tmp_path / "out" / "report.md").read_text()
    ms = 1000 * measured["cycles"] / 64_000_000
    assert f"| fake_model | cmsis-nn | 40,000 | – | – | – | – | – | – | {measured['cycles']:,} | {ms:.3f} |" in md

    # resumable: a second session keeps the finished model without touching the port
    again = tinyml("measure", tflite, "--port", "socket://127.0.0.1:9", "--no-flash", "--timeout", "1")
    assert again.returncode == 0 and "kept the earlier measurement" in again.stderr


def test_nothing_speaking_is_one_line_and_non_zero(tmp_path, fake_binary, make_results):
    tflite = make_results(tmp_path)
    server = RelayServer(fake_binary, silent=True)
    proc = tinyml("measure", tflite, "--port", server.url, "--no-flash", "--timeout", "1")
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and "tinyml measure: error:" in proc.stderr
    assert not (tflite.parent / "measured.json").exists()


def test_wrong_model_on_the_device(tmp_path, fake_binary, make_results):
    tflite = make_results(tmp_path)
    server = RelayServer(fake_binary, "--model", "other_model")
    proc = tinyml("measure", tflite, "--port", server.url, "--no-flash", "--timeout", "20")
    assert proc.returncode != 0 and "runs model 'other_model'" in proc.stderr


def test_measure_flashes_each_model_then_reads(tmp_path, fake_binary, make_results):
    tflite = make_results(tmp_path)
    server = RelayServer(fake_binary, "--model", "fake_model")
    flashed = []

    def flash(path, port):
        flashed.append(path)
        return server.url

    (measured,) = driver.measure_files([tflite], driver.MeasureRequest(BOARD, timeout_s=20), flash=flash)
    assert flashed == [tflite] and measured.record.runs >= 1 and measured.error is None


def test_board_record_has_cycles_board_instructions_and_the_crc(tmp_path, fake_binary, make_results):
    tflite = make_results(tmp_path)
    server = RelayServer(fake_binary, "--model", "fake_model", "--layers", "3", "--runs", "5")
    proc = tinyml("measure", tflite, "--port", server.url, "--no-flash", "--json", "--timeout", "20")
    assert proc.returncode == 0, proc.stderr
    model = json.loads(proc.stdout)["models"][0]
    measured = model["measured"]
    dwt = measured["dwt"]
    # the double's counters over the counted invoke of C cycles (firmware/host/fake_device.cpp):
    # cpi C/8, exc 40, lsu C/16, fold C/32; C/200 samples at K = (20700 - 20000) / 100 = 7
    c = dwt["cycles"]
    total = c - c // 8 - 40 - 0 - c // 16 + c // 32
    assert dwt["counted_total"] == total and dwt["sampler_instructions_per_sample"] == 7
    assert measured["board_instructions"] == total - 7 * (c // 200)
    assert measured["cycles"] == measured["ticks"] and dwt["reliable"] is True
    assert measured["cache"] == {"state": "on", "hits": 9005, "misses": 105}
    assert measured["output_crc32"] is not None and measured["protocol_version"] == 2
    assert model["vs_emulated"]["cycles"]["note"].startswith("not emulated")


def test_measure_shows_board_figures_next_to_the_estimate(tmp_path, fake_binary, make_results):
    tflite = make_results(tmp_path)
    write_record(tflite.parent / "emulated.json", emulated("fake_model", ["CONV_2D"], [5000], cycles=[6500]))
    server = RelayServer(fake_binary, "--model", "fake_model", "--layers", "3", "--runs", "5")
    proc = tinyml("measure", tflite, "--port", server.url, "--no-flash", "--json", "--timeout", "20")
    assert proc.returncode == 0, proc.stderr
    model = json.loads(proc.stdout)["models"][0]
    versus, measured = model["vs_emulated"], model["measured"]
    assert versus["cache"] == "on" and versus["cycles"]["predicted"] == 6500  # the cache-on estimate
    cycles = measured["cycles"]
    assert versus["cycles"]["error_pct"] == pytest.approx(100 * (6500 - cycles) / cycles, abs=0.01)
    board = measured["board_instructions"]
    assert versus["instructions"]["board"] == board
    assert versus["instructions"]["error_pct"] == pytest.approx(100 * (5000 - board) / board, abs=0.01)

    # the table form, and an emulated record without an estimate: says why it is missing
    write_record(tflite.parent / "emulated.json", emulated("fake_model", ["CONV_2D"], [5000]))
    server = RelayServer(fake_binary, "--model", "fake_model", "--layers", "3", "--runs", "5")
    text = tinyml("measure", tflite, "--port", server.url, "--no-flash", "--force", "--timeout", "20")
    assert text.returncode == 0, text.stderr
    assert (f"board cycles {cycles:,}; estimate, cache on: - (no cycle estimate in the emulated record "
            "(cycle estimate skipped: test))") in text.stdout
    assert f"board instructions {board:,}; QEMU 5,000 (" in text.stdout
