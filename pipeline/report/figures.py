"""The figures a report shows of one model, each with the reason when it is absent, so no cell is
blank without a word. Pure functions of the typed records (pipeline.records)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.kernel_sets import KERNEL_SETS
from pipeline.records import EmulatedRecord, ModelResults, RunManifest


@dataclass(frozen=True)
class Figure:
    value: float | int | None
    note: str = ""  # why the value is absent (or where it comes from, e.g. "board")


def fits(model: ModelResults, board) -> bool | None:
    """Whether a built model fits `board` (None: not judged against it)."""
    verdict = model.built.fit(board.key) if model.host else None
    return verdict.fits if verdict else None


def emulation_problem(model: ModelResults, kernels: str, manifest: RunManifest | None) -> str:
    """Why `model` has no emulated record for `kernels`."""
    for problem in manifest.problems if manifest else ():
        if problem.stage != "emulate":
            continue
        if problem.model is None:
            return problem.reason
        if problem.model == model.name and problem.kernels in (None, kernels):
            return f"failed: {problem.reason}"
    if manifest is not None and kernels not in manifest.kernels:
        return f"not emulated with {kernels} (`tinyml run --kernels`)"
    return f"not emulated yet (`tinyml emulate --kernels {kernels}` on its .tflite)"


def estimated_ms(model: ModelResults, kernels: str, manifest: RunManifest | None) -> Figure:
    """Milliseconds on the board: measured cycles where a board ran this kernel set, else the
    estimate with the cache on (the firmware switches it on), else why neither exists."""
    measured = model.measured.get(kernels)
    if measured is not None and measured.cycles:
        return Figure(1000.0 * measured.cycles / measured.clock_hz, "board")
    record = model.emulated.get(kernels)
    if record is None:
        return Figure(None, emulation_problem(model, kernels, manifest))
    if record.estimated_ms is None:
        return Figure(None, record.estimate_skipped or "no cycle estimate")
    return Figure(record.estimated_ms.cache_on, "estimate")


def accuracy_firmware(model: ModelResults, kernels: str, manifest: RunManifest | None) -> Figure:
    record = model.emulated.get(kernels)
    if record is None:
        return Figure(None, emulation_problem(model, kernels, manifest))
    if record.verify is None:
        return Figure(None, "not verified (`tinyml emulate --verify`)")
    if record.verify.accuracy_firmware is None:
        return Figure(None, "no labels for the verification inputs")
    return Figure(record.verify.accuracy_firmware, record.verify.inputs)


def bit_exact(record: EmulatedRecord | None) -> bool | None:
    """True when the firmware's outputs equalled TFLite's reference on every verified input."""
    if record is None or record.verify is None:
        return None
    return record.verify.bit_exact_share == 1.0 and record.verify.first_divergent_layer is None


def leading_kernels(models: list[ModelResults], manifest: RunManifest | None) -> str | None:
    """The kernel set the report leads with: of the sets emulated for every built model, the ones
    that are bit-exact wherever verified, the fastest in total estimated milliseconds (else
    instructions). None when nothing was emulated."""
    built = [m for m in models if m.ok]
    candidates = [
        k
        for k in (manifest.kernels if manifest and manifest.kernels else KERNEL_SETS)
        if built and all(k in m.emulated for m in built)
    ]
    if not candidates:
        candidates = [k for k in KERNEL_SETS if any(k in m.emulated for m in built)]
    exact = [k for k in candidates if all(bit_exact(m.emulated.get(k)) is not False for m in built)]
    pool = exact or candidates
    if not pool:
        return None

    def cost(kernels: str) -> tuple[float, float]:
        records = [m.emulated[kernels] for m in built if kernels in m.emulated]
        ms = [r.estimated_ms.cache_on for r in records if r.estimated_ms is not None]
        return (sum(ms) if len(ms) == len(records) else float("inf"), float(sum(r.instructions for r in records)))

    return min(pool, key=cost)
