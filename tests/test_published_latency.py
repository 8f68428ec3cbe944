"""benchmarks/published_latency.py and its figures (pipeline/perf/published.py): the data agrees with
the board files, the --json interface has its shape whatever models are present (a missing model is
a skipped figure with its reason, never a made-up estimate), and, where the models and the TFLM
library are given ($TINYML_PUBLISHED_MODELS, $TFLM_ARDUINO_DIR), the estimates are real numbers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.board import load_board
from pipeline.perf.published import FIGURES, figures_for_board

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "published_latency.py"
KEYS = {"model", "board", "clock_hz", "source", "published_ms", "estimated_ms", "error"}


def test_every_figure_is_on_a_board_file_at_its_clock():
    for figure in FIGURES:
        board = load_board(figure.board)
        assert figure.clock_hz == board.clock_hz, figure
        assert len(figure.model_sha256) == 64 and int(figure.model_sha256, 16) >= 0
        assert figure.published_ms > 0 and figure.source and figure.covers and figure.build == "-Os"
        assert 0 < figure.macs_per_cycle < 2  # below the DSP extension's 2 MAC/cycle ceiling
    # MLPerf Tiny's four reference models on its reference board, with TFLM's own figures
    reference = {f.model for f in figures_for_board("nucleo_l4r5zi") if f.comparable}
    assert reference == {"vww_96_int8", "kws_ref_model", "pretrainedResnet_quant", "ad01_int8"}
    person = next(f for f in FIGURES if f.model == "person_detect")
    assert round(person.macs_per_cycle, 3) == 0.133  # 7,157,888 MACs in 839.383 ms at 64 MHz


def _run(*args: str, env_models: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TINYML_PUBLISHED_MODELS", "TINYML_SUITE_MODELS")}
    if env_models:
        env["TINYML_PUBLISHED_MODELS"] = env_models
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=1800)


def test_json_without_models_lists_every_figure_as_skipped_with_the_reason(tmp_path):
    other = tmp_path / "vww_96_int8.tflite"
    other.write_bytes(b"same name, other bytes")  # not the published model: skipped, not estimated
    done = _run("--json", str(tmp_path))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list) and len(rows) == len(FIGURES)
    for row, figure in zip(rows, FIGURES):
        assert KEYS <= set(row)
        assert (row["model"], row["board"], row["clock_hz"], row["published_ms"]) == (
            figure.model, figure.board, figure.clock_hz, figure.published_ms)
        assert row["estimated_ms"] is None and row["error"] is None
        assert "SHA-256" in row["skipped"] and figure.model_file in row["skipped"]


def test_error_is_estimate_minus_published_over_published():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import published_latency

    figure = FIGURES[0]
    (row,) = published_latency.rows([figure], {(figure.model_sha256, figure.board, figure.build): 700.0})
    assert row["error"] == round((700.0 - figure.published_ms) / figure.published_ms, 4)
    assert row["skipped"] is None


def test_json_with_the_published_models_gives_real_estimates():
    models = os.environ.get("TINYML_PUBLISHED_MODELS")
    if not models:
        pytest.skip("TINYML_PUBLISHED_MODELS not set: the published models are not in the repository "
                    "(benchmarks/published_latency.py says where to fetch them)")
    if not os.environ.get("TFLM_ARDUINO_DIR"):
        pytest.skip("TFLM_ARDUINO_DIR not set: the emulation needs the TFLM Arduino library (DEVELOPERS.md)")
    done = _run("--json", env_models=models)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    estimated = [r for r in rows if r["estimated_ms"] is not None]
    if not estimated:
        pytest.skip(f"no published model among {models}: {rows[0]['skipped']}")
    for row in estimated:
        assert row["estimated_ms"] > 0
        assert row["error"] == pytest.approx((row["estimated_ms"] - row["published_ms"]) / row["published_ms"],
                                             abs=1e-4)
    # one estimate per model and board, whatever engine the figure is of
    by_model = {}
    for row in estimated:
        by_model.setdefault((row["model"], row["board"]), set()).add(row["estimated_ms"])
    assert all(len(values) == 1 for values in by_model.values())


def test_report_puts_this_runs_estimate_beside_the_figure_of_the_same_model_bytes():
    import dataclasses

    from pipeline.perf.published import PERSON
    from pipeline.records import ModelResults
    from pipeline.report.published import published_section
    from results_fixtures import emulated, result

    record = dataclasses.replace(emulated("pd", ["CONV_2D"], [1], [7_157_888], cycles=[44_800_000]),
                                 tflite_sha256=PERSON)
    models = [ModelResults("pd", host=result("pd", "separable"), emulated={"cmsis-nn": record})]
    text = "\n".join(published_section(models, load_board("nano33ble")))
    lines = text.splitlines()
    assert "Published measurements on the Arduino Nano 33 BLE Sense" in text
    person_row = next(line for line in lines if line.startswith("| person_detect"))
    assert "| 700.000 |" in person_row and "| -16.605 |" in person_row  # 44.8 M cycles at 64 MHz
    speech_row = next(line for line in lines if line.startswith("| micro_speech"))
    assert "| – | – |" in speech_row  # not in this run: no estimate, no error
    assert published_section(models, load_board("qemu_mps2_an386")) == []
