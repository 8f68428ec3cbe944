"""End to end through the real CLI on a small pair: trains on the digits, int8 conversion, analysis
matching Keras layer by layer, TFLM host check in a child process, fit verdict, report files."""
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

TINY_ZOO = '''
[defaults]
channels = 1
epochs = 6
[[model]]
name = "tiny_sep"
conv = "separable"
alpha = 0.25
resolution = 16
blocks = 3
[[model]]
name = "tiny_std"
conv = "standard"
alpha = 0.25
resolution = 16
blocks = 3
'''


def tinyml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=900)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    (root / "zoo.toml").write_text(TINY_ZOO)
    proc = tinyml("run", "--zoo", root / "zoo.toml", "--out", root / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (root / "run.stderr").write_text(proc.stderr)
    return root


def test_progress_bar_names_the_model_in_progress(run_dir):
    bar = (run_dir / "run.stderr").read_text()
    # tiny_sep is built while 0 of 2 are done, tiny_std while 1 is
    assert re.search(r"0/2 \[[^\]]*, tiny_sep\]", bar) and re.search(r"1/2 \[[^\]]*, tiny_std\]", bar)
    assert not re.search(r"0/2 \[[^\]]*, tiny_std\]", bar)


def report(run_dir):
    return json.loads((run_dir / "out" / "report.json").read_text())


def hosts(run_dir) -> dict:
    return {m["name"]: m["host"] for m in report(run_dir)["models"]}


def test_report_interface(run_dir):
    models = hosts(run_dir)
    assert set(models) == {"tiny_sep", "tiny_std"}
    for m in models.values():
        assert m["record"] == "HostResult" and m["schema"] == 3
        name = m["spec"]["name"]
        assert (run_dir / "out" / "models" / name / f"{name}.tflite").stat().st_size == m["flash_bytes"]
        assert m["fits"] == [{"board": "nano33ble", "fits": True, "reasons": []}]
        # brief training learns: far above the 10 % of chance, and int8 keeps it
        assert m["accuracy_float"] > 0.6 and m["accuracy_int8"] > 0.6
        assert m["arena"]["predicted_bytes"] > 0 and m["arena"]["host_64bit_bytes"] > 0
        assert m["arena"]["reserved_bytes"] > m["arena"]["predicted_bytes"]
    assert models["tiny_std"]["seed"]["network_ratio"] is None      # a standard net has no all-standard twin
    assert models["tiny_sep"]["seed"]["network_ratio"] == pytest.approx(49_216 / 299_840)
    for name in ("report.md", "report.csv", "macs_vs_params.png", "layers_tiny_sep.png"):
        assert (run_dir / "out" / name).stat().st_size > 0
    rows = list(csv.DictReader((run_dir / "out" / "report.csv").open()))
    assert {r["name"] for r in rows} == {"tiny_sep", "tiny_std"}
    assert {r["arena_reserved_bytes"] for r in rows} and all(r["arena_reserved_bytes"] for r in rows)


def emulation_possible() -> bool:
    """What `tinyml run` needs to emulate without a download: the tools and a named library."""
    from pipeline.emulator import toolchain
    from pipeline.errors import PipelineError

    try:
        toolchain.require_tools()
        toolchain.resolve_tflm_dir(None)
    except PipelineError:
        return False
    return True


def test_emulation_runs_by_default_or_one_line_says_why_not(run_dir):
    said = [line for line in (run_dir / "run.stderr").read_text().splitlines()
            if line.startswith("tinyml run: emulate not run: ")]
    emulated = [(run_dir / "out" / "models" / name / file).is_file()
                for name in ("tiny_sep", "tiny_std") for file in ("emulated.json", "emulated_tinyml.json")]
    md = (run_dir / "out" / "report.md").read_text()
    if emulation_possible():  # both models with both kernel sets, in the report, nothing said
        assert all(emulated) and not said
        assert all(m["emulated"]["tinyml"]["instructions"] > 0 for m in report(run_dir)["models"])
    else:  # this machine has no library (CI): one line says why, and so does the report
        assert len(said) == 1 and not any(emulated)
        assert "No model ran the `emulate` stage" in md and said[0].split("not run: ", 1)[1] in md


# Hand-computed from the layer shapes (16x16x1 input, alpha 0.25: 8, 16, 32, 32 channels; maps 8, 8, 4, 4):
# standard D_K^2*M*N*D_F^2, depthwise D_K^2*M*D_F^2, pointwise M*N*D_F^2, classifier M*N.
HAND_MACS = {
    "tiny_sep": {"conv1": 9 * 1 * 8 * 8 * 8, "block1_dw": 9 * 8 * 8 * 8, "block1_pw": 8 * 16 * 8 * 8,
                 "block2_dw": 9 * 16 * 4 * 4, "block2_pw": 16 * 32 * 4 * 4, "block3_dw": 9 * 32 * 4 * 4,
                 "block3_pw": 32 * 32 * 4 * 4, "classifier": 32 * 10},
    "tiny_std": {"conv1": 9 * 1 * 8 * 8 * 8, "block1_conv": 9 * 8 * 16 * 8 * 8,
                 "block2_conv": 9 * 16 * 32 * 4 * 4, "block3_conv": 9 * 32 * 32 * 4 * 4, "classifier": 32 * 10},
}


def tflite_own_counts(path):
    """MACs and weights read off the flatbuffer's tensor shapes, independently of the pipeline's
    analysis: output elements x kernel taps x input channels (depthwise: x 1)."""
    import numpy as np
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    graph = model.subgraphs[0]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    macs = weights = 0
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out = int(np.prod(graph.tensors[op.outputs[0]].shape))
        kernel = list(graph.tensors[op.inputs[1]].shape)
        weights += int(np.prod(kernel))
        if name == "CONV_2D":        # kernel [N, kh, kw, M]
            macs += out * kernel[1] * kernel[2] * kernel[3]
        elif name == "DEPTHWISE_CONV_2D":  # kernel [1, kh, kw, M * multiplier]
            macs += out * kernel[1] * kernel[2]
        else:                        # kernel [N, M]
            macs += out * kernel[1]
    return macs, weights


def test_counts_match_hand_computed_layers_and_the_tflite(run_dir):
    models = hosts(run_dir)
    for name, hand in HAND_MACS.items():
        m = models[name]
        assert {r["name"]: r["macs"] for r in m["layers"]} == hand
        assert m["macs"] == sum(hand.values())
        assert (m["macs"], m["params"]) == tflite_own_counts(run_dir / "out" / m["tflite"])
    assert models["tiny_sep"]["macs"] == 49_216 and models["tiny_std"]["macs"] == 299_840
    assert models["tiny_sep"]["spec"]["classes"] == 10  # the zoo leaves classes open: the digits have 10


def test_report_md_tells_the_pair_story(run_dir):
    md = (run_dir / "out" / "report.md").read_text()
    # counted 49,216 / 299,840 = 0.164; blocks (44,288 / 294,912) = 0.150 by the two files and by
    # the formula; first conv 4,608 + classifier 320 = 10.0 % of the separable network
    assert "| MACs | 299,840 | 49,216 | 0.164 | 0.150 over the blocks |" in md
    assert "first 3×3 conv (4,608 MACs) and the classifier (320 MACs) are the same standard layers" in md
    assert "10.0% of the separable network's MACs" in md
    assert "- Data: scikit-learn digits (8x8)" in md
    assert "- Samples: 1,438 training (139-146 per class), 359 test (35-37 per class)" in md
    assert "- Epochs: 6 (each model's spec)" in md
    assert "## Plots" in md and "(macs_vs_params.png)" in md and "(layers_tiny_sep.png)" in md
    assert "failed at stage" not in md


def test_rerun_reuses_unchanged_models(run_dir):
    tflite = run_dir / "out" / "models" / "tiny_sep" / "tiny_sep.tflite"
    before = tflite.stat().st_mtime_ns
    proc = tinyml("run", "--zoo", run_dir / "zoo.toml", "--out", run_dir / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert tflite.stat().st_mtime_ns == before


def test_analyze_matches_run(run_dir):
    m = hosts(run_dir)["tiny_std"]
    proc = tinyml("analyze", run_dir / "out" / m["tflite"], "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["total_macs"] == m["macs"] and result["params"] == m["params"]
    assert result["arena_predicted_bytes"] == m["arena"]["predicted_bytes"]
    assert [{"board": result["board"], "fits": result["fits"], "reasons": result["fit_reasons"]}] == m["fits"]
    assert result["arena_reserved_bytes"] == m["arena"]["reserved_bytes"]  # one verdict, margin included
    assert all({"name", "kind", "macs", "params"} <= set(layer) for layer in result["layers"])
    text = tinyml("analyze", run_dir / "out" / m["tflite"], "--no-arena")
    assert text.returncode == 0 and "CONV_2D" in text.stdout


def test_bad_zoo_fails_without_writing(tmp_path):
    (tmp_path / "zoo.toml").write_text(TINY_ZOO.replace("alpha = 0.25", "alpha = 0", 1))
    proc = tinyml("run", "--zoo", tmp_path / "zoo.toml", "--out", tmp_path / "out")
    assert proc.returncode != 0
    assert "width multiplier must be > 0" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_analyze_rejects_corrupt_and_float_models(tmp_path, run_dir):
    corrupt = tmp_path / "corrupt.tflite"
    tflite = next((run_dir / "out" / "models" / "tiny_sep").glob("*.tflite")).read_bytes()
    corrupt.write_bytes(tflite[: len(tflite) // 3])
    proc = tinyml("analyze", corrupt, "--no-arena")
    assert proc.returncode != 0 and "corrupt" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    text = tmp_path / "text.tflite"
    text.write_text("hello")
    assert "not a TFLite flatbuffer" in tinyml("analyze", text).stderr

    import tensorflow as tf
    inputs = tf.keras.Input((4,), batch_size=1)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs))
    float_path = tmp_path / "float.tflite"
    float_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    proc = tinyml("analyze", float_path)
    assert proc.returncode != 0 and "computes in float32, not int8" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.count(str(float_path)) == 1


def test_analyze_refuses_ops_tflm_cannot_run(tmp_path):
    import numpy as np
    import tensorflow as tf

    from pipeline.model.quantize import convert_keras_int8

    inputs = tf.keras.Input((4, 4, 1), batch_size=1)
    x = tf.keras.layers.Conv2D(2, 3, padding="same")(inputs)
    x = tf.keras.layers.Lambda(lambda t: tf.tile(t, [1, 2, 1, 1]))(x)  # TILE: not in TFLM's resolver
    model = tf.keras.Model(inputs, x)
    rng = np.random.default_rng(0)
    path = tmp_path / "tile.tflite"
    path.write_bytes(convert_keras_int8(
        model, lambda: ([rng.random((1, 4, 4, 1), np.float32)] for _ in range(4))))
    proc = tinyml("analyze", path)
    assert proc.returncode != 0 and "cannot run op(s) TILE" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_run_with_absent_device_fails_before_training(tmp_path):
    (tmp_path / "zoo.toml").write_text(TINY_ZOO)
    start = time.monotonic()
    proc = tinyml("run", "--zoo", tmp_path / "zoo.toml", "--out", tmp_path / "out", "--device", "auto")
    assert proc.returncode == 2 and time.monotonic() - start < 60
    assert "no Arduino Nano 33 BLE Sense found" in proc.stderr and "without --device" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def unwritable_folder(tmp_path):
    """A folder this process cannot write in: read-only by mode, or /proc for root (whom modes
    do not stop)."""
    if os.geteuid() == 0:
        return Path("/proc")
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize("case", ["file", "under_a_file", "read_only", "unknown_board", "bad_epochs",
                                  "bad_data"])
def test_bad_run_inputs_fail_in_one_line_before_anything_is_written(tmp_path, case):
    (tmp_path / "zoo.toml").write_text(TINY_ZOO)
    (tmp_path / "a_file").write_text("x")
    out, extra, expected = tmp_path / "out", [], None
    if case == "file":
        out, expected = tmp_path / "a_file", "is a file, not a folder"
    elif case == "under_a_file":
        out, expected = tmp_path / "a_file" / "out", "is a file, not a folder"
    elif case == "read_only":
        out, expected = unwritable_folder(tmp_path) / "out", "pass a folder you can write to"
    elif case == "unknown_board":
        extra, expected = ["--board", "nano99"], "unknown board 'nano99'"
    elif case == "bad_epochs":
        extra, expected = ["--epochs", "-1"], "use 0 or more"
    else:
        extra, expected = ["--data", tmp_path / "missing"], "not found"
    proc = tinyml("run", "--zoo", tmp_path / "zoo.toml", "--out", out, *extra)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "zoo.toml"]


def test_epochs_zero_builds_untrained_models_that_tflm_runs(tmp_path, run_dir):
    proc = tinyml("run", "--zoo", run_dir / "zoo.toml", "--out", tmp_path / "out", "--epochs", "0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    models = {m["name"]: m for m in json.loads((tmp_path / "out" / "report.json").read_text())["models"]}
    for m in models.values():  # TFLM's own interpreter ran each (it aborts on a vanishing softmax scale)
        assert m["status"] == "ok" and m["host"]["spec"]["epochs"] == 0
        assert m["host"]["arena"]["host_64bit_bytes"] > 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "- Epochs: 0 (`--epochs 0`: no training" in md


def test_two_class_folder_of_mixed_images(tmp_path):
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(0)
    for label, name in enumerate(("dark", "bright")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(12):
            size = (20 + 3 * i, 14 + i)
            pixels = rng.integers(0, 80, size[::-1]) + 150 * label
            image = Image.fromarray(pixels.astype(np.uint8))
            (image.convert("RGB") if i % 2 else image).save(tmp_path / "data" / name / f"{i}.png")
    (tmp_path / "zoo.toml").write_text(TINY_ZOO)
    proc = tinyml("run", "--zoo", tmp_path / "zoo.toml", "--out", tmp_path / "out", "--data",
                  tmp_path / "data", "--models", "tiny_sep", "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test split has fewer than 5 samples" in proc.stderr  # 12 per class: 2 test images each
    (model,) = json.loads((tmp_path / "out" / "report.json").read_text())["models"]
    host = model["host"]
    assert host["spec"]["classes"] == 2 and host["test_samples"] == 4 and host["spec"]["epochs"] == 2
    md = (tmp_path / "out" / "report.md").read_text()
    assert "2 classes: bright, dark" in md and "colour modes L, RGB" in md and "**Warning**" in md


def test_flash_without_board_fails_before_building(run_dir):
    tflite = run_dir / "out" / "models" / "tiny_sep" / "tiny_sep.tflite"
    proc = tinyml("flash", tflite)
    assert proc.returncode != 0 and "no Arduino Nano 33 BLE Sense found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_planner_replay_reproduces_the_host_tflm_head(run_dir):
    """Without scratch buffers (the host's reference kernels request none) the replayed greedy
    planner must land on exactly the head TFLM's recording allocator reports."""
    import numpy as np

    from pipeline.analysis.arena import greedy_plan_bytes, planner_buffers, predict_arena
    from pipeline.analysis.tflite_model import read_model
    from pipeline.analysis.tflm_host import run_tflm_host

    for name, m in hosts(run_dir).items():
        tflite = (run_dir / "out" / m["tflite"]).read_bytes()
        host = run_tflm_host(tflite, np.zeros((0,), np.int8), name).arena
        assert greedy_plan_bytes(planner_buffers(read_model(tflite, name), [])) == host.head
        prediction = predict_arena(tflite, name)
        # 32-bit structs are smaller than the host's 64-bit ones; CMSIS-NN's scratch adds to the head
        assert prediction.head_bytes >= host.head and prediction.tail_bytes < host.tail
