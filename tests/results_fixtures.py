"""Hand-written records of a small standard/separable pair (16x16x1, alpha 0.25, 3 blocks, 10
classes), for report and cache tests that must not train. Every MAC count is computed by hand
from the layer shapes: standard D_K^2*M*N*D_F^2, depthwise D_K^2*M*D_F^2, pointwise M*N*D_F^2."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline.analysis import costs
from pipeline.model.specs import ModelSpec
from pipeline.records import (ArenaRecord, DataRecord, EmulatedLayer, EmulatedRecord, FailedRecord, FitRecord,
                              HostResult, LayerCycles, LayerRecord, ManifestEntry, RunManifest, SeedRecord,
                              StageProblem, VerifyRecord, write_record)
from pipeline.store import FAILED_RESULT, HOST_RESULT, RUN_MANIFEST, emulated_file


def layer(name, kind, op, d_k, m, n, d_f, macs, params) -> LayerRecord:
    return LayerRecord(name=name, kind=kind, op=op, d_k=d_k, m=m, n=n, d_f=d_f, macs=macs, params=params, bias=n)


SEP_LAYERS = (
    layer("conv1", "conv", "CONV_2D", 3, 1, 8, 8, 9 * 1 * 8 * 64, 72),              # 4,608
    layer("block1_dw", "depthwise", "DEPTHWISE_CONV_2D", 3, 8, 8, 8, 9 * 8 * 64, 72),  # 4,608
    layer("block1_pw", "pointwise", "CONV_2D", 1, 8, 16, 8, 8 * 16 * 64, 128),       # 8,192
    layer("block2_dw", "depthwise", "DEPTHWISE_CONV_2D", 3, 16, 16, 4, 9 * 16 * 16, 144),  # 2,304
    layer("block2_pw", "pointwise", "CONV_2D", 1, 16, 32, 4, 16 * 32 * 16, 512),     # 8,192
    layer("block3_dw", "depthwise", "DEPTHWISE_CONV_2D", 3, 32, 32, 4, 9 * 32 * 16, 288),  # 4,608
    layer("block3_pw", "pointwise", "CONV_2D", 1, 32, 32, 4, 32 * 32 * 16, 1024),    # 16,384
    layer("classifier", "fully_connected", "FULLY_CONNECTED", 1, 32, 10, 1, 320, 320),
)
STD_LAYERS = (
    SEP_LAYERS[0],
    layer("block1_conv", "conv", "CONV_2D", 3, 8, 16, 8, 9 * 8 * 16 * 64, 1152),     # 73,728
    layer("block2_conv", "conv", "CONV_2D", 3, 16, 32, 4, 9 * 16 * 32 * 16, 4608),   # 73,728
    layer("block3_conv", "conv", "CONV_2D", 3, 32, 32, 4, 9 * 32 * 32 * 16, 9216),   # 147,456
    SEP_LAYERS[-1],
)
SEP_MACS = 49_216   # 4,608 + 44,288 in the blocks + 320
STD_MACS = 299_840  # 4,608 + 294,912 in the blocks + 320

DATA = DataRecord(source="my_photos", digest="abc123", class_names=("cat", "dog"), train_samples=40,
                  test_samples=10, train_per_class=(20, 20), test_per_class=(5, 5),
                  split="stratified 80%/20%, seed 0", notes=("2 image sizes (from 8x8 to 30x40), each resized",))


def spec(name: str, conv: str, epochs: int = 3, classes: int = 10) -> ModelSpec:
    return ModelSpec(name, conv, 0.25, 16, 1, 3, classes=classes, epochs=epochs)


def seed_of(conv: str, layers) -> SeedRecord:
    macs = sum(r.macs for r in layers)
    if conv != "separable":
        return SeedRecord(layers[0].macs, layers[-1].macs)
    as_costs = [costs.LayerCost(r.name, r.kind, r.op, r.d_k, r.m, r.n, r.d_f, r.macs, r.params) for r in layers]
    formulas = costs.block_formulas(as_costs)
    equivalent = costs.standard_equivalent_macs(as_costs, formulas)
    return SeedRecord(layers[0].macs, layers[-1].macs, equivalent, costs.blocks_formula_ratio(formulas),
                      macs / equivalent)


def result(name: str, conv: str, *, fits: bool = True, epochs: int = 3, layers=None, cache_key: str = "k",
           board: str = "nano33ble", classes: int = 10) -> HostResult:
    layers = tuple(layers or (SEP_LAYERS if conv == "separable" else STD_LAYERS))
    macs = sum(r.macs for r in layers)
    params = sum(r.params for r in layers)
    reasons = () if fits else ("model 2,000,000 B > flash budget 783,040 B",)
    return HostResult(
        spec=spec(name, conv, epochs, classes), cache_key=cache_key, board=board,
        tflite=f"models/{name}/{name}.tflite", tflite_sha256="0" * 64, data="test", data_digest="d",
        train_samples=1438, test_samples=359, macs=macs, params=params, bias_params=0,
        flash_bytes=10 * params, weights_bytes=params, ops=("CONV_2D",),
        arena=ArenaRecord(4800, 3000, 1800, 5904, 1104, "predicted", 5000),
        fits=(FitRecord(board, fits, reasons),), accuracy_float=0.9, accuracy_int8=0.9,
        seed=seed_of(conv, layers), layers=layers)


def emulated(name: str, ops, ticks, macs=None, kernels: str = "cmsis-nn", cycles=None,
             verify: VerifyRecord | None = None) -> EmulatedRecord:
    macs = macs or [0] * len(ops)
    layers = tuple(EmulatedLayer(i, op, t, None, m or None,
                                 LayerCycles(c, 2 * c) if cycles else None)
                   for i, (op, t, m, c) in enumerate(zip(ops, ticks, macs, cycles or [0] * len(ops))))
    total = sum(cycles) if cycles else None
    return EmulatedRecord(
        model=name, tflite=f"models/{name}/{name}.tflite", tflite_sha256="0" * 64, kernels=kernels,
        kernel_opt="-O2", runs=3, instructions=sum(ticks), instructions_min=sum(ticks),
        instructions_max=sum(ticks), macs=sum(macs), arena_used_bytes=4800, arena_size_bytes=5904,
        arena_predicted_bytes=4800, text_bytes=100_000, data_bytes=200, bss_bytes=300, layers=layers,
        output_crc32=0x1234, board="nano33ble", clock_hz=64_000_000,
        estimated_cycles=LayerCycles(total, 2 * total) if total else None,
        estimate_skipped=None if total else "cycle estimate skipped: test", verify=verify)


def write_out(tmp_path: Path, models, failed=(), epochs_override=None, problems=(), kernels=("cmsis-nn",)) -> Path:
    """An output folder with these HostResults, failures (name, stage, error) and a manifest."""
    out = tmp_path / "out"
    entries = []
    for m in models:
        folder = out / "models" / m.name
        folder.mkdir(parents=True)
        write_record(folder / HOST_RESULT, m)
        entries.append(ManifestEntry(m.spec, m.cache_key))
    for name, stage, error in failed:
        folder = out / "models" / name
        folder.mkdir(parents=True, exist_ok=True)
        failure = FailedRecord(replace(spec(name, "standard"), alpha=0.5, resolution=32, blocks=2, classes=2),
                               "k", "nano33ble", stage, error)
        write_record(folder / FAILED_RESULT, failure)
        entries.append(ManifestEntry(failure.spec, "k"))
    manifest = RunManifest(models=tuple(entries), board="nano33ble", data=DATA, calibration_samples=200,
                           versions={"tinyml": "0.1.0", "tensorflow": "2.21.0"}, epochs_override=epochs_override,
                           kernels=tuple(kernels), problems=tuple(StageProblem(*p) for p in problems),
                           complete=True)
    write_record(out / RUN_MANIFEST, manifest)
    return out


def write_emulated(out: Path, record: EmulatedRecord) -> None:
    write_record(out / "models" / record.model / emulated_file(record.kernels), record)
