"""Fit the Cortex-M4 cycle model's penalties to board runs (docs/cycle_model.md, "Fitting").

    python benchmarks/fit_cycle_penalties.py out/models/*/measured.json [--fit NAME,...] [--cache on|off]

Each measured.json (`tinyml measure`: the board's `cycles` per inference) is paired with the
emulated.json beside it (`tinyml emulate`: `estimate_counts`, the instruction classes of the same
model). The cache state comes from the board run (`cache` record of protocol v2) or --cache.
Prints the fitted penalties and, per run, measured cycles against the estimate before and after.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.errors import PipelineError  # noqa: E402
from pipeline.perf import cycles  # noqa: E402
from pipeline.board import load_board  # noqa: E402
from pipeline.perf.cycle_fit import BoardRun, fit_penalties  # noqa: E402
from pipeline.perf.counts import ClassCounts  # noqa: E402

NANO_MODEL = cycles.model_for_board(load_board("nano33ble"))  # the board's timing (its file)


def _cache_state(measured: dict, default: str | None, path: Path) -> bool:
    cache = measured.get("cache")
    state = cache.get("state") if isinstance(cache, dict) else cache
    state = state or default
    if state not in ("on", "off"):
        raise PipelineError(f"{path}: the board run does not say whether the instruction cache "
                            "was on: pass --cache on|off")
    return state == "on"


def load_run(path: Path, default_cache: str | None) -> BoardRun:
    if not path.is_file():
        raise PipelineError(f"{path} does not exist: give measured.json files of `tinyml measure`")
    measured = json.loads(path.read_text())
    emulated_path = path.with_name("emulated.json")
    if not emulated_path.is_file():
        raise PipelineError(f"{emulated_path} is missing: run `tinyml emulate` on the same model")
    emulated = json.loads(emulated_path.read_text())
    if not measured.get("cycles"):
        raise PipelineError(f"{path} has no board `cycles`: measure on the board (not Renode)")
    if not emulated.get("estimate_counts"):
        raise PipelineError(f"{emulated_path} has no `estimate_counts`: re-run `tinyml emulate` "
                            "with QEMU plugin support")
    return BoardRun(path.parent.name, ClassCounts(emulated["estimate_counts"]),
                    _cache_state(measured, default_cache, path), float(measured["cycles"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("measured", nargs="+", type=Path, help="measured.json of board runs")
    parser.add_argument("--fit", default=",".join(cycles.CycleModel.PENALTIES),
                        help="penalties to fit (default all: %(default)s)")
    parser.add_argument("--cache", choices=("on", "off"), default=None,
                        help="instruction cache state when the runs do not record it")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(p, args.cache) for p in args.measured]
        result = fit_penalties(runs, tuple(n for n in args.fit.split(",") if n), model=NANO_MODEL)
    except PipelineError as exc:
        print(f"fit_cycle_penalties: error: {exc}", file=sys.stderr)
        return 2
    defaults = NANO_MODEL.penalties()
    print(f"fitted over {len(runs)} board runs (rank {result.rank}):")
    for name, value in result.penalties.items():
        print(f"  {name:<26} {value:8.3f}   (model default {defaults[name]:g})")
    print(f"  {'run':<24} {'cache':>5} {'measured':>13} {'estimate before':>16} {'after':>13}")
    for row in result.rows:
        print(f"  {row['name']:<24} {row['cache']:>5} {row['measured']:>13,.0f} "
              f"{row['before']:>13,.0f} ({100 * (row['before'] / row['measured'] - 1):+.1f} %) "
              f"{row['after']:>13,.0f} ({100 * (row['after'] / row['measured'] - 1):+.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
