"""report.md, report.json and the plots from hand-written results (no training): the seed's story
per pair with hand-computed numbers, failures with their stage, provenance, only the plots that
were written, and plots that mark what they claim to mark."""
import json

import numpy as np
from PIL import Image

from pipeline.board import load_board
from pipeline.report import plots
from pipeline.report.render import write_report
from pipeline.store import FAILED_RESULT, HOST_RESULT, RUN_MANIFEST, EMULATED_RESULT
from results_fixtures import SEP_MACS, STD_MACS, result

DATA = {"source": "my_photos", "digest": "abc123", "class_names": ["cat", "dog"], "train_samples": 40,
        "test_samples": 10, "train_per_class": [20, 20], "test_per_class": [5, 5],
        "split": "stratified 80%/20%, seed 0", "notes": ["2 image sizes (from 8x8 to 30x40), each resized"],
        "warnings": []}


def write_out(tmp_path, models, failed=(), epochs_override=None, measure_failures=None, emulate_failures=None):
    out = tmp_path / "out"
    entries = []
    for m in models:
        folder = out / "models" / m["name"]
        folder.mkdir(parents=True)
        (folder / HOST_RESULT).write_text(json.dumps({**m, "cache_key": "k"}))
        entries.append({k: m[k] for k in ("name", "conv", "alpha", "resolution", "channels", "blocks",
                                          "classes", "epochs")} | {"cache_key": "k"})
    for name, stage, error in failed:
        folder = out / "models" / name
        folder.mkdir(parents=True, exist_ok=True)
        record = {"name": name, "conv": "standard", "alpha": 0.5, "resolution": 32, "channels": 1,
                  "blocks": 2, "classes": 2, "epochs": 3, "status": "failed", "stage": stage, "error": error,
                  "cache_key": "k"}
        (folder / FAILED_RESULT).write_text(json.dumps(record))
        entries.append({k: v for k, v in record.items() if k not in ("status", "stage", "error")})
    manifest = {"models": entries, "board": "nano33ble", "epochs_override": epochs_override, "data": DATA,
                "calibration_samples": 200, "versions": {"tinyml": "0.1.0", "tensorflow": "2.21.0"}}
    manifest["measure_failures"] = measure_failures or {}
    manifest["emulate_failures"] = emulate_failures or {}
    (out / RUN_MANIFEST).write_text(json.dumps(manifest))
    return out


def test_pair_story_with_hand_computed_ratios(tmp_path):
    out = write_out(tmp_path, [result("tiny_sep", "separable"), result("tiny_std", "standard")])
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    # counted 49,216 / 299,840; blocks only 44,288 / 294,912; first conv 4,608 + classifier 320
    assert f"{SEP_MACS / STD_MACS:.3f}" == "0.164" and f"{44_288 / 294_912:.3f}" == "0.150"
    assert "| tiny_std / tiny_sep | 299,840 | 49,216 | 0.164 | 0.150 | 0.150 | 10.0% |" in md
    assert ("the counted network ratio 0.164 is above the formula's 0.150 for its 3 separable blocks "
            "because the first 3×3 conv (4,608 MACs) and the classifier (320 MACs) are not separable") in md
    assert "the formula exactly" in md
    # per block against the twin: (4,608 + 8,192) / 73,728 = 0.174 = 1/16 + 1/9
    assert "| block1_pw | pointwise | 1 | 8 | 16 | 8 | 8,192 | 128 | 73,728 | 0.174 | 0.174 |" in md
    assert "| block2_pw | pointwise | 1 | 16 | 32 | 4 | 8,192 | 512 | 73,728 | 0.142 | 0.142 |" in md


def test_a_pair_whose_blocks_differ_says_so(tmp_path):
    std = result("tiny_std", "standard")
    std["layers"] = [dict(r) for r in std["layers"]]
    std["layers"][1]["macs"] *= 2                                       # not the separable's twin block
    std["macs"] += std["layers"][1]["macs"] // 2
    out = write_out(tmp_path, [result("tiny_sep", "separable"), std])
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "not the formula's 0.150: the pair's blocks differ in shape" in md
    assert "| block1_pw | pointwise | 1 | 8 | 16 | 8 | 8,192 | 128 | 147,456 | 0.087 | 0.174 |" in md


def test_emulated_blocks_get_their_instruction_ratio(tmp_path):
    out = write_out(tmp_path, [result("tiny_sep", "separable"), result("tiny_std", "standard")])
    sep_ops = ["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 3 + ["AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    sep_ticks = [60_000, 40_000, 20_000, 20_000, 20_000, 40_000, 40_000, 500, 1_000]
    std_ops = ["CONV_2D"] * 4 + ["AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    std_ticks = [60_000, 300_000, 300_000, 600_000, 500, 1_000]
    for name, ops, ticks in (("tiny_sep", sep_ops, sep_ticks), ("tiny_std", std_ops, std_ticks)):
        (out / "models" / name / EMULATED_RESULT).write_text(json.dumps({
            "instructions": sum(ticks), "arena_used_bytes": 4800,
            "layers": [{"op": o, "instructions": t} for o, t in zip(ops, ticks)]}))
    write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "block / twin (instructions)" in md
    # block1: (40,000 + 20,000) / 300,000 = 0.200 against 0.174 counted
    assert "| block1_pw | pointwise | 1 | 8 | 16 | 8 | 8,192 | 128 | 73,728 | 0.174 | 0.174 | 0.200 |" in md


def test_failures_provenance_and_only_written_plots(tmp_path):
    out = write_out(tmp_path, [], failed=[("broken", "tflm", "broken: TFLM aborted (SIGABRT)")],
                    epochs_override=0, measure_failures={"other": "no board found"},
                    emulate_failures={"third": "QEMU timed out"})
    written = write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "- `broken` failed at stage `tflm`: broken: TFLM aborted (SIGABRT)" in md
    assert "- `other` failed at stage `measure`: no board found" in md
    assert "- `third` failed at stage `emulate`: QEMU timed out" in md
    assert "- Data: my_photos (contents digest `abc123`), 2 classes: cat, dog" in md
    assert "- Samples: 40 training (20 per class), 10 test (5 per class)" in md
    assert "- Epochs: 0 (`--epochs 0`: no training" in md
    assert "tensorflow 2.21.0" in md
    assert "Plots" not in md and not list(out.glob("*.png")) and len(written) == 3
    assert json.loads((out / "report.json").read_text())["plots"] == []


def red_pixels(path) -> int:
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int(((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)).sum())


def colour_pixels(path, hex_colour: str) -> int:
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - target).sum(axis=-1) < 6).sum())


def test_macs_vs_params_marks_models_that_do_not_fit(tmp_path):
    fitting = [result("tiny_sep", "separable"), result("tiny_std", "standard")]
    assert red_pixels(plots.macs_vs_params(fitting, "Nano", tmp_path / "all_fit.png")) == 0
    too_big = [fitting[0], result("tiny_std", "standard", fits=False)]
    assert red_pixels(plots.macs_vs_params(too_big, "Nano", tmp_path / "one_not.png")) > 200


def test_layers_plot_colours_the_first_conv_as_a_conv_and_bars_side_by_side(tmp_path):
    path = plots.pair_layers(result("tiny_std", "standard"), result("tiny_sep", "separable"), tmp_path / "l.png")
    for kind in ("first conv", "standard", "depthwise", "pointwise"):
        assert colour_pixels(path, plots.COLOURS[kind]) > 300, kind
