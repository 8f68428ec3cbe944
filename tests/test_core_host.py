"""The portable benchmark core (firmware/core) compiled on the host with g++ and, when the
toolchain is there, for the Cortex-M4 with the board's flags. Its real output is parsed by
pipeline.serial_link.protocol, so the C++ writer and the Python reader are checked against each other."""
from __future__ import annotations

import subprocess

import pytest

import cbuild
from pipeline.serial_link.protocol import ErrorRecord, LayerRecord, parse_text

OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX")
INVOKE_OVERHEAD_TICKS = 50
MAX_RUNS = 32  # TINYML_MAX_RUNS default in benchmark.h


@pytest.fixture(scope="session")
def core_tests(tmp_path_factory):
    return cbuild.build_host_program(
        tmp_path_factory, "core_tests", [*cbuild.core_sources(), cbuild.HOST_DIR / "core_tests.cpp"])


@pytest.fixture(scope="session")
def fake_device(tmp_path_factory):
    return cbuild.fake_device_binary(tmp_path_factory)


def run_fake(binary, *args: str) -> subprocess.CompletedProcess:
    return cbuild.run_fake(binary, *args)


def fake_layer_ticks(invoke: int, layer: int) -> int:
    """The double's documented timing (firmware/host/fake_device.cpp)."""
    return 1000 * (layer + 1) + 10 * ((7 * invoke + layer) % 5)


def expected_ticks(layers: int, runs: int, warmup: int) -> list[int]:
    return [sum(fake_layer_ticks(k, i) for i in range(layers)) + INVOKE_OVERHEAD_TICKS
            for k in range(warmup, warmup + runs)]


def median(values: list[int]) -> int:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


def test_core_unit_tests_pass(core_tests):
    proc = subprocess.run([str(core_tests)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout
    assert ", 0 failed" in proc.stdout


def test_core_unit_tests_report_a_failure(core_tests):
    proc = subprocess.run([str(core_tests), "--must-fail"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "FAIL " in proc.stdout and ", 1 failed" in proc.stdout


def test_writer_edge_cases_parse_in_python(core_tests):
    proc = subprocess.run([str(core_tests), "--emit"], capture_output=True, text=True, timeout=30)
    result = parse_text(proc.stdout)
    assert result.ok
    assert result.firmware_version == "0.1.0_beta"
    assert result.model == "model_with_spaces__"
    assert result.clock_hz == 4294967295 and result.unit == "instructions"
    assert result.layers == (LayerRecord(0, "CONV_2D", 4294967295),)
    assert (result.summary.ticks_max, result.summary.us_max) == (4294967295, 4294967295)
    assert result.protocol_version == 2
    assert (result.cache.state, result.cache.hits, result.cache.misses) == ("off", 0, 4294967295)
    c = result.counters
    assert (c.state, c.cycles, c.cpi, c.exc, c.sleep, c.lsu, c.fold) == (
        "ok", 4294967295, 0, 1, 2, 3, 4294967295)
    assert result.sampler.period == 255 and result.sampler.overruns == 4294967295
    assert (result.output.bytes, result.output_crc32) == (0, 4294967295)


def test_version_1_writer_sends_no_version_2_records(fake_device):
    result = parse_text(run_fake(fake_device, "--protocol-version", "1").stdout.decode())
    assert result.ok and result.protocol_version == 1
    assert (result.cache, result.counters, result.sampler, result.output) == (None,) * 4


def test_failing_counted_invoke_is_an_error_after_summary(fake_device):
    # warm-up 1 + 4 timed invokes: invoke 5 is the extra one the DWT sampler counts
    proc = run_fake(fake_device, "--fail", "invoke", "--fail-at", "5", "--warmup", "1", "--runs", "4")
    result = parse_text(proc.stdout.decode())
    assert result.summary is not None and result.error == ErrorRecord("invoke_failed", "fake_kernel_failed")
    assert result.cache is not None and result.counters is None


@pytest.mark.parametrize(
    "layers, runs, warmup, extra",
    [
        (3, 5, 1, []),
        (5, 4, 2, []),                                    # even runs: median of the middle two
        (1, 1, 0, []),
        (7, 9, 3, ["--clock-start", "4294960000"]),       # tick counter wraps during the run
        (4, 6, 1, ["--unit", "instructions", "--clock-hz", "25000000"]),
    ],
)
def test_benchmark_output_matches_the_fake_timing(fake_device, layers, runs, warmup, extra):
    proc = run_fake(fake_device, "--layers", str(layers), "--runs", str(runs), "--warmup", str(warmup), *extra)
    assert proc.returncode == 0, proc.stdout
    result = parse_text(proc.stdout.decode("ascii"))
    ticks = expected_ticks(layers, runs, warmup)
    clock_hz = int(extra[extra.index("--clock-hz") + 1]) if "--clock-hz" in extra else 64000000
    assert result.ok and result.model == "fake_model" and result.firmware_version == "0.1.0-host"
    assert (result.runs, result.warmup, result.clock_hz) == (runs, warmup, clock_hz)
    assert result.unit == ("instructions" if "instructions" in extra else "cycles")
    assert (result.arena_size, result.arena_used) == (90112, 82404)
    last = warmup + runs - 1
    assert result.layers == tuple(
        LayerRecord(i, OPS[i % 5], fake_layer_ticks(last, i)) for i in range(layers))
    s = result.summary
    assert (s.runs, s.ticks_min, s.ticks_median, s.ticks_max) == (runs, min(ticks), median(ticks), max(ticks))
    # micros come from truncated readings of the same counter: within 1 us of the exact value
    for us, tick in ((s.us_min, min(ticks)), (s.us_median, median(ticks)), (s.us_max, max(ticks))):
        assert abs(us - tick * 1_000_000 / clock_hz) <= 1


def test_runs_are_clamped_to_the_sample_buffer(fake_device):
    result = parse_text(run_fake(fake_device, "--runs", "1000").stdout.decode())
    assert result.runs == MAX_RUNS and result.summary.runs == MAX_RUNS
    assert parse_text(run_fake(fake_device, "--runs", "0").stdout.decode()).runs == 1


@pytest.mark.parametrize(
    "mode, code, detail",
    [
        ("alloc", "alloc_failed", "fake_arena_too_small:_need_82404_bytes,_have_4096__"),
        ("schema", "schema_mismatch", "model_schema_2_vs_runtime_3"),
        ("input", "input_mismatch", "input_shape_1x96x96x1_int8_expected"),
    ],
)
def test_setup_failure_reports_error_then_done(fake_device, mode, code, detail):
    proc = run_fake(fake_device, "--fail", mode)
    assert proc.returncode == 1
    result = parse_text(proc.stdout.decode())
    assert not result.ok
    assert result.error == ErrorRecord(code, detail)
    assert result.arena_size is None and result.layers == () and result.summary is None


@pytest.mark.parametrize("fail_at", [0, 2, 5])  # in warm-up, first timed, last timed invoke
def test_invoke_failure_reports_error_after_arena(fake_device, fail_at):
    proc = run_fake(fake_device, "--fail", "invoke", "--fail-at", str(fail_at), "--warmup", "2", "--runs", "4")
    result = parse_text(proc.stdout.decode())
    assert result.error == ErrorRecord("invoke_failed", "fake_kernel_failed")
    assert result.arena_used == 82404 and result.summary is None and result.layers == ()


def test_core_cross_compiles_for_cortex_m4_without_heap_or_stdio(tmp_path_factory, capsys):
    objects = cbuild.cross_compile_objects(tmp_path_factory, cbuild.core_sources())
    size_tool = cbuild.require_tool("arm-none-eabi-size")
    nm_tool = cbuild.require_tool("arm-none-eabi-nm")
    sizes = subprocess.run([size_tool, *map(str, objects)], capture_output=True, text=True, check=True).stdout
    with capsys.disabled():
        print("\narm-none-eabi-size of the portable core (-Os, Cortex-M4):\n" + sizes.replace(
            str(objects[0].parent) + "/", ""))
    defined, undefined = set(), set()
    for obj in objects:
        out = subprocess.run([nm_tool, str(obj)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            kind, name = line.split()[-2:]
            (undefined if kind == "U" else defined).add(name)
    # Only compiler/runtime helpers may come from outside: no malloc, new, printf, exceptions.
    allowed = {"memcpy", "memset", "memmove", "strlen"}
    outside = {n for n in undefined - defined if n not in allowed and not n.startswith("__aeabi_")}
    assert outside == set()
    total_text = sum(int(line.split()[0]) for line in sizes.splitlines()[1:])
    # The core (benchmark, protocol, verification session: 4.1 kB in Dec 2026) must stay small next
    # to TFLM's ~120 kB.
    assert 0 < total_text < 6144
