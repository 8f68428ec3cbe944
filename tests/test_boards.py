"""Board files (pipeline/boards/*.toml): every file the package ships loads and validates, the
MLPerf Tiny reference board carries the figures of ST's reference manual, and a bad file is
refused in one line naming every problem."""
from __future__ import annotations

import pytest

from pipeline.board import board_keys, load_board
from pipeline.errors import PipelineError
from pipeline.perf import cycles
from pipeline.perf.counts import CacheGeometry


@pytest.mark.parametrize("key", board_keys())
def test_every_shipped_board_loads(key):
    board = load_board(key)
    assert board.key == key and board.clock_hz > 0 and board.model_flash_budget > 0 and board.arena_budget > 0
    if board.memory is not None:
        assert board.memory.geometry_errors() == []
        assert cycles.model_for_board(board).clock_hz == board.clock_hz


def test_nucleo_l4r5zi_is_the_stm32l4r5_at_120_mhz_with_the_art_caches():
    board = load_board("nucleo_l4r5zi")
    assert (board.chip, board.core, board.clock_hz) == ("STM32L4R5ZI", "cortex-m4", 120_000_000)
    assert (board.flash_bytes, board.ram_bytes) == (2 * 1024 * 1024, 640 * 1024)
    assert board.interrupts == () and board.pio_env == ""
    model = cycles.model_for_board(board)
    # RM0432: 5 wait states at 120 MHz (range 1 boost); ART: 32 lines of 4 x 64 bits on I-Code,
    # 8 lines of 4 x 64 bits on D-Code, LRU over all lines
    assert (model.flash.miss_penalty, model.flash.data_wait_states) == (5, 5)
    assert model.flash.cache == CacheGeometry(1024, 32, 32, 8)
    assert model.flash.data_cache == CacheGeometry(256, 8, 32, 8)
    assert board.memory.cache_on_at_start


def test_the_nanos_flash_has_no_data_cache_and_its_cache_is_on_through_the_bootloader():
    board = load_board("nano33ble")
    assert board.memory.data_cache_bytes == 0 and cycles.model_for_board(board).flash.data_cache is None
    assert board.memory.cache_on_at_start
    assert {i.rate_hz for i in board.interrupts} == {1000}


def _board_file(tmp_path, memory_extra: str = "", tail: str = "") -> str:
    text = (load_board_text("nucleo_l4r5zi").split("[memory]")[0] + "[memory]\n"
            "flash_fetch_wait_states = 2\nflash_data_wait_states = 2\ncache_miss_penalty = 3\n"
            "cache_bytes = 2048\ncache_ways = 2\ncache_line_bytes = 16\ncache_on_at_start = true\n"
            + memory_extra + tail)
    path = tmp_path / "custom.toml"
    path.write_text(text)
    return str(path)


def load_board_text(key: str) -> str:
    from pipeline.board import board_path

    return board_path(key).read_text()


def test_a_board_file_without_the_new_keys_still_loads(tmp_path):
    board = load_board(_board_file(tmp_path))
    assert board.memory.data_cache_bytes == 0 and board.interrupts == ()
    assert cycles.model_for_board(board).flash.cache == CacheGeometry(2048, 2, 16, 0)


@pytest.mark.parametrize("extra, message", [
    ("cache_fill_bytes = 12\n", "powers of two"),
    ("cache_fill_bytes = 32\n", "powers of two"),
    ("data_cache_bytes = 100\ndata_cache_ways = 2\ndata_cache_line_bytes = 32\n", "whole number of sets"),
])
def test_a_cache_the_simulation_cannot_take_is_refused(tmp_path, extra, message):
    with pytest.raises(PipelineError, match=message) as caught:
        load_board(_board_file(tmp_path, extra))
    assert "\n" not in str(caught.value)


def test_bad_interrupts_are_refused_in_one_line_with_every_problem(tmp_path):
    tail = ('[[interrupts]]\nsource = "tick"\nrate_hz = -1\ncycles = 10\n'
            '[[interrupts]]\nsource = "sof"\nrate_hz = 1000\nbogus = 1\n')
    with pytest.raises(PipelineError) as caught:
        load_board(_board_file(tmp_path, tail=tail))
    text = str(caught.value)
    assert "'rate_hz' must be a non-negative number" in text and "unknown key 'bogus'" in text
    assert "missing 'cycles'" in text and "\n" not in text
    too_busy = '[[interrupts]]\nsource = "storm"\nrate_hz = 100000\ncycles = 1000\n'
    with pytest.raises(PipelineError, match="of the clock"):
        load_board(_board_file(tmp_path, tail=too_busy))


def test_a_board_without_a_firmware_port_is_refused_by_flash_before_anything_runs(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    model = tmp_path / "m.tflite"
    model.write_bytes(b"not read")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "pipeline", "flash", str(model), "--board", "nucleo_l4r5zi"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "no firmware port" in done.stderr and done.stderr.count("\n") == 1
