"""Benchmark serial protocol, versions 1 and 2 (docs/protocol.md): one line -> one typed record,
and a record sequence -> one `RunResult`. Version 2 adds the CACHE, COUNTERS, SAMPLER and OUTPUT
records after SUMMARY; everything else is the same in both.

Text that carries no `TML<version> <TYPE>` is noise (boot banners, TFLM DebugLog) and parses to
None. A record line with a bad checksum or shape raises `CorruptLineError`, one of another version
`VersionMismatchError`: a damaged line is never silently used.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Iterable, Union

from pipeline.errors import PipelineError

PROTOCOL_VERSION = 2  # what this pipeline's firmware writes
SUPPORTED_VERSIONS = (1, 2)  # what the reader accepts

# The last "TML<digits>" (followed by a space or the line end) on a line starts its record: noise
# may precede it on the line. Another version counts only with a record's shape ("TML2 START ..").
_RECORD_START = re.compile(r"TML(\d+)(?= |$)")
_OTHER_VERSION_RECORD = re.compile(r"TML\d+ [A-Z]+(?: |$)")
_RECORD = re.compile(
    r"TML(?P<version>\d+) (?P<type>[A-Z]+)(?P<fields>(?: [a-z_][a-z0-9_]*=[^\s=*]*)*)"
    r" \*(?P<crc>[0-9A-F]{4})"
)
_SHOWN_CHARS = 120


class ProtocolError(PipelineError):
    """The device's output breaks the protocol."""


class CorruptLineError(ProtocolError):
    """A record line that fails its checksum or shape (cut, garbled, or a lost byte)."""


class VersionMismatchError(ProtocolError):
    """The firmware speaks another protocol version than this reader."""


class SequenceError(ProtocolError):
    """Valid records in an invalid order or count (a lost line, a firmware bug)."""


class DeviceResetError(SequenceError):
    """A second START before DONE: the device rebooted mid-run."""


@dataclass(frozen=True)
class StartRecord:
    fw: str
    model: str
    clock_hz: int
    unit: str
    runs: int
    warmup: int


@dataclass(frozen=True)
class ArenaRecord:
    size: int
    used: int


@dataclass(frozen=True)
class LayerRecord:
    index: int
    op: str
    ticks: int


@dataclass(frozen=True)
class SummaryRecord:
    runs: int
    ticks_min: int
    ticks_median: int
    ticks_max: int
    us_min: int
    us_median: int
    us_max: int


@dataclass(frozen=True)
class ErrorRecord:
    code: str
    detail: str


@dataclass(frozen=True)
class DoneRecord:
    status: str
    records: int


# Version 2 records. Fields that default to None may be absent on the line (not counted there).


@dataclass(frozen=True)
class CacheRecord:
    """Flash instruction cache: `on`, `off` or `none` (no such cache); hits/misses of the last
    timed invoke when cache profiling counted them."""

    state: str
    hits: int | None = None
    misses: int | None = None


@dataclass(frozen=True)
class CountersRecord:
    """DWT counters over one extra, sampled invoke (`state=ok`), or `state=none`: the CPU has none."""

    state: str
    cycles: int | None = None
    cpi: int | None = None
    exc: int | None = None
    sleep: int | None = None
    lsu: int | None = None
    fold: int | None = None


@dataclass(frozen=True)
class SamplerRecord:
    """How the 8-bit DWT counters were read during the counted invoke (docs/protocol.md)."""

    period: int
    samples: int
    overruns: int
    calib_known: int
    calib_derived: int
    calib_samples: int


@dataclass(frozen=True)
class OutputRecord:
    """CRC-32/ISO-HDLC (zlib.crc32) of output tensor 0's bytes after the last invoke."""

    bytes: int
    crc32: int


# Verification records (docs/protocol.md, "Verification"): the session after DONE in which the
# host sends inputs and reads outputs (and one input's layer outputs) back.


@dataclass(frozen=True)
class VReadyRecord:
    input: int  # bytes of one input
    output: int  # bytes of one output


@dataclass(frozen=True)
class VOutRecord:
    sample: int
    bytes: int
    crc: str  # CRC-32 of the bytes, 8 hex digits


@dataclass(frozen=True)
class VLayerRecord:
    index: int  # operator index
    bytes: int
    crc: str


@dataclass(frozen=True)
class VDataRecord:
    at: int  # offset in the output or layer
    hex: str  # up to 64 bytes


@dataclass(frozen=True)
class VDoneRecord:
    samples: int
    files: str | None = None  # QEMU: "ok" or "write_failed"


Record = Union[
    StartRecord,
    ArenaRecord,
    LayerRecord,
    SummaryRecord,
    ErrorRecord,
    DoneRecord,
    CacheRecord,
    CountersRecord,
    SamplerRecord,
    OutputRecord,
    VReadyRecord,
    VOutRecord,
    VLayerRecord,
    VDataRecord,
    VDoneRecord,
]

RECORD_TYPES: dict[str, type] = {
    "START": StartRecord,
    "ARENA": ArenaRecord,
    "LAYER": LayerRecord,
    "SUMMARY": SummaryRecord,
    "ERROR": ErrorRecord,
    "DONE": DoneRecord,
    "CACHE": CacheRecord,
    "COUNTERS": CountersRecord,
    "SAMPLER": SamplerRecord,
    "OUTPUT": OutputRecord,
    "VREADY": VReadyRecord,
    "VOUT": VOutRecord,
    "VLAYER": VLayerRecord,
    "VDATA": VDataRecord,
    "VDONE": VDoneRecord,
}
# First protocol version that has each record type.
RECORD_SINCE = {
    "CACHE": 2,
    "COUNTERS": 2,
    "SAMPLER": 2,
    "OUTPUT": 2,
    "VREADY": 2,
    "VOUT": 2,
    "VLAYER": 2,
    "VDATA": 2,
    "VDONE": 2,
}
UNITS = ("cycles", "instructions")
CACHE_STATES = ("on", "off", "none")
COUNTER_STATES = ("ok", "none")
_INT_TYPES = ("int", "int | None")


def shown(line: str) -> str:
    """A line as it goes into a one-line error message: repr'd, cut to a readable length."""
    text = line if len(line) <= _SHOWN_CHARS else line[:_SHOWN_CHARS] + "..."
    return repr(text)


def crc16(payload: bytes) -> int:
    """CRC-16/CCITT-FALSE, as the firmware computes it."""
    return binascii.crc_hqx(payload, 0xFFFF)


def encode_record(record_type: str, values: dict[str, object], version: int = PROTOCOL_VERSION) -> str:
    """One protocol line (with CRLF) as the firmware writes it; for tests and emulated devices."""
    parts = [f"TML{version}", record_type]
    for key, value in values.items():
        text = re.sub(r"[\s=*]", "_", str(value))
        parts.append(f"{key}={text}")
    payload = " ".join(parts)
    return f"{payload} *{crc16(payload.encode('ascii')):04X}\r\n"


def _as_text(line: str | bytes) -> str:
    if isinstance(line, bytes):
        return line.decode("ascii", errors="replace")
    return line


def parse_line(line: str | bytes) -> Record | None:
    """The record on `line`, or None if the line is noise. Raises CorruptLineError,
    VersionMismatchError."""
    parsed = parse_versioned_line(line)
    return None if parsed is None else parsed[1]


def parse_versioned_line(line: str | bytes) -> tuple[int, Record] | None:
    """(protocol version, record) on `line`, or None if the line is noise."""
    text = _as_text(line).rstrip("\r\n").rstrip()
    starts = list(_RECORD_START.finditer(text))
    if not starts:
        return None
    # Noise may precede a record on its line, and a value may itself end in "TML1" (a model named
    # kws_TML1): take the earliest start whose remainder is one whole record, else the last start.
    start = next((m for m in starts if _RECORD.fullmatch(text[m.start() :])), starts[-1])
    candidate = text[start.start() :]
    version = int(start.group(1))
    if version not in SUPPORTED_VERSIONS:
        if not _OTHER_VERSION_RECORD.match(candidate):
            return None  # e.g. "HTML5 page" in a boot banner
        readable = " and ".join(map(str, SUPPORTED_VERSIONS))
        raise VersionMismatchError(
            f"device speaks benchmark protocol version {version}, this pipeline reads versions "
            f"{readable} (line {shown(candidate)}): flash firmware built by this pipeline"
        )
    match = _RECORD.fullmatch(candidate)
    if match is None:
        raise CorruptLineError(f"malformed record line {shown(candidate)}: cut or garbled in transfer")
    payload = candidate[: candidate.rindex(" *")]
    expected = crc16(payload.encode("ascii", errors="replace"))
    if int(match.group("crc"), 16) != expected:
        raise CorruptLineError(
            f"checksum mismatch on record line {shown(candidate)} (computed {expected:04X}): "
            "the line was garbled in transfer; check the cable/baud rate and read again"
        )
    record_type = match.group("type")
    if RECORD_SINCE.get(record_type, 1) > version:
        raise CorruptLineError(
            f"record type {record_type} does not exist in protocol version "
            f"{version} (since {RECORD_SINCE[record_type]}): {shown(candidate)}"
        )
    return version, _build_record(record_type, match.group("fields"), candidate)


def _build_record(record_type: str, field_text: str, line: str) -> Record:
    cls = RECORD_TYPES.get(record_type)
    if cls is None:
        raise CorruptLineError(f"unknown record type {record_type} in {shown(line)}")
    values = dict(pair.split("=", 1) for pair in field_text.split())
    kwargs: dict[str, object] = {}
    for spec in fields(cls):
        if spec.name not in values:
            if spec.default is None:
                continue  # optional field: not counted on this device
            raise CorruptLineError(f"{record_type} record lacks field '{spec.name}': {shown(line)}")
        raw = values[spec.name]
        if spec.type in _INT_TYPES:
            if not (raw.isascii() and raw.isdigit()):
                raise CorruptLineError(f"{record_type} field '{spec.name}' is not a number ({raw!r}): {shown(line)}")
            kwargs[spec.name] = int(raw)
        else:
            kwargs[spec.name] = raw
    # Unknown extra fields are ignored: adding a field does not need a new protocol version.
    return cls(**kwargs)


@dataclass(frozen=True)
class RunResult:
    """One benchmark run as the device reported it. `error` is set when the device reported an
    ERROR (e.g. the arena did not fit); then `summary` and `layers` may be missing."""

    model: str
    firmware_version: str
    unit: str
    clock_hz: int
    runs: int
    warmup: int
    arena_size: int | None
    arena_used: int | None
    layers: tuple[LayerRecord, ...]
    summary: SummaryRecord | None
    error: ErrorRecord | None
    # Version 2 (None in a version-1 run, or where the firmware did not send them).
    protocol_version: int = PROTOCOL_VERSION
    cache: CacheRecord | None = None
    counters: CountersRecord | None = None
    sampler: SamplerRecord | None = None
    output: OutputRecord | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.summary is not None

    @property
    def output_crc32(self) -> int | None:
        return self.output.crc32 if self.output is not None else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["layers"] = [asdict(layer) for layer in self.layers]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "RunResult":
        """Reads files of both versions (a version-1 file lacks the version-2 keys)."""
        nested = {
            "summary": SummaryRecord,
            "error": ErrorRecord,
            "cache": CacheRecord,
            "counters": CountersRecord,
            "sampler": SamplerRecord,
            "output": OutputRecord,
        }
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data or f.default is MISSING}
        values["layers"] = tuple(LayerRecord(**layer) for layer in data["layers"])
        for name, record_type in nested.items():
            if name in values:
                values[name] = record_type(**values[name]) if values[name] else None
        return cls(**values)


class RunAssembler:
    """Collects the records of one run in order: feed records with `add` until it returns True
    (DONE seen), then take `result()`. Every order violation raises a SequenceError."""

    def __init__(self) -> None:
        self.start: StartRecord | None = None
        self.arena: ArenaRecord | None = None
        self.layers: list[LayerRecord] = []
        self.summary: SummaryRecord | None = None
        self.error: ErrorRecord | None = None
        self.done: DoneRecord | None = None
        self.cache: CacheRecord | None = None
        self.counters: CountersRecord | None = None
        self.sampler: SamplerRecord | None = None
        self.output: OutputRecord | None = None
        self.version: int | None = None  # of the START record
        self.count = 0  # records before DONE, START included

    @property
    def started(self) -> bool:
        return self.start is not None

    def add(self, record: Record, version: int | None = None) -> bool:
        """`version`: the protocol version of the record's line (None: not checked)."""
        if self.done is not None:
            raise SequenceError(f"{_name(record)} after DONE: read one run per assembler")
        if isinstance(record, StartRecord):
            self._add_start(record)
            self.version = version
        elif version is not None and self.version is not None and version != self.version:
            raise SequenceError(
                f"{_name(record)} of protocol version {version} in a run that "
                f"started in version {self.version}: two firmwares on one port?"
            )
        elif self.start is None:
            raise SequenceError(
                f"{_name(record)} before START: the reader joined mid-run; reset the device and read again"
            )
        elif isinstance(record, DoneRecord):
            self._add_done(record)
            return True
        elif self.error is not None:
            raise SequenceError(f"{_name(record)} after ERROR: only DONE may follow an ERROR")
        elif isinstance(record, ArenaRecord):
            self._once("arena", record, before_any=("layers", "summary"))
        elif isinstance(record, LayerRecord):
            self._add_layer(record)
        elif isinstance(record, SummaryRecord):
            self._add_summary(record)
        elif isinstance(record, ErrorRecord):
            self.error = record
        else:
            self._add_v2(record)
        self.count += 1
        return False

    def _add_v2(self, record: Record) -> None:
        name = {CacheRecord: "cache", CountersRecord: "counters", SamplerRecord: "sampler", OutputRecord: "output"}[
            type(record)
        ]
        if self.summary is None:
            raise SequenceError(f"{_name(record)} before SUMMARY: firmware order is wrong")
        if getattr(self, name) is not None:
            raise SequenceError(f"duplicate {_name(record)} record in one run")
        if isinstance(record, CacheRecord) and record.state not in CACHE_STATES:
            raise SequenceError(f"CACHE has unknown state '{record.state}': expected one of {', '.join(CACHE_STATES)}")
        if isinstance(record, CountersRecord):
            if record.state not in COUNTER_STATES:
                raise SequenceError(f"COUNTERS has unknown state '{record.state}'")
            if record.state == "ok" and None in (
                record.cycles,
                record.cpi,
                record.exc,
                record.sleep,
                record.lsu,
                record.fold,
            ):
                raise SequenceError("COUNTERS state=ok lacks a counter value")
        if isinstance(record, SamplerRecord) and (self.counters is None or self.counters.state != "ok"):
            raise SequenceError("SAMPLER without COUNTERS state=ok before it")
        setattr(self, name, record)

    def _add_start(self, record: StartRecord) -> None:
        if self.start is not None:
            raise DeviceResetError(
                f"second START (model {record.model}) before DONE of {self.start.model}: the device "
                "reset mid-run (power, watchdog, crash); check the supply/USB and read again"
            )
        if record.unit not in UNITS:
            raise SequenceError(f"START has unknown unit '{record.unit}': expected one of {', '.join(UNITS)}")
        self.start = record

    def _once(self, name: str, record: Record, before_any: tuple[str, ...]) -> None:
        if getattr(self, name) is not None:
            raise SequenceError(f"duplicate {_name(record)} record in one run")
        if any(getattr(self, other) for other in before_any):
            raise SequenceError(f"{_name(record)} after {' or '.join(before_any)}: firmware order is wrong")
        setattr(self, name, record)

    def _add_layer(self, record: LayerRecord) -> None:
        if self.summary is not None:
            raise SequenceError("LAYER after SUMMARY: firmware order is wrong")
        if record.index != len(self.layers):
            raise SequenceError(
                f"LAYER index {record.index} where {len(self.layers)} was due: a line was lost; read again"
            )
        self.layers.append(record)

    def _add_summary(self, record: SummaryRecord) -> None:
        self._once("summary", record, before_any=())
        assert self.start is not None
        if record.runs != self.start.runs:
            raise SequenceError(f"SUMMARY over {record.runs} runs but START announced {self.start.runs}")

    def _add_done(self, record: DoneRecord) -> None:
        if record.records > self.count:
            raise SequenceError(
                f"DONE counts {record.records} records but {self.count} arrived: "
                f"{record.records - self.count} line(s) lost or corrupted in transfer; read again"
            )
        if record.records < self.count:
            raise SequenceError(
                f"DONE counts {record.records} records but {self.count} arrived: {self.count - record.records} "
                "more than the firmware sent (another writer on the port, or a replayed line); read again "
                "with nothing else on the port"
            )
        if record.status == "ok" and (self.error is not None or self.summary is None):
            raise SequenceError("DONE status=ok without a SUMMARY (or after an ERROR)")
        if record.status == "error" and self.error is None:
            raise SequenceError("DONE status=error without an ERROR record")
        if record.status not in ("ok", "error"):
            raise SequenceError(f"DONE has unknown status '{record.status}'")
        self.done = record

    def result(self) -> RunResult:
        if self.start is None or self.done is None:
            raise SequenceError("run incomplete: no START or no DONE")
        return RunResult(
            model=self.start.model,
            firmware_version=self.start.fw,
            unit=self.start.unit,
            clock_hz=self.start.clock_hz,
            runs=self.start.runs,
            warmup=self.start.warmup,
            arena_size=self.arena.size if self.arena else None,
            arena_used=self.arena.used if self.arena else None,
            layers=tuple(self.layers),
            summary=self.summary,
            error=self.error,
            protocol_version=self.version or PROTOCOL_VERSION,
            cache=self.cache,
            counters=self.counters,
            sampler=self.sampler,
            output=self.output,
        )


def _name(record: Record) -> str:
    return next(name for name, cls in RECORD_TYPES.items() if isinstance(record, cls))


def assemble_run(records: Iterable[Record | tuple[int, Record]]) -> RunResult:
    """The RunResult of a complete record sequence (START ... DONE), of records or of
    (version, record) pairs; raises SequenceError."""
    assembler = RunAssembler()
    for item in records:
        version, record = item if isinstance(item, tuple) else (None, item)
        if assembler.add(record, version):
            return assembler.result()
    raise SequenceError("record sequence ended before DONE" if assembler.started else "no START record in the sequence")


def parse_text(text: str) -> RunResult:
    """The run in a captured device transcript (noise allowed between records)."""
    records = (parse_versioned_line(line) for line in text.splitlines())
    return assemble_run(r for r in records if r is not None)
