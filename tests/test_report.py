"""report.md, report.json, report.csv and the plots from hand-written records (no training): the
seed's story per pair with hand-computed numbers, every absent figure with its reason, failures
with their stage, provenance, the leading kernel set, only the plots that were written, and plots
that mark what they claim to mark."""
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from pipeline.board import load_board
from pipeline.records import ModelResults, VerifyRecord, write_record
from pipeline.report import plots
from pipeline.report.render import write_report
from pipeline.store import HOST_RESULT
from results_fixtures import SEP_MACS, STD_MACS, emulated, result, write_emulated, write_out

SEP_OPS = ["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 3 + ["AVERAGE_POOL_2D", "FULLY_CONNECTED"]
SEP_MAC_LAYERS = [4_608, 4_608, 8_192, 2_304, 8_192, 4_608, 16_384, 0, 320]
STD_OPS = ["CONV_2D"] * 4 + ["AVERAGE_POOL_2D", "FULLY_CONNECTED"]
STD_MAC_LAYERS = [4_608, 73_728, 73_728, 147_456, 0, 320]


def test_pair_table_with_hand_computed_ratios(tmp_path):
    out = write_out(tmp_path, [result("tiny_sep", "separable"), result("tiny_std", "standard")])
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    # counted 49,216 / 299,840; blocks only 44,288 / 294,912; first conv 4,608 + classifier 320
    assert f"{SEP_MACS / STD_MACS:.3f}" == "0.164" and f"{44_288 / 294_912:.3f}" == "0.150"
    assert "| MACs | 299,840 | 49,216 | 0.164 | 0.150 over the blocks |" in md
    assert ("The counted network ratio 0.164 is above the formula's 0.150 for the separable blocks because "
            "the first 3×3 conv (4,608 MACs) and the classifier (320 MACs) are the same standard layers") in md
    assert "the formula exactly" in md
    # per block against the twin: (4,608 + 8,192) / 73,728 = 0.174 = 1/16 + 1/9
    assert "| block1_pw | pointwise | 1 | 8 | 16 | 8 | 8,192 | 128 | 73,728 | 0.174 | 0.174 |" in md
    assert "| block2_pw | pointwise | 1 | 16 | 32 | 4 | 8,192 | 512 | 73,728 | 0.142 | 0.142 |" in md
    assert "| arena reserved B | 5,904 | 5,904 | 1.000 |" in md  # the reserved arena is shown


def test_a_pair_whose_blocks_differ_says_so(tmp_path):
    std = result("tiny_std", "standard")
    layers = list(std.layers)
    layers[1] = type(layers[1])(**{**vars(layers[1]), "macs": layers[1].macs * 2})  # not the separable's twin
    out = write_out(tmp_path, [result("tiny_sep", "separable"), result("tiny_std", "standard", layers=layers)])
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "not the formula's 0.150: the pair's blocks differ in shape" in md
    assert "| block1_pw | pointwise | 1 | 8 | 16 | 8 | 8,192 | 128 | 147,456 | 0.087 | 0.174 |" in md


def test_emulated_pair_gets_time_ratios_instruction_ratios_and_leading_kernels(tmp_path):
    out = write_out(tmp_path, [result("tiny_sep", "separable"), result("tiny_std", "standard")],
                    kernels=("cmsis-nn", "tinyml"))
    sep_ticks = [60_000, 40_000, 20_000, 20_000, 20_000, 40_000, 40_000, 500, 1_000]
    std_ticks = [60_000, 300_000, 300_000, 600_000, 500, 1_000]
    for kernels, scale in (("cmsis-nn", 1), ("tinyml", 2)):  # tinyml: half the instructions and cycles
        write_emulated(out, emulated("tiny_sep", SEP_OPS, [t // scale for t in sep_ticks], SEP_MAC_LAYERS,
                                     kernels, cycles=[t // scale for t in sep_ticks]))
        write_emulated(out, emulated("tiny_std", STD_OPS, [t // scale for t in std_ticks], STD_MAC_LAYERS,
                                     kernels, cycles=[t // scale for t in std_ticks]))
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "those of the `tinyml` kernels, the faster bit-exact set" in md
    # tinyml: 120,750 vs 630,750 cycles at 64 MHz = 1.89 vs 9.86 ms, ratio 0.191
    assert "| ms on the nRF52840 @ 64 MHz (tinyml, estimated) | 9.9 | 1.9 | 0.191 |  |" in md
    assert "block / twin (instructions, tinyml)" in md
    # block1: (20,000 + 10,000) / 150,000 = 0.200 against 0.174 counted
    assert "| block1_pw | pointwise | 1 | 8 | 16 | 8 | 8,192 | 128 | 73,728 | 0.174 | 0.174 | 0.200 |" in md
    data = json.loads((out / "report.json").read_text())
    assert data["leading_kernels"] == "tinyml"
    row = next(csv.DictReader(io.StringIO((out / "report.csv").read_text())))
    assert row["name"] == "tiny_sep" and row["est_ms_tinyml"] and row["arena_reserved_bytes"] == "5904"
    assert {p.name for p in out.glob("*.png")} >= {"instructions_vs_macs.png", "ms_vs_macs.png",
                                                   "layer_time_tiny_sep.png", "layers_tiny_sep.png"}


def test_a_kernel_set_that_is_not_bit_exact_does_not_lead(tmp_path):
    out = write_out(tmp_path, [result("tiny_sep", "separable")], kernels=("cmsis-nn", "tinyml"))
    wrong = VerifyRecord(10, "test split", 0.5, 3, 0.8, 0.9)
    exact = VerifyRecord(10, "test split", 1.0, 0, 0.9, 0.9)
    write_emulated(out, emulated("tiny_sep", ["CONV_2D"], [100], [10], "tinyml", cycles=[100], verify=wrong))
    write_emulated(out, emulated("tiny_sep", ["CONV_2D"], [900], [10], "cmsis-nn", cycles=[900], verify=exact))
    write_report(out, load_board())
    assert json.loads((out / "report.json").read_text())["leading_kernels"] == "cmsis-nn"


def test_absent_figures_say_why(tmp_path):
    out = write_out(tmp_path, [result("tiny_sep", "separable"), result("tiny_std", "standard", fits=False)],
                    problems=[("emulate", "not run: no TFLM library given: pass --tflm-dir")])
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "No model ran the `emulate` stage, so no model has time or firmware accuracy: not run: no TFLM" in md
    assert "`tiny_std` is not deployable on the Arduino Nano 33 BLE Sense" in md
    assert "| fits the Arduino Nano 33 BLE Sense | **no** | yes |" in md


def test_failures_provenance_and_only_written_plots(tmp_path):
    out = write_out(tmp_path, [], failed=[("broken", "tflm", "broken: TFLM aborted (SIGABRT)")],
                    epochs_override=0, problems=[("measure", "no board found", "other"),
                                                 ("emulate", "QEMU timed out", "third", "tinyml")])
    written = write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "- `broken` failed at stage `tflm`: broken: TFLM aborted (SIGABRT)" in md
    assert "- `other` failed at stage `measure`: no board found" in md
    assert "- Data: my_photos (contents digest `abc123`), 2 classes: cat, dog" in md
    assert "- Samples: 40 training (20 per class), 10 test (5 per class)" in md
    assert "- Epochs: 0 (`--epochs 0`: no training" in md
    assert "tensorflow 2.21.0" in md
    assert "Plots" not in md and not list(out.glob("*.png")) and len(written) == 3
    assert json.loads((out / "report.json").read_text())["plots"] == []


def test_an_older_record_is_refused_in_one_line(tmp_path):
    from pipeline.errors import PipelineError

    out = write_out(tmp_path, [result("tiny_sep", "separable")])
    (out / "models" / "tiny_sep" / HOST_RESULT).write_text(json.dumps({"name": "tiny_sep", "status": "ok"}))
    with pytest.raises(PipelineError) as info:
        write_report(out, load_board())
    assert "older tinyml file" in str(info.value) and "\n" not in str(info.value)


def red_pixels(path) -> int:
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int(((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)).sum())


def colour_pixels(path, hex_colour: str) -> int:
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - target).sum(axis=-1) < 6).sum())


def built(host) -> ModelResults:
    return ModelResults(host.name, host=host)


def test_macs_vs_params_marks_models_that_do_not_fit(tmp_path):
    board = load_board()
    fitting = [built(result("tiny_sep", "separable")), built(result("tiny_std", "standard"))]
    assert red_pixels(plots.macs_vs_params(fitting, board, tmp_path / "all_fit.png")) == 0
    too_big = [fitting[0], built(result("tiny_std", "standard", fits=False))]
    assert red_pixels(plots.macs_vs_params(too_big, board, tmp_path / "one_not.png")) > 200


def test_layers_plot_colours_the_first_conv_as_a_conv_and_bars_side_by_side(tmp_path):
    path = plots.pair_layers(built(result("tiny_std", "standard")), built(result("tiny_sep", "separable")),
                             tmp_path / "l.png")
    for kind in ("first conv", "standard", "depthwise", "pointwise"):
        assert colour_pixels(path, plots.COLOURS[kind]) > 300, kind


def test_records_round_trip_and_derived_values_are_not_stored_twice(tmp_path):
    from pipeline.records import EmulatedRecord, HostResult, load_record

    host, record = result("tiny_sep", "separable"), emulated("tiny_sep", SEP_OPS, [1] * 9, SEP_MAC_LAYERS,
                                                             cycles=[2] * 9)
    write_record(tmp_path / "h.json", host)
    write_record(tmp_path / "e.json", record)
    assert load_record(tmp_path / "h.json", HostResult) == host
    assert load_record(tmp_path / "e.json", EmulatedRecord) == record
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["schema"] == 3 and data["record"] == "EmulatedRecord"
    assert data["estimated_cycles"] == {"cache_on": 18, "cache_off": 36} and "estimated_ms" in data
