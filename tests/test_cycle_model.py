"""The cycle model without QEMU: the penalty fit recovers known penalties from synthetic board
runs (and its command says what is wrong with bad input), the emulate JSON carries the estimate
fields, and the report's latency section uses measurements over estimates."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.report import latency
from pipeline.emulator import estimate as emulate_cycles
from pipeline.perf import cycles
from pipeline.board import load_board
from pipeline.perf.cycle_fit import BoardRun, fit_penalties
from pipeline.perf.counts import PRIMARY_CLASSES, ClassCounts

NANO_MODEL = cycles.model_for_board(load_board("nano33ble"))  # the board's timing (its file)

REPO = Path(__file__).resolve().parents[1]
KNOWN = {"branch_refill": 1.5, "address_dependency_stall": 0.5, "fetch_wait_states": 3.0,
         "miss_penalty": 7.0, "data_wait_states": 1.0}


def _random_counts(rng: random.Random) -> ClassCounts:
    counts = {name: rng.randrange(0, 10**6) for name in PRIMARY_CLASSES}
    taken = rng.randrange(0, counts["branch_cond"] + 1)
    counts.update(x_branch_taken=taken, x_branch_not_taken=counts["branch_cond"] - taken,
                  x_load_addr_dep=rng.randrange(0, counts["load"] + 1),
                  x_ldm_stm_regs=3 * counts["ldm_stm"], x_pop_pc=counts["ldm_stm"] // 4,
                  x_flash_data_reads=rng.randrange(0, 10**6),
                  x_fetch_words=rng.randrange(10**6, 4 * 10**6),
                  x_cache_misses=rng.randrange(0, 10**5))
    return ClassCounts(counts)


def _synthetic_runs(n: int, seed: int = 7) -> list[BoardRun]:
    rng = random.Random(seed)
    truth = NANO_MODEL.with_penalties(**KNOWN)
    runs = []
    for i in range(n):
        counts = _random_counts(rng)
        cache_on = i % 2 == 0
        measured = cycles.invoke_cycles(counts, cache_on, truth)  # with the board's interrupt load
        runs.append(BoardRun(f"m{i}", counts, cache_on, measured))
    return runs


def test_fit_recovers_known_penalties():
    result = fit_penalties(_synthetic_runs(10), model=NANO_MODEL)
    assert result.penalties == pytest.approx(KNOWN, rel=1e-6)
    assert all(row["after"] == pytest.approx(row["measured"]) for row in result.rows)
    assert any(abs(row["before"] - row["measured"]) > 1 for row in result.rows)


def test_fit_refuses_fewer_runs_than_penalties():
    with pytest.raises(PipelineError, match="cannot fit 5 penalties"):
        fit_penalties(_synthetic_runs(3), model=NANO_MODEL)


def _write_runs(tmp_path: Path, runs: list[BoardRun], with_cache: bool = True) -> list[str]:
    paths = []
    for run in runs:
        folder = tmp_path / run.name
        folder.mkdir()
        measured = {"cycles": run.measured_cycles}
        if with_cache:
            measured["cache"] = {"state": "on" if run.cache_on else "off"}
        (folder / "measured.json").write_text(json.dumps(measured))
        (folder / "emulated.json").write_text(json.dumps({"estimate_counts": run.counts.counts}))
        paths.append(str(folder / "measured.json"))
    return paths


def test_fit_command_prints_the_fitted_penalties(tmp_path):
    paths = _write_runs(tmp_path, _synthetic_runs(8))
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fit_cycle_penalties.py"),
                           *paths], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fitted = {line.split()[0]: float(line.split()[1]) for line in done.stdout.splitlines()
              if line.strip().split()[0] in KNOWN}
    assert fitted == pytest.approx(KNOWN, abs=1e-3)


def test_fit_command_bad_input_is_one_line(tmp_path):
    paths = _write_runs(tmp_path, _synthetic_runs(6), with_cache=False)
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fit_cycle_penalties.py"),
                           *paths], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--cache on|off" in done.stderr


def test_emulated_record_gives_ms_and_mac_per_cycle_at_the_boards_clock():
    from results_fixtures import emulated

    record = emulated("m", ["CONV_2D"], [5_000_000], [3_200_000], cycles=[6_400_000])
    assert (record.estimated_cycles.cache_on, record.estimated_cycles.cache_off) == (6_400_000, 12_800_000)
    assert (record.estimated_ms.cache_on, record.estimated_ms.cache_off) == (100.0, 200.0)
    assert record.estimated_macs_per_cycle["cache_on"] == 0.5
    skipped = emulated("m", ["CONV_2D"], [1])
    assert skipped.estimated_ms is None and skipped.estimate_skipped.startswith("cycle estimate skipped")


def test_missing_trace_marks_skip_the_estimate_with_a_reason(tmp_path):
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"not an elf")
    run, reason = emulate_cycles.try_prepare(elf, tmp_path, "fw", 2, load_board("nano33ble"))
    if run is not None:  # pragma: no cover - arm-none-eabi-nm accepted a non-ELF
        pytest.fail("a file without trace marks got a plugin run")
    assert reason.startswith("cycle estimate skipped:") and "\n" not in reason


def test_latency_rows_prefer_measurements_and_give_the_estimate_error():
    from pipeline.records import MeasuredRecord, ModelResults
    from results_fixtures import emulated, result

    host = result("std", "standard")
    board = MeasuredRecord("loop://", "cycles", 64_000_000, "t", 1, 20_000_000, 20_000_000, 20_000_000, 0, 0, 0, 1, 1, ())
    std = ModelResults("std", host=host, emulated={"cmsis-nn": emulated("std", ["CONV_2D"], [1], [8_000_000],
                                                                        cycles=[16_000_000])},
                       measured={"cmsis-nn": board})
    (row,) = latency.latency_rows([std])
    assert row[6] == pytest.approx(250.0)           # estimated ms, cache on
    assert row[10] == pytest.approx(312.5)          # board ms
    assert row[11] == pytest.approx(-20.0)          # (estimate - board) / board


def test_interrupts_stretch_the_invoke_by_their_share_of_the_clock():
    """The Nano's [[interrupts]] (USB start of frame and the RTOS tick, 1 kHz each) take
    interrupt_load of the clock: the invoke's own cycles are divided by (1 - load), cache on and off."""
    board = load_board("nano33ble")
    assert board.interrupt_load == pytest.approx(sum(i.rate_hz * i.cycles for i in board.interrupts) / 64e6)
    assert 0.005 < board.interrupt_load < 0.03  # 0.5-3 %: the range docs/cycle_model.md derives
    counts = _random_counts(random.Random(3))
    quiet = replace(NANO_MODEL, interrupt_load=0.0)
    for cache_on in (True, False):
        own = cycles.invoke_cycles(counts, cache_on, quiet)
        assert own == cycles.core_cycles(counts, quiet) + cycles.flash_stall_cycles(counts, cache_on, quiet)
        assert cycles.invoke_cycles(counts, cache_on, NANO_MODEL) == pytest.approx(own / (1 - board.interrupt_load))
        assert cycles.invoke_cycles(counts, cache_on, NANO_MODEL) > own
    assert cycles.model_for_board(load_board("nucleo_l4r5zi")).interrupt_load == 0.0  # bare-metal mbed


def test_data_cache_hits_do_not_wait_and_old_counts_wait_on_every_read():
    counts = _random_counts(random.Random(5))
    reads = counts["x_flash_data_reads"]
    with_misses = ClassCounts({**counts.counts, "x_flash_data_misses": reads // 4})
    ws = NANO_MODEL.flash.data_wait_states
    assert cycles.flash_data_misses(counts) == reads  # counted before the data cache was simulated
    on_all, on_quarter = (cycles.flash_stall_cycles(c, True, NANO_MODEL) for c in (counts, with_misses))
    assert on_all - on_quarter == pytest.approx((reads - reads // 4) * ws)
    # caches off: every data read waits, whatever the data cache would have done
    assert cycles.flash_stall_cycles(with_misses, False, NANO_MODEL) == cycles.flash_stall_cycles(counts, False, NANO_MODEL)
