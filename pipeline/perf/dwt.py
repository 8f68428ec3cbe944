"""Board instructions from the DWT counters of a protocol-v2 run (docs/protocol.md, "DWT counters").

Executed instructions = CYCCNT − CPICNT − EXCCNT − SLEEPCNT − LSUCNT + FOLDCNT (Arm knowledge base
103489824), over the one sampled invoke, less the sampler's own instructions: K per sample, from
the firmware's boot calibration over a loop of known length.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.serial_link.protocol import RunResult


@dataclass(frozen=True)
class BoardInstructions:
    instructions: int  # of the invoke alone, sampler subtracted
    counted_total: int  # formula over the sampled invoke, sampler included
    sampler_instructions: float  # samples x K
    per_sample: float  # K
    samples: int
    overruns: int  # > 0: a wrap of an 8-bit counter may be lost
    expected_samples: int  # cycles / period: fewer means the sampler's interrupt did not run

    @property
    def reliable(self) -> bool:
        return self.overruns == 0 and self.samples >= 0.9 * self.expected_samples

    def to_dict(self) -> dict:
        return {
            "board_instructions": self.instructions,
            "counted_total": self.counted_total,
            "sampler_instructions": round(self.sampler_instructions),
            "sampler_instructions_per_sample": round(self.per_sample, 3),
            "samples": self.samples,
            "expected_samples": self.expected_samples,
            "overruns": self.overruns,
            "reliable": self.reliable,
        }


def formula(cycles: int, cpi: int, exc: int, sleep: int, lsu: int, fold: int) -> int:
    return cycles - cpi - exc - sleep - lsu + fold


def board_instructions(run: RunResult) -> BoardInstructions | None:
    """None when the run has no DWT counters (protocol v1, QEMU, Renode, a CPU without them)."""
    counters, sampler = run.counters, run.sampler
    if counters is None or counters.state != "ok" or sampler is None:
        return None
    values = (counters.cycles, counters.cpi, counters.exc, counters.sleep, counters.lsu, counters.fold)
    if any(v is None for v in values):
        return None  # state=ok always carries all six (serial_link.protocol checks the record)
    cycles, cpi, exc, sleep, lsu, fold = (int(v) for v in values if v is not None)
    total = formula(cycles, cpi, exc, sleep, lsu, fold)
    per_sample = (sampler.calib_derived - sampler.calib_known) / sampler.calib_samples if sampler.calib_samples else 0.0
    overhead = per_sample * sampler.samples
    return BoardInstructions(
        instructions=round(total - overhead),
        counted_total=total,
        sampler_instructions=overhead,
        per_sample=per_sample,
        samples=sampler.samples,
        overruns=sampler.overruns,
        expected_samples=cycles // sampler.period if sampler.period else 0,
    )
