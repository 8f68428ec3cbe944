"""The stages' records: typed, and the JSON files next to the artifacts (docs/records.md).

Every file a stage writes is one of these dataclasses, with the layout version `schema` and the
record's kind in it. `load_record` reads a file back into its dataclass; a file of another layout
(an older tinyml, or another tool's JSON) is refused in one line, never half-read. Derived values
(ratios, per-MAC figures) are properties, written to the JSON for its readers and ignored on load.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Union

from pipeline.errors import PipelineError
from pipeline.files import write_atomic
from pipeline.model.specs import ModelSpec

SCHEMA = 3  # 1-2: the untyped dicts of tinyml before the typed records (no "schema" key)


class RecordError(PipelineError):
    """A record file that is not of this layout: one line naming the file and what to do."""


# --- the codec: dataclass <-> JSON-compatible values ----------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in getattr(value, "DERIVED", ()):
            out[name] = _plain(getattr(value, name))
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _build(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None:
            if type(None) in options:
                return None
            raise RecordError(f"{where}: missing value")
        last = None
        for option in options:
            if option is type(None):
                continue
            try:
                return _build(option, value, where)
            except RecordError as exc:
                last = exc
        raise last or RecordError(f"{where}: unexpected {value!r}")
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return from_plain(kind, value, where)
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(value, list):
            raise RecordError(f"{where}: expected a list, found {type(value).__name__}")
        item = args[0] if args else Any
        return tuple(_build(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        key_type, item = typing.get_args(kind) or (str, Any)
        if not isinstance(value, dict):
            raise RecordError(f"{where}: expected an object, found {type(value).__name__}")
        return {k: _build(item, v, f"{where}.{k}") for k, v in value.items()}
    if kind is Any:
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"{where}: expected a number, found {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"{where}: expected an integer, found {value!r}")
        return value
    if kind in (str, bool) and not isinstance(value, kind):
        raise RecordError(f"{where}: expected {kind.__name__}, found {value!r}")
    return value


def from_plain(cls: type, data: Any, where: str = "record") -> Any:
    """The dataclass `cls` from JSON values; every field checked against its annotation."""
    if not isinstance(data, dict):
        raise RecordError(f"{where}: expected an object, found {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _build(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecordError(f"{where}: missing '{f.name}'")
    extra = set(data) - known - set(getattr(cls, "DERIVED", ())) - {"schema", "record"}
    if extra:
        raise RecordError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    return cls(**values)


def to_plain(record: Any) -> dict:
    """The JSON object of a record: its kind and the layout version first."""
    return {"record": type(record).__name__, "schema": SCHEMA, **_plain(record)}


def write_record(path: Path, record: Any) -> None:
    write_atomic(Path(path), json.dumps(to_plain(record), indent=2) + "\n")


def load_record(path: Path, cls: type) -> Any:
    """The record in `path`, or None when there is no file; another layout is a RecordError."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read ({exc.strerror}): check its permissions") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise RecordError(f"{path}: not JSON (a cut write?): delete it and run the stage again") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or data.get("record") != cls.__name__:
        found = data.get("schema") if isinstance(data, dict) else None
        raise RecordError(
            f"{path}: not a {cls.__name__} of record layout {SCHEMA} (found "
            f"{'layout ' + str(found) if found else 'an older tinyml file'}): run the "
            "stage again (`tinyml run --force` redoes a whole output folder)"
        )
    return from_plain(cls, data, path.name)


# --- analysis and host results (result.json) ---------------------------------------------------


@dataclass(frozen=True)
class LayerRecord:
    """One operator of the .tflite: its counted cost, the Keras layer's name, and for the
    pointwise half of a separable block the seed's formulas for that block."""

    name: str
    op: str
    kind: str  # conv | depthwise | pointwise | fully_connected | other
    macs: int
    params: int
    bias: int = 0
    d_k: int = 0
    m: int = 0
    n: int = 0
    d_f: int = 0
    k_h: int = 0
    k_w: int = 0
    h_out: int = 0
    w_out: int = 0
    element_ops: int = 0
    block_standard_equivalent_macs: int | None = None
    block_separable_formula_macs: int | None = None
    block_ratio_formula: float | None = None


@dataclass(frozen=True)
class FitRecord:
    board: str
    fits: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArenaRecord:
    predicted_bytes: int  # the 32-bit arena TFLM + CMSIS-NN uses (pipeline.analysis.arena)
    head_bytes: int
    tail_bytes: int
    reserved_bytes: int  # what the firmware reserves: the fit verdicts use this
    margin_bytes: int
    source: str  # predicted | emulated | given
    host_64bit_bytes: int | None = None  # TFLM's Python interpreter on this 64-bit host


@dataclass(frozen=True)
class SeedRecord:
    """The seed's story for one network: MACs of the layers that are standard in both nets of a
    pair, and (separable nets only) the network against its all-standard equivalent."""

    first_conv_macs: int
    classifier_macs: int
    standard_equivalent_macs: int | None = None  # separable: every block a standard 3x3 conv
    blocks_formula_ratio: float | None = None  # separable: 1/N + 1/D_K^2 over the blocks
    network_ratio: float | None = None  # separable: MACs / standard_equivalent_macs


@dataclass(frozen=True)
class HostResult:
    """result.json: a model built, trained, quantized and analysed (`tinyml run`)."""

    spec: ModelSpec  # classes resolved from the data; epochs as trained
    cache_key: str
    board: str  # the board the run judged the model against
    tflite: str  # relative to the output folder
    tflite_sha256: str
    data: str
    data_digest: str
    train_samples: int
    test_samples: int
    macs: int
    params: int
    bias_params: int
    flash_bytes: int  # the model data in flash
    weights_bytes: int
    ops: tuple[str, ...]
    arena: ArenaRecord
    fits: tuple[FitRecord, ...]
    accuracy_float: float
    accuracy_int8: float  # TFLite's reference kernels (no XNNPACK) on the int8 model
    seed: SeedRecord
    layers: tuple[LayerRecord, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    def fit(self, board: str) -> FitRecord | None:
        return next((f for f in self.fits if f.board == board), None)


@dataclass(frozen=True)
class FailedRecord:
    """failed.json: the last failed attempt of a model (its good result, if any, stays)."""

    spec: ModelSpec
    cache_key: str
    board: str
    stage: str
    error: str

    @property
    def name(self) -> str:
        return self.spec.name


# --- emulator and device records -----------------------------------------------------------------


@dataclass(frozen=True)
class LayerCycles:
    cache_on: int
    cache_off: int


@dataclass(frozen=True)
class EmulatedLayer:
    index: int
    op: str
    instructions: int
    kind: str | None = None  # from the analysis when the operator sequences agree
    macs: int | None = None
    estimated_cycles: LayerCycles | None = None
    kernel: str | None = None  # the function that ran it (pipeline.analysis.kernel_plan)

    DERIVED: ClassVar[tuple[str, ...]] = ("instructions_per_mac",)

    @property
    def instructions_per_mac(self) -> float | None:
        return round(self.instructions / self.macs, 3) if self.macs else None


@dataclass(frozen=True)
class DivergentLayer:
    index: int
    op: str
    name: str


@dataclass(frozen=True)
class VerifyRecord:
    """The firmware's outputs against TFLite's reference kernels on the same int8 inputs."""

    samples: int
    inputs: str  # where the inputs came from (test split, --data, seeded)
    bit_exact_share: float  # 0..1
    max_abs_diff_lsb: int | None  # None for float outputs
    accuracy_firmware: float | None  # None without labels
    accuracy_reference: float | None
    first_divergent_layer: DivergentLayer | None = None
    samples_per_second: float | None = None


@dataclass(frozen=True)
class EmulatedRecord:
    """emulated.json (emulated_<kernels>.json): the firmware in QEMU's Cortex-M4, instructions
    (not cycles), arena, firmware size, and the cycle estimate for one board."""

    model: str
    tflite: str
    tflite_sha256: str
    kernels: str
    kernel_opt: str
    runs: int
    instructions: int  # median per inference
    instructions_min: int
    instructions_max: int
    macs: int
    arena_used_bytes: int
    arena_size_bytes: int
    arena_predicted_bytes: int
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    layers: tuple[EmulatedLayer, ...]
    output_crc32: int | None
    board: str  # the board of the estimate
    clock_hz: int
    estimated_cycles: LayerCycles | None
    estimate_skipped: str | None  # why there is no estimate (one line)
    estimate_counts: dict[str, int] | None = None  # instruction classes of the measured invoke
    fits_board: bool = True  # False: emulated for the comparison, does not fit `board`
    verify: VerifyRecord | None = None
    unit: str = "instructions"
    arena_note: str | None = None  # the reserved arena was too small and the firmware rebuilt (one line)

    DERIVED: ClassVar[tuple[str, ...]] = (
        "instructions_per_mac",
        "arena_error_pct",
        "flash_bytes",
        "estimated_ms",
        "estimated_macs_per_cycle",
        "layer_kinds",
    )

    @property
    def instructions_per_mac(self) -> float | None:
        return round(self.instructions / self.macs, 3) if self.macs else None

    @property
    def arena_error_pct(self) -> float:
        return round(100.0 * (self.arena_predicted_bytes - self.arena_used_bytes) / self.arena_used_bytes, 2)

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes

    @property
    def estimated_ms(self) -> MsPair | None:
        """Milliseconds at the board's clock (same shape as the cycles; floats)."""
        if self.estimated_cycles is None:
            return None
        return MsPair(
            round(1000.0 * self.estimated_cycles.cache_on / self.clock_hz, 3),
            round(1000.0 * self.estimated_cycles.cache_off / self.clock_hz, 3),
        )

    @property
    def estimated_macs_per_cycle(self) -> dict[str, float] | None:
        if self.estimated_cycles is None or not self.macs:
            return None
        return {
            "cache_on": round(self.macs / self.estimated_cycles.cache_on, 4),
            "cache_off": round(self.macs / self.estimated_cycles.cache_off, 4),
        }

    @property
    def layer_kinds(self) -> dict[str, dict]:
        return instructions_by_kind(self.layers)


def kind_names(kinds) -> list[str]:
    """The layer kinds the reports group by: the first convolution is its own kind
    ('first_conv': one input channel, no CMSIS-NN fast path)."""
    names, first_conv_seen = [], False
    for kind in kinds:
        kind = kind or "unknown"
        if kind == "conv" and not first_conv_seen:
            kind, first_conv_seen = "first_conv", True
        names.append(kind)
    return names


def instructions_by_kind(layers: tuple[EmulatedLayer, ...]) -> dict[str, dict]:
    """Instructions and MACs summed per layer kind (kind_names)."""
    totals: dict[str, dict] = {}
    for layer, kind in zip(layers, kind_names(layer.kind for layer in layers)):
        entry = totals.setdefault(kind, {"layers": 0, "macs": 0, "instructions": 0})
        entry["layers"] += 1
        entry["macs"] += layer.macs or 0
        entry["instructions"] += layer.instructions
    for entry in totals.values():
        entry["instructions_per_mac"] = round(entry["instructions"] / entry["macs"], 3) if entry["macs"] else None
    return totals


@dataclass(frozen=True)
class MsPair:
    cache_on: float
    cache_off: float


@dataclass(frozen=True)
class MeasuredLayer:
    op: str
    ticks: int


@dataclass(frozen=True)
class MeasuredRecord:
    """measured.json (measured_<kernels>.json): one run read over serial from a board (cycles)
    or an emulator speaking the same protocol (instructions)."""

    source: str  # the port or URL read
    unit: str  # cycles | instructions
    clock_hz: int
    firmware: str
    runs: int
    ticks: int
    ticks_min: int
    ticks_max: int
    us: int
    us_min: int
    us_max: int
    arena_used_bytes: int
    arena_size_bytes: int
    layers: tuple[MeasuredLayer, ...]
    kernels: str = "cmsis-nn"
    protocol_version: int = 2
    cache: dict[str, Any] | None = None
    dwt: dict[str, Any] | None = None
    board_instructions: int | None = None
    output_crc32: int | None = None
    verify: VerifyRecord | None = None

    DERIVED: ClassVar[tuple[str, ...]] = ("cycles",)

    @property
    def cycles(self) -> int | None:
        """Only a real clock counts cycles; emulators count instructions."""
        return self.ticks if self.unit == "cycles" else None


# --- the run ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataRecord:
    source: str
    digest: str
    class_names: tuple[str, ...]
    train_samples: int
    test_samples: int
    train_per_class: tuple[int, ...]
    test_per_class: tuple[int, ...]
    split: str
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManifestEntry:
    spec: ModelSpec
    cache_key: str


@dataclass(frozen=True)
class StageProblem:
    """A stage that failed for one model, or did not run for all of them (model None)."""

    stage: str
    reason: str
    model: str | None = None
    kernels: str | None = None


@dataclass(frozen=True)
class RunManifest:
    """run.json: the last `tinyml run`'s selection, inputs, versions, and what did not run."""

    models: tuple[ManifestEntry, ...]
    board: str
    data: DataRecord
    calibration_samples: int
    versions: dict[str, str | None]
    epochs_override: int | None = None
    kernels: tuple[str, ...] = ()  # kernel sets emulated
    problems: tuple[StageProblem, ...] = ()  # failures and skipped stages, with their reasons
    complete: bool = False  # False while the run is under way (or was stopped)


# --- what the report reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelResults:
    """Everything the output folder holds about one model of the run (the report's input)."""

    name: str
    host: HostResult | None = None
    failed: FailedRecord | None = None
    emulated: dict[str, EmulatedRecord] = field(default_factory=dict)  # by kernel set
    measured: dict[str, MeasuredRecord] = field(default_factory=dict)  # by kernel set
    kept_result: bool = False  # failed this run; an older good result stays in the folder

    @property
    def ok(self) -> bool:
        return self.host is not None and self.failed is None

    @property
    def built(self) -> HostResult:
        """The host result of a model that built (callers filter on `ok` first)."""
        if self.host is None:
            raise ValueError(f"{self.name} did not build")
        return self.host

    @property
    def spec(self) -> ModelSpec:
        if self.host is not None:
            return self.host.spec
        if self.failed is not None:
            return self.failed.spec
        raise ValueError(f"{self.name} has no record")
