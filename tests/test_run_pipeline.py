"""End to end through the real CLI on a small pair: trains on the digits, int8 conversion, analysis
matching Keras layer by layer, TFLM host check in a child process, fit verdict, report files."""
import csv
import json
import subprocess
import sys

import pytest

TINY_ZOO = '''
[defaults]
channels = 1
classes = 10
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


def report(run_dir):
    return json.loads((run_dir / "out" / "report.json").read_text())


def test_report_interface(run_dir):
    models = {m["name"]: m for m in report(run_dir)["models"]}
    assert set(models) == {"tiny_sep", "tiny_std"}
    for m in models.values():
        for key in ("name", "conv", "macs", "params", "flash_bytes", "arena_bytes_host",
                    "accuracy_float", "accuracy_int8", "fits", "tflite"):
            assert key in m
        assert (run_dir / "out" / "models" / m["name"] / f"{m['name']}.tflite").stat().st_size == m["flash_bytes"]
        assert m["fits"] is True
        # brief training learns: far above the 10 % of chance, and int8 keeps it
        assert m["accuracy_float"] > 0.6 and m["accuracy_int8"] > 0.6
        # TFLM's host interpreter agrees with TFLite's reference interpreter
        assert m["tflm_agreement"] > 0.95
        assert m["arena_bytes_predicted"] > 0
    for name in ("report.md", "report.csv", "macs_vs_params.png", "layers_tiny_sep.png"):
        assert (run_dir / "out" / name).stat().st_size > 0
    rows = list(csv.DictReader((run_dir / "out" / "report.csv").open()))
    assert {r["name"] for r in rows} == {"tiny_sep", "tiny_std"}


def test_emulation_runs_by_default_or_one_line_says_why_not(run_dir):
    skipped = [line for line in (run_dir / "run.stderr").read_text().splitlines()
               if line.startswith("emulation skipped: ")]
    emulated = [(run_dir / "out" / "models" / name / "emulated.json").is_file()
                for name in ("tiny_sep", "tiny_std")]
    if skipped:  # no toolchain, QEMU or TFLM library here (CI without network): said once
        assert len(skipped) == 1 and not any(emulated)
    else:  # everything there: both models (they fit) emulated, in the report
        assert all(emulated)
        assert all(m["emulated"]["instructions"] > 0 for m in report(run_dir)["models"])


def test_seed_ratio_holds_per_block_and_network(run_dir):
    models = {m["name"]: m for m in report(run_dir)["models"]}
    sep, std = models["tiny_sep"], models["tiny_std"]
    blocks = [r for r in sep["layers"] if "block_ratio_formula" in r]
    assert len(blocks) == 3
    for row in blocks:
        assert row["block_ratio_counted"] == pytest.approx(row["block_ratio_formula"])
    # the standard twin's counted MACs equal the separable model's standard equivalent
    assert std["macs"] == sep["standard_equivalent_macs"]
    assert sep["macs"] / std["macs"] == pytest.approx(sep["network_ratio"])
    assert sep["macs"] < std["macs"] and sep["params"] < std["params"]


def test_rerun_reuses_unchanged_models(run_dir):
    tflite = run_dir / "out" / "models" / "tiny_sep" / "tiny_sep.tflite"
    before = tflite.stat().st_mtime_ns
    proc = tinyml("run", "--zoo", run_dir / "zoo.toml", "--out", run_dir / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert tflite.stat().st_mtime_ns == before


def test_analyze_matches_run(run_dir):
    m = {m["name"]: m for m in report(run_dir)["models"]}["tiny_std"]
    proc = tinyml("analyze", m["tflite"], "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["total_macs"] == m["macs"] and result["params"] == m["params"]
    assert result["arena_bytes_host"] == m["arena_bytes_host"]
    assert all({"name", "kind", "macs", "params"} <= set(layer) for layer in result["layers"])
    text = tinyml("analyze", m["tflite"], "--no-arena")
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
    assert proc.returncode != 0 and "not an int8 model" in proc.stderr


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


def test_run_with_absent_device_fails_fast_and_keeps_the_host_report(run_dir):
    proc = tinyml("run", "--zoo", run_dir / "zoo.toml", "--out", run_dir / "out", "--device", "auto")
    assert proc.returncode != 0
    assert "no Arduino Nano 33 BLE Sense found" in proc.stderr
    assert json.loads((run_dir / "out" / "report.json").read_text())["models"]


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
    from pipeline.analysis.tflite_model import analyze_tflite_bytes
    from pipeline.analysis.tflm_host import run_tflm_host

    for m in report(run_dir)["models"]:
        tflite = open(m["tflite"], "rb").read()
        operators = analyze_tflite_bytes(tflite, m["name"]).operators
        host = run_tflm_host(tflite, np.zeros((0,), np.int8), m["name"]).arena
        assert greedy_plan_bytes(planner_buffers(tflite, [0] * len(operators))) == host.head
        prediction = predict_arena(tflite, m["name"])
        assert prediction.head_bytes >= host.head and prediction.tail_bytes_32 < host.tail
