"""Misuse and faults (issue 19), each on the real CLI where that is cheap: one line on stderr
saying what is wrong and what to do, a non-zero exit, and nothing half-written."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis.tflite_model import TensorInfo, TfliteAnalysis, check_int8_graph
from pipeline.cli import main
from pipeline.device.record import Expected, check_plausible
from pipeline.errors import ModelError, PipelineError
from pipeline.files import write_atomic
from pipeline.serial_link.protocol import SequenceError, encode_record, parse_text
from pipeline.store import LOCK_FILE, output_lock

REPO = Path(__file__).resolve().parents[1]


def one_line_error(capsys, argv, code=2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("tinyml 0.")


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as done:
        main(["run", "--no-such-flag"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unrecognized arguments: --no-such-flag" in err


def test_an_empty_out_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["run", "--out", "", "--epochs", "0"])
    assert "empty folder name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "x,y,message",
    [
        (np.full((40, 8, 8), np.nan), np.arange(40) % 2, "2,560 NaN or infinite values"),
        (np.where(np.eye(8)[None].repeat(40, 0) > 0, np.inf, 0.5), np.arange(40) % 2, "NaN or infinite"),
        (np.random.default_rng(0).random((40, 8, 8)), (np.arange(40) % 2) + 0.5, "not whole numbers (e.g. 0.5)"),
        (np.array([["a"] * 8] * 8)[None].repeat(40, 0), np.arange(40) % 2, "save the images as integers"),
    ],
)
def test_bad_npz_data_is_refused_in_one_line(tmp_path, capsys, x, y, message):
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y)
    err = one_line_error(capsys, ["run", "--data", str(data), "--out", str(tmp_path / "out"), "--epochs", "0"])
    assert message in err
    assert not (tmp_path / "out").exists()


def test_whole_float_labels_are_classes(tmp_path):
    from pipeline.model.dataset import load_npz

    path = tmp_path / "d.npz"
    np.savez(path, x=np.random.default_rng(0).random((40, 8, 8)), y=(np.arange(40) % 2).astype(float))
    assert load_npz(path).class_names == ("0", "1")


def test_a_garbage_npz_names_no_numpy_internals(tmp_path, capsys):
    data = tmp_path / "d.npz"
    data.write_bytes(b"PK\x03\x04" + os.urandom(200))
    err = one_line_error(capsys, ["run", "--data", str(data), "--out", str(tmp_path / "out")])
    assert "not a readable .npz (BadZipFile)" in err and "allow_pickle" not in err


def test_an_empty_class_folder_is_named(tmp_path, capsys):
    from PIL import Image

    for name in ("cat", "dog"):
        (tmp_path / "data" / name).mkdir(parents=True)
    (tmp_path / "data" / "bird").mkdir()
    for i in range(20):
        for name in ("cat", "dog"):
            Image.new("L", (8, 8), i).save(tmp_path / "data" / name / f"{i}.png")
    err = one_line_error(capsys, ["run", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    assert "class folder(s) bird hold no images" in err


def test_absurd_zoo_values_are_bounded_with_the_limits(tmp_path, capsys):
    zoo = tmp_path / "zoo.toml"
    zoo.write_text(
        textwrap.dedent(
            """
            [[model]]
            name = "huge"
            conv = "separable"
            alpha = 1000
            resolution = 4096
            channels = 1
            blocks = 3
            classes = 5000
            """
        )
    )
    err = one_line_error(capsys, ["run", "--zoo", str(zoo), "--out", str(tmp_path / "out")])
    for limit in ("at most 4", "use 1 to 1024", "use 2 to 1000"):
        assert limit in err


def test_a_truncated_tflite_says_so(tmp_path, capsys):
    data = _tiny_tflite()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: len(data) // 3])
    err = one_line_error(capsys, ["analyze", str(path)])
    assert "corrupt or truncated TFLite file" in err and "(error)" not in err


def _tiny_tflite() -> bytes:
    import keras

    from pipeline.model.quantize import convert_keras_int8

    inp = keras.Input((8, 8, 1), batch_size=1)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inp)))
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    return convert_keras_int8(keras.Model(inp, out), lambda: ([x[i : i + 1]] for i in range(4)))


def test_long_tensor_names_are_cut_in_the_int16_refusal():
    name = "model/" + "very_long_scope/" * 30 + "conv;" + "x" * 300
    tensor = TensorInfo(name, (1, 8), "int16", 0.1, 0)
    analysis = TfliteAnalysis("m", "", 10, ("CONV_2D",), ("CONV_2D",), (tensor,), (tensor,), (), 0,
                              computed_tensors=(tensor,) * 5)
    with pytest.raises(ModelError) as caught:
        check_int8_graph(analysis, "m.tflite")
    assert len(str(caught.value)) < 400 and "int16" in str(caught.value)


def test_measure_on_a_folder_says_it_is_a_folder(tmp_path, capsys):
    err = one_line_error(capsys, ["measure", str(tmp_path), "--no-flash", "--port", "loop://"])
    assert "a folder: pass the .tflite files in it" in err


def test_measure_no_flash_checks_the_tflite_before_the_port(tmp_path, capsys):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"not a model at all")
    err = one_line_error(capsys, ["measure", str(path), "--no-flash", "--port", "loop://", "--timeout", "30"])
    assert "not a TFLite flatbuffer" in err


def _run(ticks=(100, 200, 300), us=(1, 2, 3), layers=3, arena=(1000, 900)) -> str:
    records = [
        encode_record("START", {"fw": "1", "model": "m", "clock_hz": 64000000, "unit": "cycles", "runs": 3, "warmup": 0}),
        encode_record("ARENA", {"size": arena[0], "used": arena[1]}),
        *(encode_record("LAYER", {"index": i, "op": "CONV_2D", "ticks": 10}) for i in range(layers)),
        encode_record(
            "SUMMARY",
            {"runs": 3, "ticks_min": ticks[0], "ticks_median": ticks[1], "ticks_max": ticks[2],
             "us_min": us[0], "us_median": us[1], "us_max": us[2]},
        ),
    ]
    records.append(encode_record("DONE", {"status": "ok", "records": len(records)}))
    return "".join(records)


@pytest.mark.parametrize(
    "run,expected,message",
    [
        (_run(ticks=(300, 200, 100)), None, "min <= median <= max"),
        (_run(us=(0, 0, 0)), None, "µs min 0"),
        (_run(arena=(100, 900)), None, "arena used 900 B of 100 B"),
        (_run(layers=2), Expected(14, 1000), "2 layer records for a model of 14 operators"),
        (_run(), Expected(3, 215_091 * 200), "above the Cortex-M4's 2"),
    ],
)
def test_impossible_device_results_are_refused(run, expected, message):
    with pytest.raises(PipelineError, match=message):
        check_plausible(parse_text(run), expected)


def test_a_plausible_run_passes():
    check_plausible(parse_text(_run()), Expected(3, 300))


def test_a_done_count_too_low_says_lines_were_extra():
    text = _run()
    lines = text.splitlines(keepends=True)
    extra = lines[:3] + [lines[2]] + lines[3:]  # a LAYER line twice: count too high for DONE
    with pytest.raises(SequenceError):
        parse_text("".join(extra))
    done_low = text.replace(encode_record("DONE", {"status": "ok", "records": 6}), encode_record("DONE", {"status": "ok", "records": 5}))
    with pytest.raises(SequenceError, match="more than the firmware sent"):
        parse_text(done_low)


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    target.write_text("before")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipeline.files.os.fsync", full)
    with pytest.raises(PipelineError) as caught:
        write_atomic(target, "after")
    assert "No space left on device: free some space" in str(caught.value) and "\n" not in str(caught.value)
    assert target.read_text() == "before" and sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_a_full_disk_during_firmware_generation_is_one_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.tflite"
    path.write_bytes(_tiny_tflite())

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipeline.files.os.fsync", full)
    err = one_line_error(capsys, ["firmware", str(path), "--out", str(tmp_path / "gen")])
    assert "No space left on device" in err


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from pipeline.store import output_lock
with output_lock(Path(sys.argv[1]), "tinyml run"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_one_writer_per_output_folder_and_a_dead_holder_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(PipelineError, match=rf"being written by `tinyml run` \(pid {holder.pid}\): wait"):
            with output_lock(tmp_path, "tinyml run"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (tmp_path / LOCK_FILE).read_text().startswith("`tinyml run`")  # the dead holder's note stays
    with output_lock(tmp_path, "tinyml run"):  # its process is gone: taken over
        with output_lock(tmp_path, "tinyml measure"):  # the same process re-enters
            pass


def test_a_second_run_on_the_same_folder_is_refused_in_one_line(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "out")], stdout=subprocess.PIPE,
                              text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline", "run", "--out", str(tmp_path / "out"), "--epochs", "0", "--no-emulate",
             "--models", "sep_a050_r32_b5"],
            capture_output=True, text=True, timeout=300, cwd=REPO,
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("tinyml run: error: ")
    assert "is being written by `tinyml run`" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [LOCK_FILE]


def test_a_build_tree_of_another_checkout_is_started_afresh(tmp_path):
    """CMake refuses a tree configured from another source folder (a moved checkout, or a second
    one sharing the user cache): the emulator's build drops such a tree instead of failing."""
    from pipeline.emulator import build

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for tree, home in ((ours, build.port_dir()), (theirs, tmp_path / "elsewhere" / "qemu_mps2")):
        tree.mkdir()
        (tree / "CMakeCache.txt").write_text(f"FOO:STRING=1\nCMAKE_HOME_DIRECTORY:INTERNAL={home}\n")
    build._drop_tree_of_another_checkout(ours)
    build._drop_tree_of_another_checkout(theirs)
    assert (ours / "CMakeCache.txt").is_file() and not theirs.exists()
