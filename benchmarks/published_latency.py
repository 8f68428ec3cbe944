"""Benchmark: the project's estimate against every published inference time it has a board file for
(pipeline/perf/published.py: value, board, clock, software, what the timing covers, source).

Each model runs through the real `tinyml emulate` path (QEMU's Cortex-M4 with the instruction-class
plugin, TFLM and CMSIS-NN built at the published build's optimisation, -Os) and is estimated for the
figure's board (its board file: clock, flash wait states, caches, periodic interrupts). The models
are not in this repository: pass their files or folders, or list them in $TINYML_PUBLISHED_MODELS
(or $TINYML_SUITE_MODELS), separated by ':'. A figure is matched to a file by the file's SHA-256, so
a file with other bytes is another model and its figure is reported as skipped, with the reason.

usage: python benchmarks/published_latency.py [--json] [--tflm-dir DIR] [FILE.tflite|DIR ...]
  --json   print a JSON list, one object per published figure: model, board, clock_hz, source,
           published_ms, estimated_ms, error ((estimated - published) / published), plus software,
           covers, build, comparable, macs, and skipped (why there is no estimate, else null)

Where to fetch the models (outside the repository): matteocarnelos/microflow-rs `models/`
(person_detect, speech, sine) and mlcommons/tiny `benchmark/training/*/trained_models/`
(vww_96_int8, kws_ref_model, pretrainedResnet_quant, ad01_int8).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import driver  # noqa: E402
from pipeline.board import load_board  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.perf.published import FIGURES, PublishedFigure  # noqa: E402

ENV_VARS = ("TINYML_PUBLISHED_MODELS", "TINYML_SUITE_MODELS")


def candidate_files(entries: list[str]) -> list[Path]:
    """The .tflite files named, found in the folders named, or listed in the environment."""
    if not entries:
        for var in ENV_VARS:
            entries += [e for e in os.environ.get(var, "").split(os.pathsep) if e]
    files: list[Path] = []
    for entry in map(Path, entries):
        if entry.is_dir():
            files += sorted(entry.rglob("*.tflite"))
        elif entry.is_file():
            files.append(entry)
    return files


def files_by_digest(files: list[Path]) -> dict[str, Path]:
    return {hashlib.sha256(f.read_bytes()).hexdigest(): f for f in reversed(files)}


def estimate(figures: list[PublishedFigure], files: dict[str, Path], tflm_dir: str | None) -> dict:
    """(sha256, board, build) -> estimated ms or the reason there is none, one emulation per model
    and board (figures of other engines share their model's estimate)."""
    results: dict = {}
    groups: dict = {}
    for f in figures:
        key = (f.model_sha256, f.board, f.build)
        if key in results or key in {k for g in groups.values() for k in g}:
            continue
        if f.model_sha256 not in files:
            results[key] = f"no file with its SHA-256 among the models given ({f.model_file}; {ENV_VARS[0]})"
            continue
        groups.setdefault((f.board, f.build), []).append(key)
    for (board_key, build), keys in groups.items():
        request = driver.EmulateRequest(board=load_board(board_key), tflm_dir=tflm_dir, kernel_opt=build, runs=1,
                                        warmup=1)
        paths = [files[k[0]] for k in keys]
        try:
            outcomes = driver.emulate_files(paths, request)
        except PipelineError as exc:  # the environment (toolchain, QEMU, TFLM library) is missing
            results.update({k: f"not emulated: {exc}" for k in keys})
            continue
        for key, outcome in zip(keys, outcomes):
            record = outcome.record
            if outcome.error or record is None:
                results[key] = f"emulation failed: {outcome.error}"
            elif record.estimated_ms is None:
                results[key] = record.estimate_skipped or "no cycle estimate"
            else:
                results[key] = record.estimated_ms.cache_on  # both boards start with their caches on
    return results


def rows(figures: list[PublishedFigure], results: dict) -> list[dict]:
    out = []
    for f in figures:
        value = results[(f.model_sha256, f.board, f.build)]
        estimated = value if isinstance(value, float) else None
        out.append({
            "model": f.model, "board": f.board, "clock_hz": f.clock_hz, "source": f.source,
            "published_ms": f.published_ms, "estimated_ms": estimated,
            "error": round((estimated - f.published_ms) / f.published_ms, 4) if estimated is not None else None,
            "software": f.software, "covers": f.covers, "build": f.build, "comparable": f.comparable,
            "macs": f.macs, "skipped": None if estimated is not None else value,
        })
    return out


def print_table(table: list[dict]) -> None:
    print("Published inference times against the project's estimate (TFLM + CMSIS-NN emulated in QEMU, "
          "built as the published build: -Os; estimate for the board file's clock, flash and interrupts).")
    print("The estimate runs the Feb-2023 Arduino TFLM library with Debian's GCC 12: the MLPerf reference "
          "(TFLM 2.3.1, GCC 6, 2020) and the Arduino build (GCC 7) are older software.\n")
    header = f"{'model':<24} {'board':<14} {'MHz':>4} {'published ms':>12} {'estimate ms':>11} {'error':>7}  software"
    print(header)
    print("-" * len(header))
    for r in table:
        est = f"{r['estimated_ms']:.1f}" if r["estimated_ms"] is not None else "-"
        err = f"{100 * r['error']:+.1f} %" if r["error"] is not None else "-"
        print(f"{r['model']:<24} {r['board']:<14} {r['clock_hz'] / 1e6:>4g} {r['published_ms']:>12.2f} {est:>11} "
              f"{err:>7}  {r['software']}")
    print("\nSources and what each timing covers:")
    for r in table:
        print(f"  {r['model']} on {r['board']}, {r['published_ms']} ms: {r['source']}; covers {r['covers']}")
    skipped = [r for r in table if r["skipped"]]
    if skipped:
        print("\nSkipped:")
        for r in skipped:
            print(f"  {r['model']} on {r['board']}: {r['skipped']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="model files or folders (default: $TINYML_PUBLISHED_MODELS)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per published figure")
    parser.add_argument("--tflm-dir", default=None, help="TFLM Arduino library (default: $TFLM_ARDUINO_DIR)")
    args = parser.parse_args(argv)
    figures = list(FIGURES)
    results = estimate(figures, files_by_digest(candidate_files(list(args.models))), args.tflm_dir)
    table = rows(figures, results)
    if args.json:
        print(json.dumps(table, indent=1))
    else:
        print_table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
