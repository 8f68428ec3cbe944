"""One benchmark run read from a device, as its MeasuredRecord (measured.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pipeline.errors import PipelineError
from pipeline.perf.dwt import board_instructions
from pipeline.records import MeasuredLayer, MeasuredRecord
from pipeline.serial_link.protocol import RunResult

# The Cortex-M4's widest multiply-accumulate (SMLAD) does two 16-bit MACs in one cycle and one
# instruction: no int8 kernel runs faster, so a run claiming more measured something else.
MAX_MACS_PER_TICK = 2.0


@dataclass(frozen=True)
class Expected:
    """What the model on the device must show: from its .tflite, not from the device."""

    operators: int
    macs: int


def check_plausible(run: RunResult, expected: Expected | None) -> None:
    """Refuses, in one line, a run no real device can have produced (a forged or garbled run whose
    lines all passed their checksums, or firmware of another model)."""
    summary = run.summary
    assert summary is not None
    where = f"{run.model}: the device's figures are impossible"
    if not 0 < summary.ticks_min <= summary.ticks_median <= summary.ticks_max:
        raise PipelineError(
            f"{where}: {run.unit} min {summary.ticks_min:,} median {summary.ticks_median:,} max "
            f"{summary.ticks_max:,} (min <= median <= max, above 0): flash this project's firmware and measure again"
        )
    if not 0 < summary.us_min <= summary.us_median <= summary.us_max:
        raise PipelineError(
            f"{where}: µs min {summary.us_min:,} median {summary.us_median:,} max {summary.us_max:,}: "
            "flash this project's firmware and measure again"
        )
    if run.arena_size and run.arena_used is not None and run.arena_used > run.arena_size:
        raise PipelineError(f"{where}: arena used {run.arena_used:,} B of {run.arena_size:,} B reserved")
    if expected is None:
        return
    if run.layers and len(run.layers) != expected.operators:
        raise PipelineError(
            f"{where}: {len(run.layers)} layer records for a model of {expected.operators} operators: the "
            "board runs another model; flash this one"
        )
    if expected.macs and expected.macs / summary.ticks_median > MAX_MACS_PER_TICK:
        raise PipelineError(
            f"{where}: {expected.macs:,} MACs in {summary.ticks_median:,} {run.unit} is "
            f"{expected.macs / summary.ticks_median:.1f} MACs per {run.unit[:-1]}, above the Cortex-M4's "
            f"{MAX_MACS_PER_TICK:g}: the board runs another model or its counter is wrong"
        )


def measured_record(
    run: RunResult, source: str, kernels: str = "cmsis-nn", expected: Expected | None = None
) -> MeasuredRecord:
    """The record of one run read from a device; a run that reported an ERROR, or whose figures
    no device can produce, is refused."""
    if run.error is not None:
        raise PipelineError(f"{run.model}: the device reported {run.error.code}: {run.error.detail}")
    summary = run.summary
    if summary is None or run.arena_used is None:
        raise PipelineError(
            f"{run.model}: the device's run has no SUMMARY or ARENA record: flash this project's firmware"
        )
    check_plausible(run, expected)
    counted = board_instructions(run)
    return MeasuredRecord(
        source=source,
        unit=run.unit,
        clock_hz=run.clock_hz,
        firmware=run.firmware_version,
        runs=summary.runs,
        ticks=summary.ticks_median,
        ticks_min=summary.ticks_min,
        ticks_max=summary.ticks_max,
        us=summary.us_median,
        us_min=summary.us_min,
        us_max=summary.us_max,
        arena_used_bytes=run.arena_used,
        arena_size_bytes=run.arena_size or 0,
        layers=tuple(MeasuredLayer(layer.op, layer.ticks) for layer in run.layers),
        kernels=kernels,
        protocol_version=run.protocol_version,
        cache=asdict(run.cache) if run.cache else None,
        dwt=None if run.counters is None else {**asdict(run.counters), **(counted.to_dict() if counted else {})},
        board_instructions=counted.instructions if counted else None,
        output_crc32=run.output_crc32,
    )
