"""Benchmark: `tinyml sweep` on one small space of the digits (12 points at 32x32x1, the default
space's smallest input, all fitting the board, its 8 epochs by default): the pruning step's seconds
per point, points per hour with 1 and with 2 local workers and their ratio, and `--engine ray` on a
local Ray against the pool with the same workers. Each sweep runs in a fresh folder through the
real command; its own elapsed time (sweep.json: from the start of the sweep, worker start-up and
TensorFlow's import included) gives the rates.

Targets (issue 18): the default space (>= 100 points) prunes in under 10 minutes on 2 cores
(--default-space), and 2 workers reach at least 1.7 times the points per hour of one. Workers
train in parallel; the emulator's builds take turns in the one shared tree (about 1 s per point
with TFLM's headers precompiled), and one worker alone already uses some of the second core (two
QEMU processes verify a point's firmware, the build compiles two files at once): those bound the
ratio, and the fewer the epochs, the larger their share (`--epochs 1` shows it). The space is the
default space's cheapest corner, so the balance of training and building is the one a default
sweep sees. Figures measured while other programs use the cores are not the machine's: the load
average is printed.

usage: python benchmarks/sweep.py [--no-emulate] [--default-space] [--no-ray] [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPACE = """
[space]
conv = ["standard", "separable"]
alpha = [0.25, 0.5, 0.75]
resolution = 32
blocks = [3, 5]
"""


def sweep(out: Path, space: Path, *options: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "sweep", "--space", str(space), "--out", str(out), *options],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"tinyml sweep {' '.join(options)} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    document = json.loads((out / "sweep.json").read_text())
    db = sqlite3.connect(out / "sweep.sqlite")
    prune = db.execute("SELECT avg(prune_s), count(prune_s) FROM points").fetchone()
    db.close()
    points = document["points"]
    return {
        "elapsed": document["sweep"]["elapsed_s"],
        "wall": wall,
        "done": sum(p["status"] == "done" for p in points),
        "points": len(points),
        "prune_mean": prune[0],
        "pruned": prune[1],
        "emulated": sum(bool(p["emulated"]) for p in points),
    }


def per_hour(result: dict) -> float:
    return 3600.0 * result["done"] / result["elapsed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-emulate", action="store_true", help="leave the emulation out of the evaluation")
    parser.add_argument("--default-space", action="store_true", help="also prune the default space (2 workers)")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray comparison")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    emulation = ["--no-emulate"] if args.no_emulate else ["--emulate"]
    common = ["--epochs", str(args.epochs), *emulation]
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        space = root / "space.toml"
        space.write_text(SPACE)
        if not args.no_emulate:  # the TFLM library of the emulator tree is built once, before timing
            sweep(root / "warmup", space, "--workers", "1", "--budget", "1", *common)
        pruned = sweep(root / "prune", space, "--workers", "2", "--prune-only", *common)
        one = sweep(root / "one", space, "--workers", "1", *common)
        two = sweep(root / "two", space, "--workers", "2", *common)
        ray = None
        if not args.no_ray:
            try:
                import ray as _  # noqa: F401
            except ImportError:
                print("ray: not installed (pip install 'tinyml-deploy[ray]'): no Ray comparison")
            else:
                ray = sweep(root / "ray", space, "--workers", "2", "--engine", "ray", *common)
        default = None
        if args.default_space:
            default = sweep(
                root / "default", REPO / "models" / "space.toml", "--workers", "2", "--prune-only", "--no-emulate"
            )
    evaluation = "train + quantize + TFLM check" + (" + emulation" if not args.no_emulate else "")
    print(f"space: {one['points']} points (digits, 32x32x1), epochs {args.epochs}, evaluation: {evaluation}")
    print(
        f"prune step: {pruned['prune_mean']:.2f} s per point (mean task time, 1 TensorFlow thread); "
        f"{pruned['elapsed'] / pruned['points']:.2f} s per point of wall time with 2 workers "
        f"({pruned['elapsed']:.1f} s for {pruned['points']}, worker start-up included)"
    )
    for label, result in (("1 worker ", one), ("2 workers", two)):
        print(
            f"pool, {label}: {result['done']} points in {result['elapsed']:6.1f} s -> "
            f"{per_hour(result):6.0f} points/hour"
        )
    print(f"ratio 2 / 1 workers: {per_hour(two) / per_hour(one):.2f} (target >= 1.7)")
    if ray is not None:
        print(
            f"ray,  2 workers: {ray['done']} points in {ray['elapsed']:6.1f} s -> {per_hour(ray):6.0f} points/hour; "
            f"overhead against the pool: {ray['elapsed'] - two['elapsed']:+.1f} s "
            f"({ray['elapsed'] / two['elapsed']:.2f}x the pool's time)"
        )
    if default is not None:
        print(
            f"default space: {default['points']} points pruned in {default['elapsed'] / 60:.1f} min with 2 workers "
            f"({default['pruned']} exported, the rest ruled out by their spec's bounds; target < 10 min)"
        )
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
