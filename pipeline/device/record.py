"""One benchmark run read from a device, as the `measured` record of the report."""
from __future__ import annotations

from dataclasses import asdict

from pipeline.errors import PipelineError
from pipeline.perf.dwt import board_instructions
from pipeline.serial_link.protocol import RunResult


def measured_record(run: RunResult, source: str) -> dict:
    """The `measured` object of report.json for one run read from a device."""
    if run.error is not None:
        raise PipelineError(f"{run.model}: the device reported {run.error.code}: {run.error.detail}")
    summary = run.summary
    record = {
        "source": source, "unit": run.unit, "clock_hz": run.clock_hz, "firmware": run.firmware_version,
        "runs": summary.runs, "ticks": summary.ticks_median, "ticks_min": summary.ticks_min,
        "ticks_max": summary.ticks_max, "us": summary.us_median, "us_min": summary.us_min,
        "us_max": summary.us_max, "arena_used_bytes": run.arena_used, "arena_size_bytes": run.arena_size,
        "layers": [{"op": layer.op, "ticks": layer.ticks} for layer in run.layers],
    }
    if run.unit == "cycles":  # only a real clock counts cycles; emulators count instructions
        record.update(cycles=summary.ticks_median, cycles_min=summary.ticks_min, cycles_max=summary.ticks_max)
    record.update(board_v2_fields(run))
    return record


def board_v2_fields(run: RunResult) -> dict:
    """Protocol-v2 additions of the `measured` record: cache, DWT counters and the board's
    instruction count (null where the device did not count them), the output's CRC-32."""
    counted = board_instructions(run)
    return {
        "protocol_version": run.protocol_version,
        "cache": asdict(run.cache) if run.cache else None,
        "dwt": ({**asdict(run.counters), **counted.to_dict()} if counted
                else asdict(run.counters) if run.counters else None),
        "board_instructions": counted.instructions if counted else None,
        "output_crc32": run.output_crc32,
    }
