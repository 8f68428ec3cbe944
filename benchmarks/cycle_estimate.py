"""The cycle estimator's figures in one run: the calibration microbenchmarks (TRM cycles expected
vs estimated), then per model instructions, estimated cycles and ms at the board's clock with the
instruction cache on and off, and MAC/cycle. Estimates, not measurements (docs/cycle_model.md).

    python benchmarks/cycle_estimate.py [--out OUT] [--tflm-dir DIR] [FILE.tflite ...]

Models: every OUT/models/*/*.tflite of a `tinyml run` (default ./out: the default zoo), then the
files given (e.g. MLPerf Tiny's reference models, TFLM's person_detect). Needs the TFLM Arduino
library (--tflm-dir or $TFLM_ARDUINO_DIR), the Arm toolchain, QEMU and gcc.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from pipeline.errors import PipelineError  # noqa: E402
from pipeline.perf import cycles  # noqa: E402
from pipeline.board import load_board  # noqa: E402
from pipeline.driver import emulate_path  # noqa: E402
from pipeline.emulator import build as emu_build  # noqa: E402
from pipeline.emulator import plugin as ic  # noqa: E402

NANO_MODEL = cycles.model_for_board(load_board("nano33ble"))  # the board's timing (its file)


def calibration_table() -> list[str]:
    from test_cycle_calibration import SEQUENCES, expected_core_cycles  # hand-derived TRM counts

    model = NANO_MODEL
    with tempfile.TemporaryDirectory(prefix="tinyml-calibration-") as tmp:
        work = Path(tmp)
        tree = emu_build.configure(work, None)
        emu_build.build_target(tree, "qemu_cycle_calibration")
        library = ic.build_plugin(work / "plugin")
        counts = ic.run_counted(tree / "qemu_cycle_calibration.elf", library, work / "c.json",
                                invoke=1, cache=model.flash.cache, flash_end=0x400000)
    expected = expected_core_cycles(model.core.branch_refill, model.core.address_dependency_stall)
    lines = [f"calibration (P={model.core.branch_refill:g}, address-dependency stall "
             f"{model.core.address_dependency_stall:g}; zero wait states)",
             f"  {'sequence':<24} {'instructions':>12} {'TRM cycles':>11} {'estimated':>10} {'':>3}"]
    for name, layer in zip(SEQUENCES, counts.layers):
        got = cycles.core_cycles(layer, model)
        lines.append(f"  {name:<24} {layer.instructions:>12,} {expected[name]:>11,.0f} {got:>10,.0f}"
                     f" {'ok' if got == expected[name] else 'DIFF':>3}")
    return lines


def model_paths(out: Path, files: list[str]) -> list[Path]:
    zoo = sorted(p for p in (out / "models").glob("*/*.tflite")) if (out / "models").is_dir() else []
    return zoo + [Path(f) for f in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tflite", nargs="*", help="further .tflite models")
    parser.add_argument("--out", type=Path, default=Path("out"), help="a `tinyml run` folder")
    parser.add_argument("--tflm-dir", default=None)
    parser.add_argument("--work-dir", default=None)
    args = parser.parse_args(argv)
    for line in calibration_table():
        print(line, flush=True)
    paths = model_paths(args.out, args.tflite)
    if not paths:
        print("no models: run `tinyml run` first or pass .tflite files", file=sys.stderr)
        return 2
    print(f"\nmodels (estimates at {NANO_MODEL.clock_hz / 1e6:g} MHz; cache "
          f"{NANO_MODEL.flash.cache.size_bytes} B {NANO_MODEL.flash.cache.ways}"
          f"-way {NANO_MODEL.flash.cache.line_bytes} B lines)", flush=True)
    print(f"  {'model':<34} {'MACs':>11} {'instructions':>12} {'cyc on':>11} {'ms on':>7} "
          f"{'cyc off':>11} {'ms off':>7} {'MAC/cyc on':>10} {'off':>6} {'instr/MAC':>9} {'s':>5}")
    failed = 0
    for path in paths:
        start = time.monotonic()
        try:
            r = emulate_path(path, args.tflm_dir, work_dir=args.work_dir, runs=1, warmup=1)
        except PipelineError as exc:
            failed += 1
            print(f"  {path.stem:<34} error: {exc}", flush=True)
            continue
        seconds = time.monotonic() - start
        if r.estimated_cycles is None or r.estimated_ms is None:
            print(f"  {r.model:<34} {r.macs:>11,} {r.instructions:>12,}  {r.estimate_skipped}")
            continue
        on, off = r.estimated_cycles.cache_on, r.estimated_cycles.cache_off
        print(f"  {r.model:<34} {r.macs:>11,} {r.instructions:>12,} {on:>11,} "
              f"{r.estimated_ms.cache_on:>7.1f} {off:>11,} {r.estimated_ms.cache_off:>7.1f} "
              f"{cycles.macs_per_cycle(r.macs, on) or 0:>10.3f} "
              f"{cycles.macs_per_cycle(r.macs, off) or 0:>6.3f} "
              f"{r.instructions / r.macs if r.macs else 0:>9.2f} {seconds:>5.0f}", flush=True)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
