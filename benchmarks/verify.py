"""Benchmark: the firmware verified against TFLite's reference kernels, model by model. Each model
is built into the QEMU benchmark firmware and its outputs on real inputs are compared with
TensorFlow Lite's reference kernels (`tinyml emulate --verify`). Prints per model: inputs, where
they came from, samples per second in QEMU (the firmware's part: semihosting in, outputs out),
the whole verification's wall time (reference included), the bit-exact share, the largest
difference, accuracy on the firmware and on TFLite where labels exist, and the first divergent
layer.

Inputs: a model of a `tinyml run` output folder runs its whole test split (the data it was trained
on); other files run --samples seeded inputs over the whole input range (MLPerf Tiny's and TFLM's
example models ship without their data sets here); --data PATH gives them real images instead.

usage: python benchmarks/verify.py [--samples 32] [--data PATH] [--kernels cmsis-nn]
                                   [--tflm-dir DIR] FILE.tflite|RUN_OUT_DIR ...
  e.g. python benchmarks/verify.py out/ vww_96_int8.tflite kws_ref_model.tflite
       pretrainedResnet_quant.tflite ad01_int8.tflite person_detect.tflite micro_speech_quantized.tflite
Goal (issue 17): the 359 test images of a 96x96 model verified in under 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.errors import PipelineError  # noqa: E402


def model_paths(entries: list[str]) -> list[Path]:
    paths = []
    for entry in map(Path, entries):
        if entry.is_dir():
            paths += sorted(entry.glob("*.tflite")) or sorted(entry.glob("models/*/*.tflite"))
        elif entry.is_file():
            paths.append(entry)
        else:
            print(f"skipped {entry}: no such file (give the path of a local copy)", file=sys.stderr)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--samples", type=int, default=32, help="seeded inputs for files without data")
    parser.add_argument("--data", default=None)
    parser.add_argument("--kernels", default="cmsis-nn")
    parser.add_argument("--tflm-dir", default=None)
    args = parser.parse_args()

    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.board import load_board
    from pipeline.driver import VerifyRequest, check_emulation_environment, verify_inputs
    from pipeline.emulator.qemu import EMULATOR_BOARD
    from pipeline.emulator.stage import emulate
    from pipeline.emulator.verify import run_verification
    from pipeline.verify.compare import verify_outputs

    root = check_emulation_environment(args.tflm_dir)
    board = load_board()
    header = (
        f"{'model':<34} {'inputs':>6} {'in/s QEMU':>9} {'wall s':>7} {'bit-exact':>9} {'max LSB':>7} "
        f"{'acc fw':>7} {'acc TFLite':>10}  first divergent layer / inputs"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for path in model_paths(args.models):
        try:
            analysis = analyze_file(path, [board, load_board(EMULATOR_BOARD)])
            from_run = (path.parent / "result.json").is_file()
            request = VerifyRequest(args.data, None if from_run or args.data else args.samples)
            inputs = verify_inputs(path, analysis, request)
            elf = emulate(analysis, root, board=board, kernels=args.kernels, runs=1, warmup=0).elf
            started = time.monotonic()
            record = verify_outputs(analysis.data, inputs, lambda x, d: run_verification(elf, x, d))
            wall = time.monotonic() - started
        except PipelineError as exc:
            failures += 1
            print(f"{path.stem:<34} error: {exc}")
            continue
        layer = record.first_divergent_layer
        acc = (
            (f"{record.accuracy_firmware:7.4f}", f"{record.accuracy_reference:10.4f}")
            if record.accuracy_firmware is not None and record.accuracy_reference is not None
            else (f"{'–':>7}", f"{'–':>10}")
        )
        print(
            f"{path.stem:<34} {record.samples:>6} {record.samples_per_second or 0:>9.1f} {wall:>7.1f} "
            f"{record.bit_exact_share:>9.1%} {record.max_abs_diff_lsb if record.max_abs_diff_lsb is not None else '–':>7} "
            f"{acc[0]} {acc[1]}  {f'#{layer.index} {layer.op}' if layer else '–'} / {record.inputs}"
        )
        failures += record.bit_exact_share < 1.0
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PipelineError as exc:
        sys.exit(f"benchmarks/verify.py: error: {exc}")
