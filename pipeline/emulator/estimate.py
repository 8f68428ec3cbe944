"""The cycle estimate inside `tinyml emulate`: prepares the instruction-class plugin for a QEMU
run of the benchmark firmware (one timed invoke: the first after the warm-up) and turns what it
counted into a cycle estimate for the board (pipeline.perf.cycles). Kept apart from stage.py, which
only passes the extra QEMU arguments through and stores the result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.board import Board
from pipeline.emulator.plugin import PluginUnavailable, build_plugin, plugin_arguments, read_counts
from pipeline.perf import cycles
from pipeline.perf.counts import InvokeClassCounts

# mps2-an386 code memory [0, 4 MB): text and constants, as in the Nano's flash (mps2_an386.ld).
FLASH_END = 0x0040_0000


@dataclass(frozen=True)
class PluginRun:
    """What one QEMU run needs for the estimate: its -plugin option and where counts go."""

    qemu_args: list
    counts_path: Path


def prepare(elf: Path, work_dir: Path, model_name: str, warmup: int, model: cycles.CycleModel) -> PluginRun:
    """Raises PluginUnavailable with the reason when the estimate cannot be made here."""
    library = build_plugin(work_dir / "plugin")
    out = work_dir / "results" / f"{model_name}.insn_classes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    args = plugin_arguments(
        library,
        elf,
        out,
        invoke=warmup + 1,
        cache=model.flash.cache,
        flash_end=FLASH_END,
        data_cache=model.flash.data_cache,
    )
    return PluginRun(args, out)


def estimate(run: PluginRun, layer_count: int, model: cycles.CycleModel) -> cycles.CycleEstimate:
    """The estimate from the plugin's counts; per-layer values only when the plugin saw as many
    layers as the firmware's profiler reported."""
    counts: InvokeClassCounts = read_counts(run.counts_path)
    if len(counts.layers) != layer_count:
        raise PluginUnavailable(f"the plugin saw {len(counts.layers)} layers, the firmware reported {layer_count}")
    return cycles.estimate_invoke(counts, model)


def try_prepare(
    elf: Path, work_dir: Path, model_name: str, warmup: int, board: Board
) -> tuple[PluginRun | None, str | None]:
    """(run, None), or (None, why the estimate is skipped): never stops the emulation."""
    try:
        return prepare(elf, work_dir, model_name, warmup, cycles.model_for_board(board)), None
    except (PluginUnavailable, cycles.NoTimingModel) as exc:
        return None, f"cycle estimate skipped: {exc}"


def try_estimate(
    run: PluginRun | None, layer_count: int, skipped: str | None, board: Board
) -> tuple[cycles.CycleEstimate | None, str | None]:
    if run is None:
        return None, skipped
    try:
        return estimate(run, layer_count, cycles.model_for_board(board)), None
    except PluginUnavailable as exc:
        return None, f"cycle estimate skipped: {exc}"
