"""Last stage: the output folder's records -> report.md (people), report.json and report.csv
(machines), PNG plots. A pure function of the record files: re-run it alone after `emulate` or
`measure`.

The report covers the models of the last `tinyml run`'s selection (run.json); other model folders
in the output folder are listed apart. report.md is a sequence of sections, each a function of one
`Report`: a new section goes in a module under pipeline/report/ and into SECTIONS below."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.board import Board
from pipeline.files import write_atomic
from pipeline.kernel_sets import KERNEL_SETS
from pipeline.records import ModelResults, RunManifest, to_plain
from pipeline.report import plots as plotting
from pipeline.report.compare import instruction_fits, instructions_section
from pipeline.report.figures import (
    accuracy_firmware,
    bit_exact,
    emulation_problem,
    estimated_ms,
    fits,
    leading_kernels,
)
from pipeline.report.kernels import kernels_section
from pipeline.report.latency import latency_section
from pipeline.report.pairs import pairs, pairs_section
from pipeline.report.published import published_section
from pipeline.report.seed import per_layer_section
from pipeline.report.tables import fmt, table
from pipeline.report.verification import verification_section
from pipeline.store import load_run


@dataclass
class Report:
    """Everything a section may show."""

    board: Board
    models: list[ModelResults]  # this run's selection, built and failed
    manifest: RunManifest | None = None  # run.json: data, epochs, versions, problems
    others: list[ModelResults] = field(default_factory=list)  # other model folders in the output folder
    plots: list[str] = field(default_factory=list)  # file names written beside report.md

    @property
    def ok(self) -> list[ModelResults]:
        return [m for m in self.models if m.ok]

    @property
    def kernels(self) -> str | None:
        """The kernel set the report leads with (figures.leading_kernels)."""
        return leading_kernels(self.models, self.manifest)


def header_section(r: Report) -> list[str]:
    board = r.board
    return [
        f"# TinyML report: standard vs depthwise-separable MobileNets on the {board.label}",
        "",
        f"Budgets: model flash {board.model_flash_budget:,} B ({board.flash_bytes:,} B application flash "
        f"minus {board.firmware_flash_bytes:,} B firmware), tensor arena {board.arena_budget:,} B "
        f"({board.ram_bytes:,} B RAM minus {board.ram_reserved_bytes:,} B for the core and stack). "
        "The *reserved* arena is what the firmware sets aside (the 32-bit prediction, or the emulator's "
        "measurement, plus a margin) and what the fit verdict compares with the budget. Accuracy "
        "*int8* is TensorFlow Lite's reference kernels on the int8 model; *on the firmware* is the "
        "emulated firmware's own outputs on the same inputs. Paths are relative to this folder.",
    ]


def summary_section(r: Report) -> list[str]:
    kernels = r.kernels
    rows = []
    for m in r.ok:
        h = m.built
        ms = estimated_ms(m, kernels, r.manifest) if kernels else None
        acc = accuracy_firmware(m, kernels, r.manifest) if kernels else None
        exact = bit_exact(m.emulated.get(kernels)) if kernels else None
        rows.append(
            [
                m.name,
                h.spec.conv,
                h.spec.alpha,
                h.spec.resolution,
                h.spec.blocks,
                h.macs,
                h.params,
                h.flash_bytes,
                h.arena.reserved_bytes,
                h.accuracy_float,
                h.accuracy_int8,
                acc.value if acc else None,
                exact,
                ms.value if ms else None,
                fits(m, r.board),
            ]
        )
    if not rows:
        return []
    ms_label = f"ms ({kernels})" if kernels else "ms"
    return [
        "",
        "## Models",
        "",
        table(
            [
                "model",
                "conv",
                "α",
                "input",
                "blocks",
                "MACs",
                "params",
                "flash B",
                "arena reserved B",
                "acc float",
                "acc int8",
                "acc firmware",
                "firmware = TFLite",
                ms_label,
                "fits",
            ],
            rows,
        ),
    ]


def missing_section(r: Report) -> list[str]:
    """Every figure the tables leave out, with its reason: failures and stages that did not run."""
    lines = []
    for m in r.models:
        if m.failed is not None:
            kept = (
                " An earlier good result (made with other inputs) is kept in its folder and not shown."
                if m.kept_result
                else ""
            )
            lines.append(f"- `{m.name}` failed at stage `{m.failed.stage}`: {m.failed.error}{kept}")
    kernels = r.kernels or (r.manifest.kernels[0] if r.manifest and r.manifest.kernels else KERNEL_SETS[0])
    for problem in r.manifest.problems if r.manifest else ():
        if problem.model is None:
            lines.append(
                f"- No model ran the `{problem.stage}` stage, so no model has time or firmware "
                f"accuracy: {problem.reason}"
            )
        elif problem.stage != "emulate":
            lines.append(
                f"- `{problem.model}` failed at stage `{problem.stage}`"
                f"{' (' + problem.kernels + ')' if problem.kernels else ''}: {problem.reason}"
            )
    stopped = any(p.model is None and p.stage == "emulate" for p in (r.manifest.problems if r.manifest else ()))
    for m in r.ok:
        if kernels not in m.emulated and not stopped:  # a stage that ran for no model is said once above
            lines.append(
                f"- `{m.name}` has no time or firmware accuracy ({kernels}): "
                f"{emulation_problem(m, kernels, r.manifest)}"
            )
    return ["", "## What is missing and why", ""] + lines if lines else []


def provenance_section(r: Report) -> list[str]:
    manifest = r.manifest
    if not manifest:
        return [
            "",
            "## Provenance",
            "",
            "No run.json in this folder: re-run `tinyml run` for the data, epochs and versions.",
        ]
    data = manifest.data

    def per_class(counts) -> str:
        return f"{min(counts)}-{max(counts)}" if min(counts) != max(counts) else f"{counts[0]}"

    epochs = sorted({e.spec.epochs for e in manifest.models})
    if manifest.epochs_override == 0:
        epochs_text = "0 (`--epochs 0`: no training; weights as initialised, BatchNorm statistics from the data)"
    elif manifest.epochs_override is not None:
        epochs_text = f"{manifest.epochs_override} for every model (`--epochs`)"
    else:
        epochs_text = ", ".join(map(str, epochs)) + " (each model's spec)"
    names = ", ".join(data.class_names[:20]) + (" …" if len(data.class_names) > 20 else "")
    parts = [
        "",
        "## Provenance",
        "",
        f"- Data: {data.source} (contents digest `{data.digest}`), {len(data.class_names)} classes: {names}",
        f"- Samples: {data.train_samples:,} training ({per_class(data.train_per_class)} per class), "
        f"{data.test_samples:,} test ({per_class(data.test_per_class)} per class); {data.split}; "
        f"int8 calibration on up to {manifest.calibration_samples} training samples",
        f"- Epochs: {epochs_text}",
        f"- Board: `{manifest.board}` ({r.board.label})",
        f"- Kernel sets emulated: {', '.join(manifest.kernels) or 'none'}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in manifest.versions.items() if v),
    ]
    parts += [f"- Data: {note}" for note in data.notes]
    parts += [f"- **Warning**: {warning}" for warning in data.warnings]
    return parts


def others_section(r: Report) -> list[str]:
    if not r.others:
        return []
    return [
        "",
        "## Other results in this folder",
        "",
        "Not in the last run's selection, left out of the tables and plots: "
        + ", ".join(f"`{m.name}` ({'ok' if m.ok else 'failed'})" for m in r.others)
        + ".",
    ]


def plots_section(r: Report) -> list[str]:
    if not r.plots:
        return []
    return ["", "## Plots", ""] + [f"- [`{name}`]({name})" for name in r.plots]


# The order of report.md. Sections of other modules: import the function and add it here.
SECTIONS: list[Callable[[Report], list[str]]] = [
    header_section,
    lambda r: pairs_section(r.models, r.board, r.kernels, r.manifest),
    summary_section,
    lambda r: verification_section(r.models),
    missing_section,
    lambda r: latency_section(r.models, r.board),
    lambda r: published_section(r.models, r.board),
    lambda r: kernels_section(r.models),
    lambda r: instructions_section(r.models, r.kernels),
    lambda r: per_layer_section(r.models, r.kernels),
    provenance_section,
    others_section,
    plots_section,
]


def render_markdown(report: Report) -> str:
    parts: list[str] = []
    for section in SECTIONS:
        parts += section(report)
    return "\n".join(parts) + "\n"


CSV_COLUMNS = [
    "name",
    "conv",
    "alpha",
    "resolution",
    "channels",
    "blocks",
    "classes",
    "epochs",
    "status",
    "stage",
    "error",
    "macs",
    "params",
    "flash_bytes",
    "weights_bytes",
    "arena_predicted_bytes",
    "arena_reserved_bytes",
    "arena_host_64bit_bytes",
    "accuracy_float",
    "accuracy_int8",
    "fits",
    "network_ratio",
    "blocks_formula_ratio",
]
PER_KERNELS = [
    "instructions",
    "est_cycles",
    "est_ms",
    "est_ms_cache_off",
    "emulated_arena_bytes",
    "accuracy_firmware",
    "bit_exact_share",
    "measured_cycles",
    "measured_ms",
]


def csv_row(m: ModelResults, board: Board) -> dict:
    spec = m.spec
    row = {
        "name": m.name,
        "conv": spec.conv,
        "alpha": spec.alpha,
        "resolution": spec.resolution,
        "channels": spec.channels,
        "blocks": spec.blocks,
        "classes": spec.classes,
        "epochs": spec.epochs,
        "status": "ok" if m.ok else "failed",
    }
    if m.failed is not None:
        row.update(stage=m.failed.stage, error=m.failed.error)
    if m.ok:
        h = m.built
        row.update(
            macs=h.macs,
            params=h.params,
            flash_bytes=h.flash_bytes,
            weights_bytes=h.weights_bytes,
            arena_predicted_bytes=h.arena.predicted_bytes,
            arena_reserved_bytes=h.arena.reserved_bytes,
            arena_host_64bit_bytes=h.arena.host_64bit_bytes,
            accuracy_float=h.accuracy_float,
            accuracy_int8=h.accuracy_int8,
            fits=fits(m, board),
            network_ratio=h.seed.network_ratio,
            blocks_formula_ratio=h.seed.blocks_formula_ratio,
        )
        for kernels in KERNEL_SETS:
            suffix = "_" + kernels.replace("-", "_")
            record, measured = m.emulated.get(kernels), m.measured.get(kernels)
            if record is not None:
                est, ms = record.estimated_cycles, record.estimated_ms
                row.update(
                    {
                        f"instructions{suffix}": record.instructions,
                        f"est_cycles{suffix}": est.cache_on if est else None,
                        f"est_ms{suffix}": ms.cache_on if ms else None,
                        f"est_ms_cache_off{suffix}": ms.cache_off if ms else None,
                        f"emulated_arena_bytes{suffix}": record.arena_used_bytes,
                        f"accuracy_firmware{suffix}": record.verify.accuracy_firmware if record.verify else None,
                        f"bit_exact_share{suffix}": record.verify.bit_exact_share if record.verify else None,
                    }
                )
            if measured is not None and measured.cycles:
                row.update(
                    {
                        f"measured_cycles{suffix}": measured.cycles,
                        f"measured_ms{suffix}": 1000.0 * measured.cycles / measured.clock_hz,
                    }
                )
        row["tflite"] = h.tflite
    return row


def render_csv(models: list[ModelResults], board: Board) -> str:
    columns = CSV_COLUMNS + [f"{c}_{k.replace('-', '_')}" for k in KERNEL_SETS for c in PER_KERNELS] + ["tflite"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for m in models:
        writer.writerow(csv_row(m, board))
    return buffer.getvalue()


def report_json(r: Report) -> dict:
    kernels = r.kernels
    return {
        "board": r.board.key,
        "board_name": r.board.name,
        "chip": r.board.chip,
        "budgets": {"model_flash_bytes": r.board.model_flash_budget, "arena_bytes": r.board.arena_budget},
        "paths": "relative to this folder",
        "leading_kernels": kernels,
        "run": to_plain(r.manifest) if r.manifest else None,
        "models": [_model_json(m) for m in r.models],
        "pairs": [{"standard": s.name, "separable": p.name} for s, p in pairs(r.models)],
        "instruction_fits": (
            {conv: vars(fit) for conv, fit in instruction_fits(r.models, kernels).items()} if kernels else {}
        ),
        "other_models": [{"name": m.name, "status": "ok" if m.ok else "failed"} for m in r.others],
        "plots": r.plots,
    }


def _model_json(m: ModelResults) -> dict:
    data = {
        "name": m.name,
        "status": "ok" if m.ok else "failed",
        "host": to_plain(m.host) if m.host else None,
        "failed": to_plain(m.failed) if m.failed else None,
        "emulated": {k: to_plain(v) for k, v in m.emulated.items()},
        "measured": {k: to_plain(v) for k, v in m.measured.items()},
    }
    # `verify` of each emulated model, as `tinyml emulate --verify --json` prints it
    data["verify"] = {k: to_plain(v.verify) if v.verify else None for k, v in m.emulated.items()}
    return data


def write_report(out: Path, board: Board) -> list[Path]:
    out = Path(out)
    manifest, models, others = load_run(out)
    report = Report(board=board, models=models, manifest=manifest, others=others)
    written = plotting.write_plots(models, board, report.kernels, manifest, out)
    for pattern in plotting.PATTERNS:  # plots of models no longer shown would be listed by nobody
        for stale in out.glob(pattern):
            if stale not in written:
                stale.unlink()
    report.plots = [p.name for p in written]
    write_atomic(out / "report.json", json.dumps(report_json(report), indent=2) + "\n")
    write_atomic(out / "report.csv", render_csv(models, board))
    write_atomic(out / "report.md", render_markdown(report))
    return [out / "report.md", out / "report.json", out / "report.csv"] + written


__all__ = ["Report", "SECTIONS", "write_report", "render_markdown", "render_csv", "fmt"]
