"""Re-running the zoo: a model is reused only when nothing that changes its result changed (the
data's contents, the board, the epochs, the spec, the pipeline's versions); paths are relative to
the output folder; a failed attempt keeps the last good result; the report covers this run's
selection. The stages are replaced by a fake here: these tests are about the bookkeeping."""
import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import driver as run_module
from pipeline.board import load_board
from pipeline.model.specs import ModelSpec
from pipeline.records import EmulatedRecord, MeasuredRecord, write_record
from pipeline.store import (EMULATED_RESULT, FAILED_RESULT, HOST_RESULT, MEASURED_RESULT, load_run,
                            model_dir)
from results_fixtures import emulated, result as fixture_result

SEP = ModelSpec("tiny_sep", "separable", 0.25, 16, 1, 3)
STD = ModelSpec("tiny_std", "standard", 0.25, 16, 1, 3)


@pytest.fixture
def built(monkeypatch):
    """Fake stages: records each build; a name in `fail` fails at the training stage."""
    log = {"built": [], "fail": set()}

    def fake_build(spec, data, epochs, board, key, measurements=None):
        log["built"].append(spec.name)
        if spec.name in log["fail"]:
            raise run_module.StageFailure("train", f"{spec.name}: training diverged")
        tflite = f"tflite of {spec.name} {spec.alpha} {epochs}".encode()
        result = fixture_result(spec.name, spec.conv, epochs=epochs, cache_key=key, board=board.key,
                                classes=spec.classes)
        result = replace(result, spec=replace(result.spec, alpha=spec.alpha), data_digest=data.digest,
                         test_samples=len(data.y_test), train_samples=len(data.y_train),
                         tflite_sha256=hashlib.sha256(tflite).hexdigest())
        return result, tflite

    monkeypatch.setattr(run_module, "build_model", fake_build)
    monkeypatch.setattr(run_module, "import_tensorflow_quietly", lambda: None)
    return log


def image_folder(root: Path, per_class: int = 6) -> Path:
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(np.full((8, 8), 30 * i + (name == "dog"), np.uint8)).save(root / name / f"{i}.png")
    return root


def run(out, built_log, specs=(SEP, STD), board="nano33ble", warnings=None, **options):
    """The driver's whole job without emulation; (models built, their outcomes)."""
    built_log["built"].clear()
    request = run_module.RunRequest(out=Path(out), board=load_board(board), emulate=False, **options)
    events = run_module.Events(warn=warnings.append if warnings is not None else lambda text: None)
    outcome = run_module.run(list(specs), request, events)
    return list(built_log["built"]), list(outcome.models)


def test_key_covers_data_contents_board_epochs_and_spec(tmp_path, built):
    data = str(image_folder(tmp_path / "data"))
    out = tmp_path / "out"
    assert run(out, built, data=data)[0] == ["tiny_sep", "tiny_std"]
    assert run(out, built, data=data)[0] == []                        # unchanged: reused
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "data" / "cat" / "new.png")
    rebuilt, results = run(out, built, data=data)
    assert rebuilt == ["tiny_sep", "tiny_std"]                        # new image, same path
    assert results[0].host.train_samples == 11                        # was 10
    assert run(out, built, data=data, board="qemu_mps2_an386")[0] == ["tiny_sep", "tiny_std"]
    assert run(out, built, data=data, board="qemu_mps2_an386")[0] == []
    assert run(out, built, data=data, board="qemu_mps2_an386", epochs=1)[0] == ["tiny_sep", "tiny_std"]
    wider = ModelSpec("tiny_sep", "separable", 0.5, 16, 1, 3)
    assert run(out, built, specs=(wider, STD), data=data, board="qemu_mps2_an386", epochs=1)[0] == ["tiny_sep"]


def test_pipeline_versions_are_in_the_key(tmp_path, built, monkeypatch):
    data = str(image_folder(tmp_path / "data"))
    run(tmp_path / "out", built, data=data)
    monkeypatch.setattr(run_module, "pipeline_versions", lambda: {"tensorflow": "9.9"})
    assert run(tmp_path / "out", built, data=data)[0] == ["tiny_sep", "tiny_std"]


def test_relative_out_from_another_folder_reuses_and_paths_hold(tmp_path, built, monkeypatch):
    data = str(image_folder(tmp_path / "data"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    run("out", built, data=data)
    stored = json.loads((tmp_path / "a/out/models/tiny_sep" / HOST_RESULT).read_text())
    assert stored["tflite"] == "models/tiny_sep/tiny_sep.tflite"
    monkeypatch.chdir(tmp_path / "b")
    assert run("../a/out", built, data=data)[0] == []
    _, models, _ = load_run(Path("../a/out"))
    assert all((Path("../a/out") / m.host.tflite).is_file() for m in models)


def test_a_failed_rerun_keeps_the_good_result(tmp_path, built):
    data = str(image_folder(tmp_path / "data"))
    out = tmp_path / "out"
    run(out, built, data=data)
    folder = model_dir(out, "tiny_sep")
    good, tflite = (folder / HOST_RESULT).read_text(), (folder / "tiny_sep.tflite").read_bytes()
    write_record(folder / EMULATED_RESULT, emulated("tiny_sep", ["CONV_2D"], [1]))
    built["fail"].add("tiny_sep")
    _, results = run(out, built, data=data, epochs=0)  # the case: --epochs 0 after a good run
    assert results[0].failed is not None and results[0].failed.stage == "train"
    assert (folder / HOST_RESULT).read_text() == good and (folder / "tiny_sep.tflite").read_bytes() == tflite
    assert (folder / EMULATED_RESULT).is_file()                       # it measured the kept model
    failure = json.loads((folder / FAILED_RESULT).read_text())
    assert failure["spec"]["epochs"] == 0 and "training diverged" in failure["error"]
    _, models, _ = load_run(out)
    assert not models[0].ok and models[0].kept_result is True
    # back to the old configuration: the kept result is valid again, nothing is rebuilt
    assert run(out, built, data=data)[0] == ["tiny_std"]              # it was rebuilt with epochs 0
    assert load_run(out)[1][0].ok


def test_rebuild_drops_stale_device_records(tmp_path, built):
    data = str(image_folder(tmp_path / "data"))
    out = tmp_path / "out"
    run(out, built, data=data)
    folder = model_dir(out, "tiny_sep")
    write_record(folder / EMULATED_RESULT, emulated("tiny_sep", ["CONV_2D"], [1]))
    write_record(folder / MEASURED_RESULT, MeasuredRecord("loop://", "cycles", 64_000_000, "t", 1, 1, 1, 1, 1, 1, 1,
                                                           1, 1, ()))
    run(out, built, data=data)
    assert "cmsis-nn" in load_run(out)[1][0].emulated
    assert run(out, built, data=data, force=True)[0] == ["tiny_sep", "tiny_std"]
    assert not (folder / EMULATED_RESULT).exists() and not (folder / MEASURED_RESULT).exists()


def test_the_report_covers_this_runs_selection(tmp_path, built):
    from pipeline.report.render import write_report

    data = str(image_folder(tmp_path / "data"))
    out = tmp_path / "out"
    run(out, built, data=data)
    write_report(out, load_board())
    assert (out / "layers_tiny_sep.png").is_file()
    run(out, built, specs=(SEP,), data=data)
    manifest, models, others = load_run(out)
    assert [m.name for m in models] == ["tiny_sep"] and [m.name for m in others] == ["tiny_std"]
    written = write_report(out, load_board())
    md = (out / "report.md").read_text()
    assert "| tiny_std |" not in md and "## Other results in this folder" in md and "`tiny_std` (ok)" in md
    assert not (out / "layers_tiny_sep.png").exists()                 # no pair in this selection
    assert "layers_tiny_sep.png" not in md and [p.name for p in written[3:]] == ["macs_vs_params.png"]


def test_classes_follow_the_data_unless_pinned(tmp_path, built):
    data = str(image_folder(tmp_path / "data"))
    _, results = run(tmp_path / "out", built, data=data)
    assert {r.host.spec.classes for r in results} == {2}
    from pipeline.errors import PipelineError
    pinned = ModelSpec("tiny_sep", "separable", 0.25, 16, 1, 3, classes=10)
    with pytest.raises(PipelineError, match="has 2 classes but the zoo pins classes for tiny_sep"):
        run(tmp_path / "out2", built, specs=(pinned,), data=data)
    assert not (tmp_path / "out2").exists()


def test_small_splits_warn_once(tmp_path, built):
    data = str(image_folder(tmp_path / "data", per_class=3))
    warnings = []
    run(tmp_path / "out", built, data=data, warnings=warnings)
    assert len(warnings) == 2 and "test split has fewer than 5 samples" in warnings[0]
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["data"]["warnings"] == warnings and manifest["data"]["test_samples"] == 2
