"""Re-running the zoo: unchanged models are reused; a rebuilt model drops the emulator and board
records of the model it replaces (they measured other bytes)."""
import json
from types import SimpleNamespace

from pipeline import run as run_module
from pipeline.board import load_board
from pipeline.results import EMULATED_RESULT, MEASURED_RESULT, load_results, model_dir
from pipeline.model.specs import ModelSpec

SPEC = ModelSpec("cached", "separable", 0.25, 16, 1, 2, 10)


def test_rebuild_drops_stale_device_records(tmp_path, monkeypatch):
    built = []

    def fake_process(spec, data, options, board):
        built.append(spec.name)
        tflite = model_dir(options.out, spec.name) / f"{spec.name}.tflite"
        tflite.parent.mkdir(parents=True, exist_ok=True)
        tflite.write_bytes(b"model")
        return {"name": spec.name, "status": "ok", "tflite": str(tflite)}

    monkeypatch.setattr(run_module, "process_model", fake_process)
    monkeypatch.setattr("pipeline.model.dataset.load_dataset", lambda source: SimpleNamespace(source="digits"))
    options = run_module.RunOptions(out=tmp_path)
    board = load_board()
    run_module.run_zoo([SPEC], options, board)
    folder = model_dir(tmp_path, SPEC.name)
    for name in (EMULATED_RESULT, MEASURED_RESULT):
        (folder / name).write_text(json.dumps({"instructions": 1}))

    run_module.run_zoo([SPEC], options, board)  # unchanged: reused, records kept
    assert built == ["cached"] and "emulated" in load_results(tmp_path)[0]

    run_module.run_zoo([SPEC], run_module.RunOptions(out=tmp_path, force=True), board)
    assert built == ["cached", "cached"]
    assert not (folder / EMULATED_RESULT).exists() and not (folder / MEASURED_RESULT).exists()
