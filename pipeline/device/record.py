"""One benchmark run read from a device, as its MeasuredRecord (measured.json)."""

from __future__ import annotations

from dataclasses import asdict

from pipeline.errors import PipelineError
from pipeline.perf.dwt import board_instructions
from pipeline.records import MeasuredLayer, MeasuredRecord
from pipeline.serial_link.protocol import RunResult


def measured_record(run: RunResult, source: str, kernels: str = "cmsis-nn") -> MeasuredRecord:
    """The record of one run read from a device; a run that reported an ERROR is refused."""
    if run.error is not None:
        raise PipelineError(f"{run.model}: the device reported {run.error.code}: {run.error.detail}")
    summary = run.summary
    if summary is None or run.arena_used is None:
        raise PipelineError(
            f"{run.model}: the device's run has no SUMMARY or ARENA record: flash this project's firmware"
        )
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
