"""Benchmark: the validation suite as a table. Per model: ops, MACs (tinyml's count vs an independent
one), flash, predicted arena, the arena TFLM uses in the emulated Cortex-M4, the error, and the fit
verdict for the board.

Independent MAC counts: for the Keras look-alikes (--suite) and `tinyml run` zoo models, from the
Keras layer configs (tests/suite_models.independent_macs); for MLPerf Tiny's reference files, the
count of their look-alike (the same architecture); for TFLM's person_detect, the published
7,157,888 (shared design notes); otherwise none.

usage: python benchmarks/arena_suite.py [--suite] [--emulate] [--board nano33ble] [FILE.tflite|DIR ...]
  --suite     build the CI look-alikes (MLPerf VWW, KWS, ResNet-8, AD; toys) into a temporary folder
  --emulate   also run each model in QEMU (needs the TFLM library: --tflm-dir or $TFLM_ARDUINO_DIR)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from pipeline.errors import PipelineError  # noqa: E402

# Real files whose architecture a look-alike rebuilds (file stem -> suite model name).
LOOK_ALIKES = {"vww_96_int8": "vww_mobilenet_v1_025", "kws_ref_model": "kws_ds_cnn",
               "pretrainedResnet_quant": "resnet8_cifar10", "ad01_int8": "ad_autoencoder",
               "model_ToyCar_quant_fullint_micro": "ad_autoencoder"}
PUBLISHED_MACS = {"person_detect": 7_157_888}


def model_paths(entries: list[str]) -> list[Path]:
    paths = []
    for entry in map(Path, entries):
        if entry.is_dir():
            found = sorted(entry.glob("*.tflite")) or sorted(entry.glob("models/*/*.tflite"))
            paths += found
        else:
            paths.append(entry)
    return paths


def zoo_macs(path: Path) -> int | None:
    """Independent count of a `tinyml run` model, rebuilt from the spec in its result.json."""
    import json

    result_file = path.parent / "result.json"
    if not result_file.is_file():
        return None
    import suite_models
    from pipeline.model.keras_models import build_keras_model
    from pipeline.model.specs import ModelSpec

    result = json.loads(result_file.read_text())
    fields = {f: result[f] for f in ModelSpec.__dataclass_fields__ if f in result}
    return suite_models.independent_macs(build_keras_model(ModelSpec(**fields), batch_size=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--suite", action="store_true")
    parser.add_argument("--emulate", action="store_true")
    parser.add_argument("--tflm-dir", default=None)
    parser.add_argument("--board", default="nano33ble")
    args = parser.parse_args()

    from pipeline.commands.analyze import analyze

    independent: dict[str, int] = dict(PUBLISHED_MACS)
    paths = model_paths(args.models)
    tmp = tempfile.TemporaryDirectory(prefix="tinyml-suite-")
    need_look_alikes = args.suite or any(p.stem in LOOK_ALIKES for p in paths)
    if need_look_alikes:
        import suite_models

        built = []
        for name in suite_models.SUITE:
            data, macs = suite_models.build(name)
            independent[name] = macs
            if args.suite:
                built.append(Path(tmp.name) / f"{name}.tflite")
                built[-1].write_bytes(data)
        paths = built + paths
        for stem, name in LOOK_ALIKES.items():
            independent[stem] = independent[name]

    header = (f"{'model':<34} {'ops':>3} {'MACs tinyml':>12} {'MACs indep.':>12} {'flash B':>9} "
              f"{'arena pred.':>11} {'arena emul.':>11} {'error %':>8}  fit ({args.board})")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for path in paths:
        name = path.stem
        try:
            result = analyze(path, board_key=args.board)
        except PipelineError as exc:
            print(f"{name:<34} refused: {str(exc).split(': ', 1)[-1][:110]}")
            continue
        reference = independent.get(name) or zoo_macs(path)
        emulated, error = "", ""
        if args.emulate:
            from pipeline.driver import emulate_path

            try:
                run = emulate_path(path, args.tflm_dir, runs=1, warmup=0)
                emulated = f"{run.arena_used_bytes:,}"
                error = f"{run.arena_error_pct:+.2f}"
                worst = max(worst, abs(run.arena_error_pct))
            except PipelineError as exc:
                emulated = "n/a: " + str(exc).split(": ", 1)[-1][:40]
        verdict = "fits" if result["fits"] else "no: " + "; ".join(r.split(" (")[0] for r in result["fit_reasons"])
        print(f"{name:<34} {len(result['ops']):>3} {result['total_macs']:>12,} "
              f"{(f'{reference:,}' if reference else 'n/a'):>12} {result['flash_bytes']:>9,} "
              f"{result['arena_predicted_bytes']:>11,} {emulated:>11} {error:>8}  {verdict}")
    if args.emulate:
        print(f"\nlargest |predicted - emulated| / emulated: {worst:.2f} %")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
