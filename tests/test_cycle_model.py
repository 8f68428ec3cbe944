"""The cycle model without QEMU: the penalty fit recovers known penalties from synthetic board
runs (and its command says what is wrong with bad input), the emulate JSON carries the estimate
fields, and the report's latency section uses measurements over estimates."""
from __future__ import annotations

import json
import random
import subprocess
import sys
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
        measured = (cycles.core_cycles(counts, truth)
                    + cycles.flash_stall_cycles(counts, cache_on, truth))
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


def _estimate() -> cycles.CycleEstimate:
    return cycles.CycleEstimate(cycles={"cache_on": 6_400_000, "cache_off": 9_600_000},
                                layer_cycles=({"cache_on": 1, "cache_off": 2},), clock_hz=64_000_000,
                                instructions=5_000_000, cache=NANO_MODEL.flash.cache,
                                counts={"alu": 5_000_000})


def test_emulate_fields_are_the_interface():
    fields = emulate_cycles.estimate_fields(_estimate(), 3_200_000, None, load_board("nano33ble"))
    assert fields["estimated_cycles"] == {"cache_on": 6_400_000, "cache_off": 9_600_000}
    assert fields["estimated_ms"] == {"cache_on": 100.0, "cache_off": 150.0}
    assert fields["clock_hz"] == 64_000_000
    assert fields["estimated_macs_per_cycle"]["cache_on"] == 0.5
    skipped = emulate_cycles.estimate_fields(None, 1, "cycle estimate skipped: no gcc", load_board("nano33ble"))
    assert skipped["estimated_cycles"] is None and skipped["estimate_skipped"].endswith("no gcc")


def test_missing_trace_marks_skip_the_estimate_with_a_reason(tmp_path):
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"not an elf")
    run, reason = emulate_cycles.try_prepare(elf, tmp_path, "fw", 2, load_board("nano33ble"))
    if run is not None:  # pragma: no cover - arm-none-eabi-nm accepted a non-ELF
        pytest.fail("a file without trace marks got a plugin run")
    assert reason.startswith("cycle estimate skipped:") and "\n" not in reason


def _model(name, conv, macs, estimated, measured=None, instructions=None):
    m = {"name": name, "conv": conv, "macs": macs, "status": "ok", "alpha": 0.25,
         "resolution": 96, "channels": 1, "blocks": 3, "classes": 10,
         "emulated": {"instructions": instructions or 2 * macs, "estimated_cycles": estimated,
                      "layers": [{"kind": "conv", "macs": macs, "estimated_cycles": estimated}]}}
    if measured:
        m["measured"] = {"cycles": measured}
    return m


def test_latency_section_prefers_measurements_and_gives_the_estimate_error():
    std = _model("std", "standard", 8_000_000, {"cache_on": 16_000_000, "cache_off": 20_000_000},
                 measured=20_000_000)
    sep = _model("sep", "separable", 1_000_000, {"cache_on": 4_000_000, "cache_off": 5_000_000})
    rows = {r["name"]: r for r in latency.model_rows([std, sep], 64_000_000)}
    assert rows["std"]["measured_ms"] == pytest.approx(312.5)
    assert rows["std"]["error_pct_cache_on"] == pytest.approx(-20.0)
    assert rows["sep"]["est_ms_cache_on"] == pytest.approx(62.5)
    (pair,) = latency.pair_rows([std, sep], 64_000_000)
    assert pair["mac_ratio"] == pytest.approx(0.125)
    assert pair["latency_ratio_cache_on"] == pytest.approx(4_000_000 / 20_000_000)  # measured std
    assert latency.kind_rows([std])["std"]["first_conv"] == pytest.approx(0.5)
    text = "\n".join(latency.latency_section([std, sep], 64_000_000,
                                             lambda h, rows: f"{len(h)} cols, {len(rows)} rows"))
    assert "milliseconds" in text and "Estimates" in text
