"""Benchmark (not a test): TFLM library optimisation level vs instructions per inference and
firmware text size, on the emulated Cortex-M4 (QEMU mps2-an386, -icount shift=0).

Each flag set is its own CMake build tree (the TFLM library compiles once per tree, minutes on two
cores); later runs reuse the trees. Needs the TFLM Arduino library (--tflm-dir or TFLM_ARDUINO_DIR).

    python benchmarks/compiler_flags.py MODEL_A.tflite MODEL_B.tflite [--tflm-dir DIR] [--json OUT]

Flag sets: the whole library at -Os, -O2 and -O3, plus the firmware's default (kernels and CMSIS-NN
at -O2, the rest of TFLM at -Os). Ratios are relative to the whole library at -Os, the level the
mbed core would build it with by default.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.driver import emulate_path  # noqa: E402
from pipeline.emulator import build as emu_build  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402

# label -> (TFLM kernels + CMSIS-NN level, rest of TFLM level)
FLAG_SETS = {
    "all -Os": ("-Os", "-Os"),
    "all -O2": ("-O2", "-O2"),
    "all -O3": ("-O3", "-O3"),
    "kernels -O2, rest -Os (default)": (emu_build.DEFAULT_KERNEL_OPT, emu_build.DEFAULT_OTHER_OPT),
}
BASELINE = "all -Os"


@dataclass(frozen=True)
class Measurement:
    flags: str
    model: str
    instructions: int
    text_bytes: int


def measure(models: list[Path], tflm_dir: str | None, work_dir: str | None,
            flag_sets: dict[str, tuple[str, str]]) -> list[Measurement]:
    rows = []
    for label, (kernel_opt, other_opt) in flag_sets.items():
        for model in models:
            print(f"[{label}] {model.name} ...", file=sys.stderr, flush=True)
            result = emulate_path(model, tflm_dir, work_dir=work_dir, kernel_opt=kernel_opt,
                                  other_opt=other_opt, runs=3, warmup=1)
            rows.append(Measurement(label, result.model, result.instructions, result.text_bytes))
    return rows


def format_table(rows: list[Measurement]) -> str:
    base = {r.model: r for r in rows if r.flags == BASELINE}
    lines = [f"{'flags':<34} {'model':<28} {'instructions':>14} {'vs -Os':>7} {'text B':>9} {'vs -Os':>7}"]
    for r in rows:
        ref = base.get(r.model)
        i_ratio = f"{r.instructions / ref.instructions:.3f}" if ref else "-"
        t_ratio = f"{r.text_bytes / ref.text_bytes:.3f}" if ref else "-"
        lines.append(f"{r.flags:<34} {r.model:<28} {r.instructions:>14,} {i_ratio:>7} "
                     f"{r.text_bytes:>9,} {t_ratio:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL.tflite")
    parser.add_argument("--tflm-dir", default=None)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--only", action="append", choices=list(FLAG_SETS),
                        help="measure only these flag sets (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    flag_sets = {k: v for k, v in FLAG_SETS.items() if not args.only or k in args.only}
    try:
        rows = measure(args.models, args.tflm_dir, args.work_dir, flag_sets)
    except PipelineError as exc:
        print(f"compiler_flags: error: {exc}", file=sys.stderr)
        return 2
    print("Emulated Cortex-M4 (QEMU mps2-an386): instructions per inference (median), not cycles")
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
