"""The project's int8 kernels (firmware/kernels) against an independent reference: random layers
(odd widths, channel counts that are not a multiple of 4, SAME padding on every border, extreme
zero points, narrow activation ranges, power-of-two scales) with expected outputs from the numpy
implementation of TFLite's quantized arithmetic (tests/kernel_reference.py). The portable C path
runs on the host, the Cortex-M4 DSP path in QEMU; both must match byte for byte and agree with
pipeline.analysis.kernel_plan on which layers they cover. With TFLM_ARDUINO_DIR: real models give
the same outputs with --kernels cmsis-nn and tinyml."""
from __future__ import annotations

import os
from dataclasses import replace
import subprocess
from pathlib import Path

import numpy as np
import pytest

import kernel_reference as ref
import kernel_vectors as kv
from cbuild import require_emulator_tools, require_tool
from pipeline.analysis import kernel_plan
from pipeline import kernel_sets
from pipeline.errors import PipelineError
from pipeline.emulator import build as emu_build, qemu as emu_qemu, stage as emu_stage, toolchain as emu_tools

REPO = Path(__file__).resolve().parents[1]
KERNELS_DIR = REPO / "firmware" / "kernels"
HOST_DIR = REPO / "firmware" / "host"


@pytest.fixture(scope="module")
def cases():
    return kv.make_cases()


@pytest.fixture(scope="module")
def vectors(cases, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kernel-vectors")
    kv.write_header(cases, folder)
    return folder


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith(("CASE", "DONE"))]


def _assert_all_pass(lines: list[str], cases) -> None:
    failures = [line for line in lines if "FAIL" in line]
    assert not failures, failures[:5]
    assert lines[-1] == f"DONE failures=0 cases={len(cases)}"
    assert sum(" ok " in f"{line} " and "not-covered" not in line for line in lines) == \
        sum(c.supported for c in cases)


# --- the reference itself ------------------------------------------------------------------------

def test_reference_rounds_like_tflite():
    # MultiplyByQuantizedMultiplier(x, 2^30, -1) = x / 4 rounded twice: the doubling high multiply
    # rounds x / 2 half up (5 -> 3, -5 -> -2), the divide by 2 half away from zero (3 -> 2, -2 -> -1)
    acc = np.array([6, -6, 2, -2, 5, -5, 7, -7])
    out = ref.multiply_by_quantized_multiplier(acc, np.full(8, 1 << 30), np.full(8, -1))
    assert out.tolist() == [2, -2, 1, -1, 2, -1, 2, -2]
    assert ref.same_padding(96, 3, 2) == (48, 0) and ref.same_padding(5, 3, 1) == (5, 1)


def test_quantize_multiplier_is_tflites():
    assert kernel_plan.quantize_multiplier(0.5) == (1 << 30, 0)
    assert kernel_plan.quantize_multiplier(0.25) == (1 << 30, -1)
    assert kernel_plan.quantize_multiplier(0.75) == (1610612736, 0)
    assert kernel_plan.quantize_multiplier(2.0 ** -40) == (0, 0)
    significand, shift = kernel_plan.quantize_multiplier(0.0123)
    assert abs(significand * 2.0 ** (shift - 31) - 0.0123) < 1e-11


def test_vectors_cover_the_awkward_cases(cases):
    covered = [c for c in cases if c.supported]
    assert any(c.kind == kv.DEPTHWISE and c.x.shape[2] % 4 for c in covered)
    assert any(c.x.shape[1] % 2 for c in covered)
    assert any(c.pad[0] > 0 and c.pad[1] > 0 for c in covered)
    assert any(c.stride == (2, 2) for c in covered) and any(c.stride == (1, 1) for c in covered)
    assert {-128, 127} <= {c.input_zp for c in covered}
    assert any(c.act != (-128, 127) for c in covered)
    assert any(c.kind == kv.SMALLK and c.x.shape[2] == 3 for c in covered)
    pointwise = [c for c in covered if c.kind == kv.POINTWISE]
    assert any(c.x.shape[2] % 4 for c in pointwise) and any(c.out_c % 4 for c in pointwise)
    assert any((c.x.shape[0] * c.x.shape[1]) % 2 for c in pointwise)
    assert {-128, 127} <= {c.input_zp for c in pointwise}
    # the 1x1 kernel's exact requantization: no right shift, accumulators beyond 2^30
    assert any((c.shift == 0).any() for c in pointwise)
    assert any(c.bias is not None and (np.abs(c.bias.astype(np.int64)) >= (1 << 30) - 1000).any()
               for c in pointwise)
    assert any(not c.supported and c.kind == kv.POINTWISE for c in cases)
    # the 1x1 kernel runs the shapes its cost rule gives CMSIS-NN too; chunks of 256 input
    # channels, one output channel, multipliers below 2^30 (the exact requantization)
    assert any(c.supported and not c.covered and c.kind == kv.POINTWISE for c in cases)
    assert any(c.x.shape[2] > 512 and c.x.shape[2] % 4 for c in pointwise)
    assert any(c.out_c == 1 for c in pointwise) and any(c.out_c == 2 for c in pointwise)
    assert any((c.multiplier < (1 << 30)).any() for c in pointwise)
    # six-channel blocks (8 pixels or more, 6 or more output channels) with each clamp
    six = [c for c in pointwise if c.covered and c.out_hw[0] * c.out_hw[1] >= 8 and c.out_c >= 6]
    assert {(-128, 127), (-128, 40), (-90, 60)} <= {c.act for c in six}
    assert {(c.x.shape[2] + 3) // 4 % 4 for c in six if c.x.shape[2] <= 256} == {0, 1, 2, 3}
    assert any(not c.covered for c in cases)
    # tinyml_conv_s8: odd tap counts (K % 4), odd channel counts, 1-D maps, strided 1x1, both
    # requantizations, refused stride-1 1x1 and left shifts
    conv = [c for c in covered if c.kind == kv.CONV_ANY]
    taps = {int(np.prod(c.filt.shape[1:])) % 4 for c in conv}
    assert taps == {0, 1, 2, 3} and any(c.out_c % 2 for c in conv)
    assert any(c.x.shape[0] == 1 and c.filt.shape[1] == 1 for c in conv)
    assert any(c.filt.shape[1:3] == (1, 1) and c.stride != (1, 1) for c in conv)
    assert any((c.out_hw[0] * c.out_hw[1]) % 2 for c in conv)
    assert any((c.shift == 0).any() for c in conv) and any((c.shift < -1).all() for c in conv)
    refused = [c for c in cases if c.kind == kv.CONV_ANY and not c.covered]
    assert any(c.filt.shape[1:3] == (1, 1) and c.stride == (1, 1) for c in refused)
    assert any((c.shift > 0).any() for c in refused)
    # outputs spread over the int8 range: rounding decisions are visible
    spread = np.median([len(np.unique(c.expected())) for c in covered])
    assert spread > 8


def test_kernel_plan_mirrors_the_c_predicates(cases):
    """The C driver checks each case's `covered` flag against the kernels' predicates; here the
    same flag must come out of pipeline.analysis.kernel_plan's mirror."""
    for case in cases:
        if case.kind == kv.DEPTHWISE_ANY:  # the adapter may try the 3x3 or small-k kernel first
            reason = kernel_plan.any_depthwise_reason(
                (1, *case.x.shape), (1, *case.filt.shape), (1, *case.out_hw, case.out_c), case.stride,
                case.shift.tolist(), case.bias)
            assert (reason == "") == case.covered, (case.x.shape, case.filt.shape, case.stride, reason)
            if case.covered:
                kernel, _ = kernel_plan.layer_reason(
                    "DEPTHWISE_CONV_2D", (1, *case.x.shape), (1, *case.filt.shape),
                    (1, *case.out_hw, case.out_c), case.stride, (1, 1), ("int8",) * 3 + ("int32",),
                    case.shift.tolist(), case.bias)
                assert kernel != kernel_sets.CMSIS_NN
            continue
        if case.kind == kv.DEPTHWISE:
            op, filt = "DEPTHWISE_CONV_2D", (1, 3, 3, case.x.shape[2])
        else:
            op, filt = "CONV_2D", case.filt.shape
        kernel, reason = kernel_plan.layer_reason(
            op, (1, *case.x.shape), filt, (1, *case.out_hw, case.out_c), case.stride, (1, 1),
            ("int8", "int8", "int8", "int32"), case.shift.tolist(), case.bias)
        if case.kind == kv.POINTWISE and case.supported and not case.covered:  # the cost rule
            assert kernel == kernel_sets.CMSIS_NN and "cost rule" in reason, reason
        if case.covered:
            assert kernel != kernel_sets.CMSIS_NN, (case.shift, reason)
        elif case.kind != kv.CONV_ANY:  # tinyml_conv_s8, tried last, may take what others refuse
            assert kernel != KIND_KERNELS[case.kind], (case.shift, reason)
        if case.kind == kv.CONV_ANY:  # its own predicate, whatever the kernels before it say
            reason = kernel_plan.conv_reason(case.filt.shape, case.stride, case.shift.tolist())
            assert (reason == "") == case.covered, (case.filt.shape, case.stride, case.shift, reason)
            earlier = (kernel_plan.SMALLK_KERNEL, kernel_plan.POINTWISE_KERNEL)
            assert kernel in ((kernel_plan.CONV_KERNEL, *earlier) if case.covered else
                              (kernel_sets.CMSIS_NN, *earlier)), kernel


KIND_KERNELS = {kv.DEPTHWISE: kernel_plan.DEPTHWISE_KERNEL, kv.SMALLK: kernel_plan.SMALLK_KERNEL,
                kv.POINTWISE: kernel_plan.POINTWISE_KERNEL, kv.CONV_ANY: kernel_plan.CONV_KERNEL}


# --- the kernels: portable C on the host, DSP path in QEMU -----------------------------------------

def test_portable_kernels_match_the_reference(vectors, cases, tmp_path):
    gcc = require_tool("gcc")
    exe = tmp_path / "kernel_tests"
    build = subprocess.run(
        [gcc, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-DTINYML_KERNELS_PORTABLE",
         f"-I{KERNELS_DIR}", f"-I{HOST_DIR}", f"-I{vectors}", *sorted(KERNELS_DIR.glob("*.c")),
         str(HOST_DIR / "kernel_tests_host.c"), "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    _assert_all_pass(_lines(proc.stdout), cases)
    assert proc.returncode == 0


@pytest.fixture(scope="module")
def qemu_kernel_run(vectors, tmp_path_factory) -> list[str]:
    require_emulator_tools("the DSP-path test")
    tree = tmp_path_factory.mktemp("kernel-qemu")
    emu_build._run_step(["cmake", "-S", str(emu_build.port_dir()), "-B", str(tree), "-G", "Ninja",
                   f"-DCMAKE_TOOLCHAIN_FILE={emu_build.toolchain_file()}",
                   f"-DTINYML_KERNEL_VECTORS_DIR={vectors}"], "configure", 300)
    emu_build.build_target(tree, "qemu_kernel_tests")
    proc = subprocess.run(
        ["qemu-system-arm", "-M", emu_qemu.QEMU_MACHINE, "-nographic", "-monitor", "none",
         "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
         "-serial", "stdio", "-kernel", str(tree / "qemu_kernel_tests.elf")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return _lines(proc.stdout)


def test_dsp_kernels_match_the_reference_in_qemu(qemu_kernel_run, cases):
    _assert_all_pass(qemu_kernel_run, cases)


def test_dsp_kernels_use_the_dsp_extension(qemu_kernel_run, cases):
    # The MobileNet-shaped cases (first four) take well under CMSIS-NN's 9.4 / 13.5
    # instructions per MAC (issue 11); the figures themselves are benchmarks/kernels.py's.
    for line in qemu_kernel_run[:4]:
        fields = dict(f.split("=") for f in line.split() if "=" in f)
        assert int(fields["ticks"]) < 8 * int(fields["macs"]), line
    # The MobileNet pointwise case (the first 1x1 one, 12x12x64 -> 64) at about 0.95 instructions
    # per MAC (CMSIS-NN: 2.3).
    index = next(i for i, case in enumerate(cases) if case.kind == kv.POINTWISE)
    fields = dict(f.split("=") for f in qemu_kernel_run[index].split() if "=" in f)
    assert int(fields["ticks"]) < 1.0 * int(fields["macs"]), qemu_kernel_run[index]
    # tinyml_conv_s8's fixed cases (kernel_vectors.conv_any_fixed_cases, in order) well under what
    # CMSIS-NN takes for such layers in whole models (benchmarks/kernels.py, instructions per MAC):
    # 3x3, 1xK and Kx1 convs 1.9-3.0, strided 1x1 shortcuts 3.3-5.0, a 5x5 first conv 3.6-4.7
    first = next(i for i, case in enumerate(cases) if case.kind == kv.CONV_ANY)
    for offset, bound in enumerate((1.6, 1.6, 1.6, 1.6, 1.6, 2.5, 3.0, 3.0)):
        line = qemu_kernel_run[first + offset]
        fields = dict(f.split("=") for f in line.split() if "=" in f)
        assert int(fields["ticks"]) < bound * int(fields["macs"]), (offset, line)


# --- code generation --------------------------------------------------------------------------------

def test_resolver_registers_the_project_kernels_only_when_asked():
    assert kernel_sets.registration_argument("CONV_2D", "cmsis-nn") == ""
    assert kernel_sets.registration_argument("CONV_2D", "tinyml") == "tinyml::Register_CONV_2D()"
    assert kernel_sets.registration_argument("SOFTMAX", "tinyml") == ""
    # Both sets register the reference-exact FULLY_CONNECTED/MEAN/MUL/RELU6; only tinyml the convs.
    assert kernel_sets.resolver_includes("cmsis-nn") == '#include "tinyml_ref_ops_registrations.h"\n'
    assert "tinyml_kernel_registrations.h" in kernel_sets.resolver_includes("tinyml")
    assert kernel_sets.registration_argument("FULLY_CONNECTED", "cmsis-nn") == "tinyml::Register_FULLY_CONNECTED()"
    assert kernel_sets.replacement_call("MEAN") == "tinyml::UseReferenceMean(r)"
    assert kernel_sets.replacement_call("CONV_2D") is None
    assert kernel_sets.result_file_name("emulated.json", "tinyml") == "emulated_tinyml.json"
    assert kernel_sets.result_file_name("emulated.json", "cmsis-nn") == "emulated.json"
    with pytest.raises(PipelineError, match="unknown kernel set 'arm'"):
        kernel_sets.check_kernels("arm")


# --- real models with TFLM: both kernel sets give the same outputs ---------------------------------

def _tflm_dir() -> str:
    path = os.environ.get(emu_tools.TFLM_ENV)
    if not path:
        pytest.skip(f"{emu_tools.TFLM_ENV} not set: comparing kernel sets needs a local checkout of "
                    "tensorflow/tflite-micro-arduino-examples (see DEVELOPERS.md)")
    require_emulator_tools("the DSP-path test")
    return path


MODELS = [Path(p) for p in (os.environ.get("TINYML_KERNEL_CHECK_MODELS") or "").split(os.pathsep) if p]


@pytest.fixture(scope="module")
def every_kernel_path_model(tmp_path_factory) -> Path:
    """A small int8 MobileNet-like net built here, whose layers each project kernel covers: a
    one-channel 3x3 first conv, depthwise 3x3 at strides 1 and 2, pointwise 1x1, a standard 3x3,
    depthwise 5x5 and a depthwise 3x3 with a channel multiplier of 2 (the any-size depthwise kernel)."""
    import suite_models

    keras = suite_models._keras()
    inputs = keras.Input((24, 24, 1), batch_size=1)
    x = keras.layers.ReLU(6.0)(keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs))
    for stride, channels in ((1, 16), (2, 24)):
        x = keras.layers.ReLU(6.0)(keras.layers.DepthwiseConv2D(3, strides=stride, padding="same")(x))
        x = keras.layers.ReLU(6.0)(keras.layers.Conv2D(channels, 1)(x))
    x = keras.layers.ReLU(6.0)(keras.layers.Conv2D(16, 3, padding="same")(x))  # tinyml_conv_s8
    x = keras.layers.ReLU(6.0)(keras.layers.DepthwiseConv2D(5, padding="same")(x))
    x = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = keras.layers.Flatten()(keras.layers.AveragePooling2D(6)(x))
    model = keras.Model(inputs, keras.layers.Dense(10)(x))  # logits: a softmax of a random net saturates
    path = tmp_path_factory.mktemp("kernels") / "every_kernel_path.tflite"
    path.write_bytes(suite_models.convert(model, float_io=False))
    return path


def _compare_kernel_sets(tflite: Path, tflm: str) -> None:
    from pipeline.analysis.model_analysis import analyze_file
    from pipeline.board import load_board
    from pipeline.emulator.output_check import check_outputs

    analysis = analyze_file(tflite, [load_board()])
    cmsis = check_outputs(analysis, "cmsis-nn", Path(tflm))
    ours = check_outputs(analysis, "tinyml", Path(tflm))
    assert [c.output_hex for c in ours] == [c.output_hex for c in cmsis]
    if len({c.output_hex for c in cmsis}) == 1:  # e.g. a saturated softmax: proves nothing
        pytest.skip(f"{tflite.name}: the check inputs all give output {cmsis[0].output_hex}, so "
                    "equal outputs say nothing about the kernels")


@pytest.mark.tflm
def test_both_kernel_sets_give_identical_outputs_and_arena(every_kernel_path_model):
    """The project kernels run every layer of the model built here, with outputs equal to
    CMSIS-NN's on the check inputs and the same arena (their buffers live on the stack)."""
    from pipeline.board import load_board
    from pipeline.driver import emulate_path

    tflm = _tflm_dir()
    _compare_kernel_sets(every_kernel_path_model, tflm)
    cmsis, ours = (emulate_path(every_kernel_path_model, tflm, kernels=k, runs=1, warmup=0)
                   for k in ("cmsis-nn", "tinyml"))
    assert ours.arena_used_bytes == cmsis.arena_used_bytes
    conv_kernels = {layer.kernel for layer in ours.layers if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D")}
    assert conv_kernels == {"tinyml_conv_smallk_s8", "tinyml_dwconv3x3_s8", "tinyml_conv1x1_s8",
                            "tinyml_conv_s8", "tinyml_dwconv_s8"}
    # Linking the project's kernels moves no other layer's code (they link last: mps2_an386.ld), so
    # the layers CMSIS-NN runs in both builds get the same fetch timing (cache off: equal cycles);
    # with the cache on they differ at most by what the previous layer left in it (one refill).
    same = [(a, b) for a, b in zip(cmsis.layers, ours.layers)
            if a.op not in ("CONV_2D", "DEPTHWISE_CONV_2D") and a.estimated_cycles and b.estimated_cycles]
    if cmsis.estimated_cycles is not None:
        memory = load_board().memory
        refill = memory.cache_bytes // memory.cache_line_bytes * memory.cache_miss_penalty
        assert same and all(a.estimated_cycles.cache_off == b.estimated_cycles.cache_off for a, b in same), same
        assert all(abs(a.estimated_cycles.cache_on - b.estimated_cycles.cache_on) <= refill for a, b in same), same


@pytest.mark.tflm
@pytest.mark.skipif(not MODELS, reason="set TINYML_KERNEL_CHECK_MODELS to more .tflite files to compare")
@pytest.mark.parametrize("tflite", MODELS, ids=lambda p: p.stem)
def test_both_kernel_sets_give_identical_outputs_on_given_models(tflite):
    """Models from TINYML_KERNEL_CHECK_MODELS (path-separated .tflite files)."""
    _compare_kernel_sets(tflite, _tflm_dir())


# Chains of 1x1 convolutions: each layer's input channels are the previous layer's output
# channels, so one chain gives many (in_c, out_c) pairs; few output channels (where CMSIS-NN's 2x2
# blocking fares well) next to many, in_c 1 to 300, at 1x1, square and odd rectangular maps.
POINTWISE_CHAIN_INPUT = 48
POINTWISE_CHAIN = (6, 48, 2, 96, 3, 16, 1, 64, 4, 128, 8, 256, 5, 32, 12, 300, 7)
POINTWISE_MAPS = ((1, 1), (2, 2), (3, 3), (5, 3), (1, 6), (7, 7))


def pointwise_chain_model(h: int, w: int):
    import suite_models

    keras = suite_models._keras()
    inputs = keras.Input((h, w, POINTWISE_CHAIN_INPUT), batch_size=1)
    x = inputs
    for i, channels in enumerate(POINTWISE_CHAIN):  # ReLU and none: the clamped and full-range paths
        x = keras.layers.Conv2D(channels, 1, activation="relu" if i % 3 else None,
                                kernel_initializer="he_normal")(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(x)))
    return suite_models.convert(model, float_io=False)


@pytest.mark.tflm
@pytest.mark.parametrize("shape", POINTWISE_MAPS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pointwise_layers_never_take_more_instructions_than_cmsis_nn(shape, tmp_path):
    """Every 1x1 layer of a chain, measured in QEMU with both kernel sets: the layers the cost rule
    (tinyml_conv1x1_s8_covers, mirrored by kernel_plan.pointwise_wins) gives the project kernel
    take no more instructions than CMSIS-NN's; the others run CMSIS-NN's kernel behind the
    adapter, whose decision (the tensors' look-ups and parameters, the rule, the small-k kernel's
    predicate) costs about 440 instructions in QEMU."""
    from pipeline.driver import emulate_path

    tflm = _tflm_dir()
    path = tmp_path / f"pointwise_chain_{shape[0]}x{shape[1]}.tflite"
    path.write_bytes(pointwise_chain_model(*shape))
    cmsis, ours = (emulate_path(path, tflm, kernels=k, runs=1, warmup=0) for k in ("cmsis-nn", "tinyml"))
    pixels = shape[0] * shape[1]
    in_c = (POINTWISE_CHAIN_INPUT, *POINTWISE_CHAIN)
    convs = [(a, b) for a, b in zip(cmsis.layers, ours.layers) if a.op == "CONV_2D"]
    assert len(convs) == len(POINTWISE_CHAIN)
    slower, routed = [], 0
    for (theirs, mine), c, k in zip(convs, in_c, POINTWISE_CHAIN):
        # a 1x1 layer the rule declines goes to CMSIS-NN, not on to the small-k kernel
        wins = kernel_plan.pointwise_wins(pixels, c, k)
        assert mine.kernel == (kernel_plan.POINTWISE_KERNEL if wins else kernel_sets.CMSIS_NN)
        if mine.kernel != kernel_sets.CMSIS_NN:
            if mine.instructions > theirs.instructions:
                slower.append((pixels, c, k, mine.kernel, mine.instructions, theirs.instructions))
        else:
            routed += 1
            assert mine.instructions <= theirs.instructions + 500, (c, k, mine, theirs)
    assert not slower, slower
    assert routed < len(convs)  # the project kernel takes some layers of every map


# --- the report's side-by-side section ---------------------------------------------------------------

def test_report_shows_both_kernel_sets_side_by_side():
    from pipeline.records import EmulatedLayer, ModelResults
    from pipeline.report.kernels import kernels_section
    from results_fixtures import emulated, result

    def record(kernels, instructions, crc, flash, dw, kernel_names):
        layers = (EmulatedLayer(0, "CONV_2D", instructions - dw - 2, "conv", 1, kernel=kernel_names[0]),
                  EmulatedLayer(1, "DEPTHWISE_CONV_2D", dw, "depthwise", 100, kernel=kernel_names[1]),
                  EmulatedLayer(2, "CONV_2D", 1, "pointwise", 899, kernel=kernel_names[2]),
                  EmulatedLayer(3, "SOFTMAX", 1, "other", None, kernel="cmsis-nn"))
        return replace(emulated("m", ["CONV_2D"], [instructions], kernels=kernels), layers=layers, macs=1000,
                       output_crc32=crc, text_bytes=flash - 200)

    a = record("cmsis-nn", 3000, 0xABCD, 150_000, 940, ("cmsis-nn",) * 3)
    b = record("tinyml", 2000, 0xABCD, 158_000, 400, ("tinyml_conv_smallk_s8", "tinyml_dwconv3x3_s8", "cmsis-nn"))
    host = result("m", "separable")
    models = [ModelResults("m", host=host, emulated={"cmsis-nn": a, "tinyml": b}),
              ModelResults("only_cmsis", host=result("only_cmsis", "separable"), emulated={"cmsis-nn": a})]
    text = "\n".join(kernels_section(models))
    assert "| m | 1,000 | 3,000 | 3.000 | 2,000 | 2.000 | 1.500 | identical | 150,000 | 158,000 | 8,000 |" in text
    assert "9.40 → 4.00" in text and "only_cmsis" not in text
    assert "tinyml_conv_smallk_s8 1 (#0); tinyml_dwconv3x3_s8 1 (#1); cmsis-nn 1 (#2)" in text
    models[0].emulated["tinyml"] = replace(b, output_crc32=0x1234)
    assert "DIFFER" in "\n".join(kernels_section(models))
    assert kernels_section(models[1:]) == []


def test_emulate_json_names_the_kernel_set_and_each_layers_kernel():
    from pipeline.records import EmulatedLayer, to_plain
    from results_fixtures import emulated

    record = replace(emulated("m", ["CONV_2D"], [10], kernels="tinyml"),
                     layers=(EmulatedLayer(0, "DEPTHWISE_CONV_2D", 10, "depthwise", 9, kernel="tinyml_dwconv3x3_s8"),))
    data = to_plain(record)
    assert data["kernels"] == "tinyml" and "output_crc32" in data
    assert data["layers"][0]["kernel"] == "tinyml_dwconv3x3_s8"


def test_generated_resolver_of_each_kernel_set():
    from test_codegen import fake_model, stand_in
    from pipeline.codegen import generate as codegen

    data = fake_model(256)
    analysis = stand_in(data)
    from pipeline.analysis.fit import plan_arena
    arena = plan_arena(10_000)
    default = codegen.render_sources(analysis, data, arena, "m", "m.tflite")["model_ops.h"]
    ours = codegen.render_sources(analysis, data, arena, "m", "m.tflite", "tinyml")["model_ops.h"]
    assert "tinyml::Register_CONV_2D" not in default and "AddDepthwiseConv2D()" in default
    assert '#include "tinyml_kernel_registrations.h"' in ours
    assert "r.AddConv2D(tinyml::Register_CONV_2D())" in ours
    assert "r.AddDepthwiseConv2D(tinyml::Register_DEPTHWISE_CONV_2D())" in ours
    assert "r.AddSoftmax()" in ours


def test_one_channel_depthwise_with_a_multiplier_is_the_small_k_convolution():
    """The converter writes a grayscale first layer as DEPTHWISE_CONV_2D with a multiplier
    (TFLM's person detection): the adapter transposes its filter for the small-k kernel."""
    args = dict(stride=(2, 2), dilation=(1, 1), dtypes=("int8", "int8", "int8", "int32"),
                shifts=[-8] * 8, bias=np.zeros(8, np.int32))
    kernel, _ = kernel_plan.layer_reason("DEPTHWISE_CONV_2D", (1, 96, 96, 1), (1, 3, 3, 8),
                                         (1, 48, 48, 8), **args)
    assert kernel == kernel_plan.SMALLK_KERNEL
    # Over the small-k kernel's 1024 B: the any-size depthwise kernel, its output channels in passes.
    kernel, reason = kernel_plan.layer_reason("DEPTHWISE_CONV_2D", (1, 96, 96, 1), (1, 3, 3, 200),
                                              (1, 48, 48, 200), **{**args, "shifts": [-8] * 200})
    assert kernel == kernel_plan.ANY_DEPTHWISE_KERNEL, reason
    kernel, reason = kernel_plan.layer_reason("DEPTHWISE_CONV_2D", (1, 96, 96, 1), (1, 17, 11, 8),
                                              (1, 48, 48, 8), **args)
    assert kernel == kernel_sets.CMSIS_NN and "1024 B" in reason and "17x11" in reason
    # Two or more input channels with a multiplier: the any-size depthwise kernel.
    kernel, reason = kernel_plan.layer_reason("DEPTHWISE_CONV_2D", (1, 96, 96, 2), (1, 3, 3, 8),
                                              (1, 48, 48, 8), **args)
    assert kernel == kernel_plan.ANY_DEPTHWISE_KERNEL, reason


def test_any_depthwise_kernel_takes_other_sizes_strides_and_multipliers():
    args = dict(dilation=(1, 1), dtypes=("int8", "int8", "int8", "int32"), bias=None)
    for shape, filt, out, stride in (
            ((1, 24, 24, 48), (1, 5, 5, 48), (1, 24, 24, 48), (1, 1)),
            ((1, 12, 12, 32), (1, 7, 7, 32), (1, 6, 6, 32), (2, 2)),
            ((1, 12, 12, 16), (1, 3, 3, 32), (1, 12, 12, 32), (1, 1)),
            ((1, 98, 1, 64), (1, 9, 1, 64), (1, 98, 1, 64), (1, 1)),  # T x 1: taken as 1 x T
            ((1, 98, 1, 64), (1, 9, 1, 64), (1, 49, 1, 64), (2, 1)),
            ((1, 9, 9, 8), (1, 5, 5, 8), (1, 3, 9, 8), (3, 1))):  # row stride 3: any
        kernel, reason = kernel_plan.layer_reason("DEPTHWISE_CONV_2D", shape, filt, out, stride,
                                                  shifts=[-8] * filt[3], **args)
        assert kernel == kernel_plan.ANY_DEPTHWISE_KERNEL, (shape, filt, reason)
    for shape, filt, out, shifts, why in (
            ((1, 1, 2100, 4), (1, 1, 3, 4), (1, 1, 2100, 4), [-8] * 4, "stack buffers"),
            ((1, 20, 20, 4), (1, 17, 17, 4), (1, 20, 20, 4), [-8] * 4, "17x17"),
            ((1, 98, 2, 64), (1, 9, 1, 64), (1, 98, 2, 64), [-8] * 64, "k_w >= 2"),  # 9x1, 2 columns
            ((1, 9, 9, 8), (1, 3, 3, 8), (1, 9, 3, 8), [-8] * 8, "column stride 3"),
            ((1, 8, 8, 4), (1, 5, 5, 4), (1, 8, 8, 4), [-24] * 4, "over 23"),
            ((1, 8, 8, 4), (1, 5, 5, 4), (1, 8, 8, 4), [0] * 4, "no right shift")):
        stride = (1, 3) if "stride" in why else (1, 1)
        kernel, reason = kernel_plan.layer_reason("DEPTHWISE_CONV_2D", shape, filt, out, stride,
                                                  shifts=shifts, **args)
        assert (kernel == kernel_sets.CMSIS_NN) == bool(why) and why in reason, (shape, filt, reason)
