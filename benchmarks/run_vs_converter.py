"""Benchmark: `tinyml run` on the default zoo without training (--epochs 0) against the bare
TFLiteConverter calls for the same models, in one process. Prints both and the ratio (the
pipeline's overhead over conversion: reference accuracy, TFLM host check, analysis, report).

usage: python benchmarks/run_vs_converter.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline.board import load_board  # noqa: E402
from pipeline.model.dataset import load_digits  # noqa: E402
from pipeline.model.quantize import convert_int8  # noqa: E402
from pipeline.report.render import write_report  # noqa: E402
from pipeline.driver import RunOptions, run_zoo  # noqa: E402
from pipeline.model.specs import load_zoo  # noqa: E402
from pipeline.model.train import TrainedModel  # noqa: E402
from pipeline.model.keras_models import build_keras_model  # noqa: E402


def time_converter(specs, data) -> float:
    start = time.perf_counter()
    for spec in specs:
        resized = data.resized(spec.resolution, spec.channels)
        convert_int8(TrainedModel(spec, build_keras_model(spec), 0.0, 0), resized)
    return time.perf_counter() - start


def time_run(specs, board) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_zoo(specs, RunOptions(out=Path(out), epochs=0, force=True), board)
        write_report(Path(out), board)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    board, data = load_board(), load_digits()
    specs = [spec.for_data(data.classes) for spec in load_zoo()]
    converter, pipeline = [], []
    for _ in range(args.repeats):
        converter.append(time_converter(specs, data))
        pipeline.append(time_run(specs, board))
    c, p = statistics.median(converter), statistics.median(pipeline)
    print(f"models: {len(specs)}, repeats: {args.repeats}")
    print(f"bare TFLiteConverter (median): {c:8.2f} s")
    print(f"tinyml run --epochs 0 (median): {p:8.2f} s")
    print(f"ratio run / converter: {p / c:.2f}")


if __name__ == "__main__":
    main()
