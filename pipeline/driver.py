"""The one driver. It alone sequences the stages and owns run.json:

  model spec -> Keras model -> trained -> int8 .tflite -> analysis (parsed once) -> TFLM host check
  -> generated sources -> firmware in the emulator (each kernel set) -> on a board -> report

Each stage is a function of typed inputs returning a typed record (pipeline.records); a failed
stage is recorded with its name and reason, and the other models carry on. `run` is the whole job
on a zoo (`tinyml run`); the `*_files` functions run the later stages on .tflite files a user names
(`tinyml emulate`, `measure`, `firmware`, `flash`, `analyze`). Commands parse, call one of these,
and print.

Re-running reuses a model whose cache key is unchanged: the spec, the epochs, a digest of the
data's contents, the board and the pipeline's versions. A failed attempt never replaces the last
good result."""

from __future__ import annotations

import enum
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.analysis import costs
from pipeline.analysis.model_analysis import ModelAnalysis, analyze_file, analyze_model
from pipeline.analysis.tflm_host import run_tflm_host
from pipeline.board import Board, load_board, require_firmware_port
from pipeline.codegen.generate import DEFAULT_GENERATED_DIR, generate_firmware_sources
from pipeline.device.measure import read_measurement
from pipeline.device.record import Expected
from pipeline.device.usb import find_board_port, upload, wait_for_path, wait_for_port
from pipeline.emulator import toolchain
from pipeline.emulator.arena_retry import check_model_for_emulator
from pipeline.emulator.qemu import EMULATOR_BOARD
from pipeline.emulator.stage import emulate
from pipeline.emulator.verify import run_verification
from pipeline.errors import ModelError, PipelineError
from pipeline.files import write_atomic
from pipeline.kernel_sets import CMSIS_NN, KERNEL_SETS, check_kernels
from pipeline.model.dataset import CALIBRATION_SAMPLES, load_dataset
from pipeline.model.specs import ModelSpec
from pipeline.native_output import import_tensorflow_quietly
from pipeline.project import find_checkout
from pipeline.provenance import pipeline_versions
from pipeline.records import (
    ArenaRecord,
    DataRecord,
    EmulatedRecord,
    FailedRecord,
    FitRecord,
    HostResult,
    LayerRecord,
    ManifestEntry,
    MeasuredRecord,
    RecordError,
    RunManifest,
    SeedRecord,
    StageProblem,
    load_record,
    write_record,
)
from pipeline.report.render import write_report
from pipeline.store import (
    FAILED_RESULT,
    HOST_RESULT,
    MEASUREMENTS,
    RUN_MANIFEST,
    MeasurementStore,
    check_output_folder,
    emulated_file,
    measured_file,
    measurement_store,
    model_dir,
    output_lock,
    relative_tflite,
    report_board,
    results_folder,
    run_output_folder,
)
from pipeline.verify.compare import divergence, verify_outputs
from pipeline.verify.inputs import VerifyInputs, check_input_tensor, dataset_inputs, seeded_inputs


class Stage(str, enum.Enum):
    """The stages, in order: the names failures are recorded under."""

    DATA = "data"
    TRAIN = "train"
    QUANTIZE = "quantize"
    ANALYZE = "analyze"
    HOST_CHECK = "tflm"
    CODEGEN = "codegen"
    EMULATE = "emulate"
    VERIFY = "verify"
    MEASURE = "measure"
    REPORT = "report"


class StageFailure(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


@contextmanager
def stage(name: Stage | str, started: Callable[[str], None] | None = None) -> Iterator[None]:
    """Names the stage a failure came from; a TF/Keras failure on one model must not stop the zoo.
    `started` is told the stage's name as it begins (a sweep's progress per stage)."""
    name = name.value if isinstance(name, Stage) else name
    if started is not None:
        started(name)
    try:
        yield
    except StageFailure:
        raise
    except PipelineError as exc:
        raise StageFailure(name, str(exc)) from None
    except Exception as exc:  # noqa: BLE001
        raise StageFailure(name, f"{type(exc).__name__}: {exc}") from None


def _ignore(*_args) -> None:
    return None


@dataclass(frozen=True)
class Events:
    """What the caller is told as the job goes: a command draws progress from these."""

    model_started: Callable[[str], None] = _ignore  # a model's host stages begin
    model_done: Callable[[str], None] = _ignore
    step: Callable[[str], None] = _ignore  # one line: "emulating m (tinyml) ..."
    warn: Callable[[str], None] = _ignore


# --- the cache key ----------------------------------------------------------------------------------


def board_digest(board: Board) -> str:
    return hashlib.sha256(json.dumps(asdict(board), sort_keys=True).encode()).hexdigest()[:16]


def cache_key(spec: ModelSpec, epochs: int, data_digest: str, board: Board, versions: dict) -> str:
    text = json.dumps([spec.digest(), epochs, data_digest, board_digest(board), versions], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- host stages: spec -> HostResult ------------------------------------------------------------------


def layer_records(keras_layers, tflite_layers: Sequence[costs.LayerCost]) -> tuple[LayerRecord, ...]:
    """Per operator with MACs: the .tflite's counts (checked equal to the Keras model's) under the
    Keras layer's name, and on each separable block's pointwise layer the seed's formulas."""
    formulas = costs.block_formulas(tflite_layers)
    rows = []
    for keras, cost, formula in zip(keras_layers, tflite_layers, formulas):
        fields = {k: v for k, v in asdict(cost).items() if k != "name"}
        rows.append(
            LayerRecord(
                name=keras.name,
                **fields,
                block_standard_equivalent_macs=formula.standard_equivalent_macs if formula else None,
                block_separable_formula_macs=formula.separable_formula_macs if formula else None,
                block_ratio_formula=formula.ratio_formula if formula else None,
            )
        )
    return tuple(rows)


def seed_record(spec: ModelSpec, layers: Sequence[LayerRecord], macs: int) -> SeedRecord:
    first = layers[0].macs if layers and layers[0].kind == "conv" else 0
    classifier = sum(r.macs for r in layers if r.kind == "fully_connected")
    if spec.conv != "separable":
        return SeedRecord(first, classifier)
    as_costs = [costs.LayerCost(r.name, r.kind, r.op, r.d_k, r.m, r.n, r.d_f, r.macs, r.params) for r in layers]
    formulas = costs.block_formulas(as_costs)
    equivalent = costs.standard_equivalent_macs(as_costs, formulas)
    return SeedRecord(
        first, classifier, equivalent, costs.blocks_formula_ratio(formulas), macs / equivalent if equivalent else None
    )


def fit_records(analysis: ModelAnalysis) -> tuple[FitRecord, ...]:
    return tuple(FitRecord(key, v.fits, tuple(v.reasons)) for key, v in analysis.fits.items())


def arena_record(analysis: ModelAnalysis, host_bytes: int | None) -> ArenaRecord:
    plan = analysis.arena_plan
    return ArenaRecord(
        analysis.arena.predicted_bytes,
        analysis.arena.head_bytes,
        analysis.arena.tail_bytes,
        plan.reserved_bytes,
        plan.margin_bytes,
        plan.source,
        host_bytes,
    )


def build_model(
    spec: ModelSpec,
    base_data,
    epochs: int,
    board: Board,
    key: str,
    measurements: MeasurementStore | None = None,
    started: Callable[[str], None] | None = None,
) -> tuple[HostResult, bytes]:
    """One model from its spec to its HostResult and .tflite bytes; nothing is written here.
    `started` is told each stage's name as it begins."""
    # Keras and TensorFlow take seconds to import: only a model being built pays for them.
    from pipeline.analysis.keras_analysis import keras_layer_costs, match_layers
    from pipeline.model.quantize import quantize_model
    from pipeline.model.reference import quantize_input
    from pipeline.model.train import train_model

    with stage(Stage.DATA, started):
        data = base_data.resized(spec.resolution, spec.channels)
    with stage(Stage.TRAIN, started):
        trained = train_model(spec, data, epochs=epochs)
    with stage(Stage.QUANTIZE, started):
        quantized = quantize_model(trained, data)
    with stage(Stage.ANALYZE, started):
        analysis = analyze_model(
            quantized.tflite, f"{spec.name}.tflite", [board], name=spec.name, measurements=measurements
        )
        pairs = match_layers(keras_layer_costs(trained.model), list(analysis.tflite.layers))
    with stage(Stage.HOST_CHECK, started):
        # TFLM's own interpreter (a child process: it aborts on some models) on one test input:
        # the 64-bit host arena, and an abort found here instead of on the board.
        inp = analysis.tflite.inputs[0]
        try:
            host = run_tflm_host(
                quantized.tflite, quantize_input(data.x_test[:1], inp.scale or 1.0, inp.zero_point or 0), spec.name
            )
        except PipelineError as exc:
            verdict = analysis.fit(board)
            if verdict.fits:
                raise
            raise PipelineError(
                f"{spec.name}: does not fit the {board.name}: {'; '.join(verdict.reasons)} "
                f"(TFLM's host check failed too: {exc})"
            ) from None
    layers = layer_records([p.keras for p in pairs], [p.tflite for p in pairs])
    tflite = analysis.tflite
    result = HostResult(
        spec=replace(spec, epochs=trained.epochs),
        cache_key=key,
        board=board.key,
        tflite=relative_tflite(spec.name),
        tflite_sha256=analysis.sha256,
        data=data.source,
        data_digest=data.digest,
        train_samples=int(len(data.y_train)),
        test_samples=int(len(data.y_test)),
        macs=tflite.total_macs,
        params=tflite.params,
        bias_params=tflite.bias_params,
        flash_bytes=tflite.model_bytes,
        weights_bytes=tflite.weights_bytes,
        ops=tuple(tflite.ops),
        arena=arena_record(analysis, host.arena.total),
        fits=fit_records(analysis),
        accuracy_float=trained.accuracy_float,
        accuracy_int8=quantized.accuracy_int8,
        seed=seed_record(spec, layers, tflite.total_macs),
        layers=layers,
    )
    return result, quantized.tflite


def _cached(folder: Path, out: Path, key: str) -> HostResult | None:
    try:
        cached = load_record(folder / HOST_RESULT, HostResult)
    except RecordError:
        return None  # an older layout: built again
    if cached is None or cached.cache_key != key:
        return None
    tflite = Path(out) / cached.tflite
    if not tflite.is_file() or hashlib.sha256(tflite.read_bytes()).hexdigest() != cached.tflite_sha256:
        return None  # an interrupted rebuild replaced the .tflite
    return cached


def _store_good(folder: Path, result: HostResult, tflite: bytes) -> None:
    write_atomic(folder / f"{result.name}.tflite", tflite)
    for kernels in KERNEL_SETS:  # they measured the previous model
        (folder / emulated_file(kernels)).unlink(missing_ok=True)
        (folder / measured_file(kernels)).unlink(missing_ok=True)
    write_record(folder / HOST_RESULT, result)
    (folder / FAILED_RESULT).unlink(missing_ok=True)


def check_classes(specs: list[ModelSpec], classes: int, source: str) -> None:
    pinned = [s for s in specs if s.classes is not None and s.classes != classes]
    if pinned:
        names = ", ".join(f"{s.name} ({s.classes})" for s in pinned)
        raise PipelineError(
            f"the data ({source}) has {classes} classes but the zoo pins classes for "
            f"{names}: remove `classes` from those models to follow the data, or "
            "use data with that many classes"
        )


def load_run_data(specs: list[ModelSpec], data: str | None):
    """The data set, checked against the zoo: a bad --data fails before anything else runs."""
    dataset = load_dataset(data)
    check_classes(specs, dataset.classes, dataset.source)
    return dataset


def data_record(dataset) -> DataRecord:
    p = dataset.provenance()
    return DataRecord(
        p["source"],
        p["digest"],
        tuple(p["class_names"]),
        p["train_samples"],
        p["test_samples"],
        tuple(p["train_per_class"]),
        tuple(p["test_per_class"]),
        p["split"],
        tuple(p["notes"]),
        tuple(p["warnings"]),
    )


# --- the whole job -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    out: Path
    board: Board
    data: str | None = None  # None: scikit-learn digits
    epochs: int | None = None  # None: each spec's own; 0: no training (benchmarks)
    force: bool = False
    emulate: bool | None = None  # None: when the toolchain and library are there; True: must
    tflm_dir: str | None = None
    kernels: tuple[str, ...] = KERNEL_SETS  # kernel sets emulated
    device: str | None = None  # flash and measure every fitting model: 'auto' or a port
    timeout_s: float = 60.0
    verify_samples: int | None = None  # each emulated model verified on this many test inputs (None: all; 0: none)


@dataclass(frozen=True)
class ModelOutcome:
    name: str
    host: HostResult | None
    failed: FailedRecord | None
    problems: tuple[StageProblem, ...] = ()  # later stages that failed for this model


@dataclass(frozen=True)
class RunOutcome:
    models: tuple[ModelOutcome, ...]
    manifest: RunManifest
    report: tuple[Path, ...]

    @property
    def failed(self) -> list[str]:
        return [m.name for m in self.models if m.failed is not None or m.problems]


def effective_epochs(spec: ModelSpec, epochs: int | None) -> int:
    return spec.epochs if epochs is None else epochs


def host_stages(
    specs: list[ModelSpec], request: RunRequest, dataset, versions: dict, events: Events
) -> list[ModelOutcome]:
    """Every model of `specs` built (or reused from the cache) up to its HostResult."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ noise; failures still raise
    store = measurement_store(folder=Path(request.out) / MEASUREMENTS)
    outcomes, tensorflow_ready = [], False
    for spec in specs:
        events.model_started(spec.name)
        folder = model_dir(request.out, spec.name)
        epochs = effective_epochs(spec, request.epochs)
        key = cache_key(spec, epochs, dataset.digest, request.board, versions)
        cached = None if request.force else _cached(folder, request.out, key)
        if cached is not None:
            outcomes.append(ModelOutcome(spec.name, cached, None))
        else:
            if not tensorflow_ready:  # only when a model is built: a cached run stays quick
                import_tensorflow_quietly()
                tensorflow_ready = True
            try:
                result, tflite = build_model(spec, dataset, epochs, request.board, key, store)
                _store_good(folder, result, tflite)
                outcomes.append(ModelOutcome(spec.name, result, None))
            except StageFailure as exc:
                failed = FailedRecord(replace(spec, epochs=epochs), key, request.board.key, exc.stage, str(exc))
                write_record(folder / FAILED_RESULT, failed)
                outcomes.append(ModelOutcome(spec.name, None, failed))
        events.model_done(spec.name)
    return outcomes


def _manifest(
    specs: list[ModelSpec],
    request: RunRequest,
    dataset,
    versions: dict,
    problems: Sequence[StageProblem] = (),
    complete: bool = False,
) -> RunManifest:
    entries = tuple(
        ManifestEntry(
            replace(s, epochs=effective_epochs(s, request.epochs)),
            cache_key(s, effective_epochs(s, request.epochs), dataset.digest, request.board, versions),
        )
        for s in specs
    )
    return RunManifest(
        models=entries,
        board=request.board.key,
        data=data_record(dataset),
        calibration_samples=CALIBRATION_SAMPLES,
        versions=versions,
        epochs_override=request.epochs,
        kernels=tuple(request.kernels),
        problems=tuple(problems),
        complete=complete,
    )


def prepare_run(specs: list[ModelSpec], request: RunRequest, notify: Callable[[str], None] = _ignore):
    """The cheap checks of a run, before anything is built: the output folder, the kernel sets,
    the data against the zoo, the emulation environment (an error under --emulate). Returns
    (specs with the data's classes, data set, emulation plan)."""
    check_output_folder(request.out)
    for kernels in request.kernels:
        check_kernels(kernels)
    dataset = load_run_data(specs, request.data)
    plan = toolchain.plan_emulation(request.emulate, request.tflm_dir, notify=notify)
    return [s.for_data(dataset.classes) for s in specs], dataset, plan


def run(specs: list[ModelSpec], request: RunRequest, events: Events = Events(), prepared=None) -> RunOutcome:
    """The whole job on `specs`: host stages, then every model emulated with each kernel set
    (models that do not fit the board too, marked: the pair comparison needs them), then measured
    on a board when asked, then the report. `prepared`: prepare_run's result (else made here)."""
    specs, dataset, plan = prepared or prepare_run(specs, request)
    with output_lock(request.out, "tinyml run"):
        return _run_locked(specs, request, events, dataset, plan)


def _run_locked(specs: list[ModelSpec], request: RunRequest, events: Events, dataset, plan) -> RunOutcome:
    for text in dataset.warnings():
        events.warn(text)
    versions = pipeline_versions()
    outcomes = host_stages(specs, request, dataset, versions, events)
    problems: list[StageProblem] = []
    if plan.skipped is not None:
        problems.append(StageProblem(Stage.EMULATE.value, f"not run: {plan.skipped}"))
    else:
        outcomes = [_emulate_outcome(o, request, plan.tflm_root, events, dataset) for o in outcomes]
    if request.device:
        outcomes = _measure_outcomes(outcomes, request, events)
    problems += [p for o in outcomes for p in o.problems]
    manifest = _manifest(specs, request, dataset, versions, problems, complete=True)
    write_record(Path(request.out) / RUN_MANIFEST, manifest)
    with stage(Stage.REPORT):
        written = write_report(request.out, request.board)
    return RunOutcome(tuple(outcomes), manifest, tuple(written))


def _emulate_outcome(
    outcome: ModelOutcome, request: RunRequest, tflm_root: Path, events: Events, dataset
) -> ModelOutcome:
    """The model emulated with each kernel set and verified on the test split of `dataset`
    (records kept from an earlier run unless --force)."""
    if outcome.host is None:
        return outcome
    folder = model_dir(request.out, outcome.name)
    tflite = folder / f"{outcome.name}.tflite"
    store = measurement_store(folder=Path(request.out) / MEASUREMENTS)
    problems = list(outcome.problems)
    pending = [k for k in request.kernels if request.force or not (folder / emulated_file(k)).is_file()]
    if not pending:
        return outcome
    inputs = None
    try:
        with stage(Stage.ANALYZE):  # once for every kernel set
            analysis = analyze_file(tflite, [request.board])
        if request.verify_samples != 0:
            with stage(Stage.VERIFY):
                inputs = verify_inputs(
                    None, analysis, VerifyRequest(samples=request.verify_samples), dataset, trained_on=True
                )
    except StageFailure as exc:
        return replace(outcome, problems=(*problems, StageProblem(exc.stage, str(exc), outcome.name)))
    for kernels in pending:
        target = folder / emulated_file(kernels)
        events.step(f"emulating {outcome.name} ({kernels}) in QEMU{' and verifying' if inputs else ''} ...")
        try:
            with stage(Stage.EMULATE):
                record = emulate_analysis(analysis, tflm_root, request.board, verify=inputs, kernels=kernels)
        except StageFailure as exc:
            problems.append(StageProblem(exc.stage, str(exc), outcome.name, kernels))
            continue
        write_record(target, replace(record, tflite=relative_tflite(outcome.name)))
        store.record_arena(record.tflite_sha256, record.arena_used_bytes, outcome.name)
        differs = divergence(record.verify) if record.verify else None
        if differs:  # the firmware computes another model than the one validated: the row fails
            problems.append(StageProblem(Stage.VERIFY.value, differs, outcome.name, kernels))
    return replace(outcome, problems=tuple(problems))


def _measure_outcomes(outcomes: list[ModelOutcome], request: RunRequest, events: Events) -> list[ModelOutcome]:
    fitting = [
        o for o in outcomes if o.host is not None and (o.host.fit(request.board.key) or FitRecord("", True)).fits
    ]
    port = None if request.device == "auto" else request.device
    kernels = request.kernels[0] if request.kernels else CMSIS_NN
    done = measure_files(
        [model_dir(request.out, o.name) / f"{o.name}.tflite" for o in fitting],
        MeasureRequest(request.board, port, request.timeout_s, flash=True, force=request.force, kernels=kernels),
        events,
        refresh=False,
    )
    errors = {m.name: m.error for m in done if m.error}
    return [
        replace(o, problems=o.problems + (StageProblem(Stage.MEASURE.value, errors[o.name], o.name, kernels),))
        if o.name in errors
        else o
        for o in outcomes
    ]


# --- later stages on files --------------------------------------------------------------------------


def analyze_path(
    path: Path, board: Board, measurements: Path | None = None, extra_boards: Sequence[Board] = ()
) -> ModelAnalysis:
    """`tinyml analyze`: the analysis, with the arena measured for these bytes when the store has it."""
    return analyze_file(path, [board, *extra_boards], measurements=measurement_store(Path(path), measurements))


def emulate_analysis(
    analysis: ModelAnalysis, tflm_root: Path, board: Board, verify: VerifyInputs | None = None, **options
) -> EmulatedRecord:
    """The emulate stage on an analysis (its record; artifacts stay in the work folder), and, given
    inputs, the same firmware verified on them against TFLite's reference kernels."""
    emulation = emulate(analysis, tflm_root, board=board, **options)
    if verify is None:
        return emulation.record
    with stage(Stage.VERIFY):
        checked = verify_outputs(analysis.data, verify, lambda x, dump: run_verification(emulation.elf, x, dump))
    return replace(emulation.record, verify=checked)


@dataclass(frozen=True)
class VerifyRequest:
    """What `--verify` runs on: a user's data (`run`'s forms), else the test split of the data a
    run trained the model on, else seeded inputs; `samples` caps the count (None: all)."""

    data: str | None = None
    samples: int | None = None


def verify_inputs(
    path: Path | None, analysis: ModelAnalysis, request: VerifyRequest, data=None, trained_on: bool = False
) -> VerifyInputs:
    """The inputs of a verification (cheap: before the firmware is built). `data`: a Dataset in
    hand (request.data loaded once, or the data a run trained its models on: trained_on)."""
    tensor = analysis.tflite.inputs[0]
    check_input_tensor(tensor, analysis.source)
    outputs = int(np.prod(analysis.tflite.outputs[0].shape[1:]))
    if data is None and request.data is not None:
        data = load_dataset(request.data)
    if data is not None:
        what = f"{data.source}, the data it was trained on" if trained_on else data.source
        return dataset_inputs(data, tensor, outputs, request.samples, what)
    host = _host_result_of(path, analysis.sha256) if path is not None else None
    if host is None:
        return seeded_inputs(tensor, request.samples)
    try:
        data = load_dataset(host.data)
    except PipelineError:
        data = None
    if data is None or data.digest != host.data_digest:
        return seeded_inputs(
            tensor, request.samples, reason=f"the data it was trained on ({host.data}) is gone or changed; give --data"
        )
    return dataset_inputs(data, tensor, outputs, request.samples, f"{data.source}, the data it was trained on")


def _host_result_of(path: Path, sha256: str) -> HostResult | None:
    folder = results_folder(Path(path))
    if folder is None:
        return None
    try:
        host = load_record(folder / HOST_RESULT, HostResult)
    except RecordError:
        return None
    return host if host.tflite_sha256 == sha256 else None


def emulate_path(
    path: Path,
    tflm_dir: str | os.PathLike | None = None,
    *,
    board: Board | None = None,
    kernels: str = CMSIS_NN,
    **options,
) -> EmulatedRecord:
    """One .tflite through the analysis and the emulate stage, nothing written beside it
    (benchmarks and tests); the environment is checked first."""
    board = board or load_board()
    tflm_root = check_emulation_environment(str(tflm_dir) if tflm_dir else None)
    analysis = analyze_file(path, [board, load_board(EMULATOR_BOARD)])
    return emulate_analysis(analysis, tflm_root, board, kernels=kernels, **options)


@dataclass(frozen=True)
class EmulateRequest:
    board: Board
    tflm_dir: str | None = None
    kernels: str = CMSIS_NN
    work_dir: Path | None = None
    kernel_opt: str | None = None
    timeout_s: float | None = None
    runs: int = 10
    warmup: int = 2
    measurements: Path | None = None
    verify: VerifyRequest | None = None  # --verify


@dataclass(frozen=True)
class EmulateOutcome:
    path: Path
    record: EmulatedRecord | None
    error: str | None
    model_error: bool = False  # the error is about the model file (its line starts with the file)

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class MeasureOutcome:
    path: Path
    record: MeasuredRecord | None
    error: str | None
    kept: bool = False  # an earlier measurement was kept

    @property
    def name(self) -> str:
        return self.path.stem


def check_emulation_environment(tflm_dir: str | None) -> Path:
    """The toolchain, QEMU and the library: one line for what is missing, before any build."""
    toolchain.require_tools()
    return toolchain.resolve_tflm_dir(tflm_dir)


def emulate_files(paths: Sequence[Path], request: EmulateRequest, events: Events = Events()) -> list[EmulateOutcome]:
    """`tinyml emulate`: each file analysed, emulated, its arena put in the measurement store and,
    for a model of a run's output folder, its record beside the model and the report refreshed.
    A bad model fails alone; a missing environment fails before any build."""
    check_kernels(request.kernels)
    emulator = load_board(EMULATOR_BOARD)
    # A bad --data says so first, then a bad model (one file), then a missing environment.
    user_data = load_dataset(request.verify.data) if request.verify and request.verify.data else None
    first = first_inputs = None
    if len(paths) == 1:
        first = analyze_file(paths[0], [request.board, emulator])
        check_model_for_emulator(first)
        if request.verify:
            first_inputs = verify_inputs(paths[0], first, request.verify, user_data)
    tflm_root = check_emulation_environment(request.tflm_dir)
    check_run_folders_free(paths, "tinyml emulate")
    options = {
        k: v
        for k, v in (
            ("work_dir", request.work_dir),
            ("kernel_opt", request.kernel_opt),
            ("timeout_s", request.timeout_s),
        )
        if v is not None
    }
    outcomes, outs = [], set()
    for path in paths:
        path = Path(path)
        try:
            analysis = first or analyze_file(path, [request.board, emulator])  # each file parsed once
            if not analysis.fit(request.board).fits:
                events.warn(
                    f"{path}: does not fit the {request.board.name} "
                    f"({'; '.join(analysis.fit(request.board).reasons)}): emulated for the comparison only"
                )
            inputs = first_inputs
            if request.verify and inputs is None:
                inputs = verify_inputs(path, analysis, request.verify, user_data)
            record = emulate_analysis(
                analysis,
                tflm_root,
                request.board,
                verify=inputs,
                kernels=request.kernels,
                runs=request.runs,
                warmup=request.warmup,
                **options,
            )
        except PipelineError as exc:
            outcomes.append(EmulateOutcome(path, None, str(exc), isinstance(exc, ModelError)))
            continue
        measurement_store(path, request.measurements).record_arena(
            record.tflite_sha256, record.arena_used_bytes, record.model
        )
        folder = results_folder(path)
        if folder is not None:  # a model of `tinyml run`: its report gets the emulated column
            with output_lock(folder.parent.parent, "tinyml emulate"):
                write_record(
                    folder / emulated_file(request.kernels), replace(record, tflite=relative_tflite(folder.name))
                )
            outs.add(folder.parent.parent)
        outcomes.append(EmulateOutcome(path, record, None))
    refresh_reports(outs, request.board)
    return outcomes


def check_run_folders_free(paths: Sequence[Path], command: str) -> None:
    """Before the work: the run folders the results will go to are not being written by another
    process (their lock is taken again when each record is written)."""
    for out in sorted({f.parent.parent for f in (results_folder(Path(p)) for p in paths) if f is not None}):
        with output_lock(out, command):
            pass


def refresh_reports(outs, board: Board) -> None:
    """Re-renders the report of each run output folder a command added records to."""
    for out in sorted(outs):
        with output_lock(out, "a report refresh"):
            write_report(out, load_board(report_board(out, board.key)))


def generate_sources(
    path: Path,
    board: Board,
    out_dir: Path,
    *,
    name: str | None = None,
    arena_bytes: int | None = None,
    kernels: str = CMSIS_NN,
    measurements: Path | None = None,
):
    """`tinyml firmware`: analysis -> generated sources for `board` into `out_dir`."""
    analysis = analyze_file(
        path, [board], arena_bytes=arena_bytes, measurements=measurement_store(Path(path), measurements)
    )
    return generate_firmware_sources(analysis, board, out_dir, model_name=name, kernels=kernels)


def flash_file(path: Path, board: Board, port: str | None, kernels: str = CMSIS_NN) -> str:
    """`tinyml flash`: generate into the project the user is in, build and upload with PlatformIO,
    wait for the board to come back; returns the port it reports on."""
    require_firmware_port(board)
    auto = port is None
    target = find_board_port(board) if port is None else port  # no board: fail before a long build
    project_root = find_checkout()
    if project_root is None:
        raise PipelineError(
            "no platformio.ini with a firmware/ folder here or above: run "
            "`tinyml flash`/`measure` inside the project checkout"
        )
    generate_sources(path, board, project_root / DEFAULT_GENERATED_DIR, kernels=kernels)
    upload(board.pio_env, target, project_dir=project_root)
    # the board resets after the upload and its USB port re-enumerates: wait for the sketch's
    # port, not the bootloader's that may still be there
    if auto:
        return wait_for_port(board, pids=(board.usb_app_pid,))
    return wait_for_path(target)


@dataclass(frozen=True)
class MeasureRequest:
    board: Board
    port: str | None = None  # pyserial URL or device; None: find the board by USB VID:PID
    timeout_s: float = 60.0
    flash: bool = True
    force: bool = False
    kernels: str = CMSIS_NN
    verify: VerifyRequest | None = None  # --verify: real inputs through the board after the run


def measure_files(
    paths: Sequence[Path],
    request: MeasureRequest,
    events: Events = Events(),
    flash: Callable[[Path, str | None], str] | None = None,
    refresh: bool = True,
) -> list[MeasureOutcome]:
    """`tinyml measure`: each model flashed (unless request.flash is False) and one run read over
    serial; its record goes beside a run's model as it arrives, so a stopped session keeps every
    finished model and a re-run skips them (unless force)."""
    flasher = flash or (lambda p, port: flash_file(p, request.board, port, request.kernels))
    user_data = load_dataset(request.verify.data) if request.verify and request.verify.data else None
    check_run_folders_free(paths, "tinyml measure")
    outcomes, outs = [], set()
    for path in paths:
        path = Path(path)
        folder = results_folder(path)
        target = folder / measured_file(request.kernels) if folder is not None else None
        if target is not None and not request.force:
            try:
                kept = load_record(target, MeasuredRecord)
            except RecordError:
                kept = None
            if kept is not None and (request.verify is None or kept.verify is not None):
                events.step(f"{path.stem}: kept the earlier measurement (--force to redo)")
                outcomes.append(MeasureOutcome(path, kept, None, kept=True))
                continue
        try:
            # The model first (also with --no-flash): what the device's figures are checked
            # against, and the verification's inputs, before an upload.
            analysis = analyze_file(path, [request.board])
            expected = Expected(len(analysis.tflite.operators), analysis.tflite.total_macs)
            verify = None
            if request.verify is not None:
                verify = (analysis.data, verify_inputs(path, analysis, request.verify, user_data))
            port = flasher(path, request.port) if request.flash else request.port
            record = read_measurement(
                path.stem, request.board, port, request.timeout_s, request.kernels, verify, expected
            )
        except PipelineError as exc:
            outcomes.append(MeasureOutcome(path, None, str(exc)))
            continue
        if target is not None:
            with output_lock(target.parent.parent.parent, "tinyml measure"):
                write_record(target, record)
            outs.add(run_output_folder(path))
        outcomes.append(MeasureOutcome(path, record, None))
    if refresh:
        refresh_reports({o for o in outs if o is not None}, request.board)
    return outcomes


def emulated_record_of(path: Path, kernels: str = CMSIS_NN) -> EmulatedRecord | None:
    """The emulated record beside a run's model, if any (for `measure`'s board-vs-estimate)."""
    folder = results_folder(Path(path))
    if folder is None:
        return None
    try:
        return load_record(folder / emulated_file(kernels), EmulatedRecord)
    except RecordError:
        return None


__all__ = [
    "Stage",
    "Events",
    "RunRequest",
    "run",
    "prepare_run",
    "EmulateRequest",
    "emulate_files",
    "MeasureRequest",
    "measure_files",
    "generate_sources",
    "flash_file",
    "analyze_path",
]
