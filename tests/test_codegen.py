"""Generated firmware sources: exact model bytes, alignment, resolver size, sanitising, refusals,
atomic replacement; compiled with g++ (run and compared), arm-none-eabi-g++ (Cortex-M4 object
inspected) and, when TFLM_ARDUINO_DIR names a checkout of the pinned library, against TFLM."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cbuild import ARM_FLAGS, CXX_STD, REPO, WARNINGS, build_host_program, require_tool
from pipeline.codegen import generate as codegen
from pipeline.analysis import tflm_ops
from pipeline.board import Board, load_board
from pipeline.cli import main as cli_main
from pipeline.errors import PipelineError
from pipeline.analysis.fit import ArenaPlan, plan_arena
from pipeline.analysis.model_analysis import ModelAnalysis
from pipeline.analysis.tflite_model import TensorInfo


@dataclass(frozen=True)
class StandInAnalysis:
    """The fields of pipeline.analysis.tflite_model.TfliteAnalysis that code generation reads."""
    name: str
    model_bytes: int
    ops: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    total_macs: int = 123_456
    sha256: str = ""


def fake_model(size: int, seed: int = 1) -> bytes:
    # Codegen never parses the bytes; every byte value appears so the hex dump is fully exercised.
    body = bytes((i * 37 + seed) % 256 for i in range(size))
    return body[:4] + b"TFL3" + body[8:]


def stand_in(data: bytes, *, name="mnv1_sep", ops=("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D",
             "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"), in_name="serving_default_input:0") -> StandInAnalysis:
    return StandInAnalysis(
        name=name, model_bytes=len(data), ops=tuple(ops), sha256=hashlib.sha256(data).hexdigest(),
        inputs=(TensorInfo(in_name, (1, 96, 96, 1), "int8", 0.003921568859368563, -128),),
        outputs=(TensorInfo("Identity:0", (1, 10), "int8", 0.00390625, -128),))


def small_board(**changes) -> Board:
    return dataclasses.replace(load_board(), **changes)


def model_analysis(data: bytes, tflite=None, arena=50_000, source: str = "mnv1_sep.tflite") -> ModelAnalysis:
    """A ModelAnalysis around a stand-in: codegen reads the parsed fields, never the bytes."""
    plan = arena if isinstance(arena, ArenaPlan) else plan_arena(arena)
    return ModelAnalysis(source=source, data=data, tflite=tflite or stand_in(data), arena=None,
                         arena_plan=plan, kernel_plans={}, fits={}, tflm_problem=None)


def generate(tmp_path: Path, data: bytes, analysis=None, arena=50_000, board=None, out="gen",
             source_name="mnv1_sep.tflite", **kw):
    return codegen.generate_firmware_sources(model_analysis(data, analysis, arena, source_name),
                                             board or load_board(), tmp_path / out, **kw)


def array_bytes(model_data_cc: str) -> bytes:
    body = model_data_cc.split("g_model_data[] = {", 1)[1].split("};", 1)[0]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


def macro(header: str, name: str) -> str:
    match = re.search(rf"^#define {name} (.+)$", header, re.M)
    assert match, f"{name} missing"
    return match.group(1)


# --- content ----------------------------------------------------------------------------------

def test_model_array_holds_exactly_the_file_bytes(tmp_path):
    data = fake_model(5_003)  # not a multiple of the 16 bytes per line
    result = generate(tmp_path, data)
    cc = (result.out_dir / "model_data.cc").read_text()
    assert array_bytes(cc) == data
    assert "alignas(16) const unsigned char g_model_data[] = {" in cc
    assert f"const unsigned int g_model_data_len = {len(data)};" in cc
    assert cc.count("alignas(") == 1 and cc.count("g_model_data[]") == 1


def test_metadata_macros(tmp_path):
    data = fake_model(4_000)
    result = generate(tmp_path, data, arena=81_000)
    header = (result.out_dir / "model_data.h").read_text()
    assert macro(header, "TINYML_MODEL_NAME") == '"mnv1_sep"'
    assert macro(header, "TINYML_MODEL_MACS") == "123456ULL"
    assert macro(header, "TINYML_OP_COUNT") == "6"
    assert macro(header, "TINYML_INPUT_SHAPE") == "{1, 96, 96, 1}"
    assert macro(header, "TINYML_INPUT_DIMS") == "4"
    assert macro(header, "TINYML_INPUT_TYPE_INT8") == "1"
    assert macro(header, "TINYML_INPUT_ZERO_POINT") == "-128"
    assert macro(header, "TINYML_OUTPUT_SHAPE") == "{1, 10}"
    assert float(macro(header, "TINYML_INPUT_SCALE").rstrip("f")) == pytest.approx(1 / 255, rel=1e-6)
    reserved = int(macro(header, "TINYML_ARENA_BYTES"))
    assert reserved == result.arena.reserved_bytes
    assert reserved % 16 == 0 and reserved >= 81_000 * 1.02
    assert reserved - 16 < 81_000 + max(1024, 1_620)  # margin is the stated rule, not more
    assert int(macro(header, "TINYML_ARENA_PREDICTED_BYTES")) == 81_000


def test_arena_margin_rule():
    from pipeline.analysis import fit

    small = plan_arena(5_000)
    assert small.margin_bytes >= fit.ARENA_MARGIN_MIN_BYTES and small.reserved_bytes % 16 == 0
    assert small.reserved_bytes == 6_032  # 5,000 + 1,024 rounded up to 16
    big = plan_arena(100_000)
    assert big.reserved_bytes == 102_000 and big.margin_bytes == 2_000
    unmodelled = plan_arena(100_000, unmodelled=True)
    assert unmodelled.reserved_bytes == 110_000
    # never below what AllocateTensors needs while planning
    assert plan_arena(1_000, required_bytes=3_000).reserved_bytes == 3_008
    with pytest.raises(PipelineError):
        plan_arena(0)


def test_generated_files_say_what_generated_them(tmp_path):
    data = fake_model(100)
    result = generate(tmp_path, data, source_name="/some/where/model.tflite")
    import hashlib
    digest = hashlib.sha256(data).hexdigest()
    for path in result.paths:
        text = path.read_text()
        assert text.startswith(codegen.GENERATED_MARKER)
        assert "from model.tflite (sha256 " + digest in text
        assert "/some/where" not in text and str(tmp_path) not in text


def test_op_resolver_size_equals_distinct_op_count(tmp_path):
    data = fake_model(100)
    ops = ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "MEAN", "SOFTMAX")  # a repeat must not count
    analysis = dataclasses.replace(stand_in(data), ops=tuple(dict.fromkeys(ops)))
    result = generate(tmp_path, data, analysis=analysis)
    text = (result.out_dir / "model_ops.h").read_text()
    size = int(re.search(r"MicroMutableOpResolver<(\d+)>", text).group(1))
    calls = re.findall(r"r\.(Add\w+)\(\)", text)
    assert size == len(calls) == result.op_count == 4
    assert calls == ["AddConv2D", "AddDepthwiseConv2D", "AddMean", "AddSoftmax"]
    header = (result.out_dir / "model_data.h").read_text()
    assert int(macro(header, "TINYML_OP_COUNT")) == size


def test_identifiers_and_comments_are_sanitised(tmp_path, tmp_path_factory):
    data = fake_model(64)
    analysis = stand_in(data, name="3-weird model.v2", in_name="in\\put\nname*/é")
    result = generate(tmp_path, data, analysis=analysis)
    header = (result.out_dir / "model_data.h").read_text()
    assert macro(header, "TINYML_MODEL_NAME") == '"m_3_weird_model_v2"'
    assert result.model_name == "m_3_weird_model_v2"
    assert "\\" not in header and header.isascii()
    assert codegen.c_identifier("") == "m_" and codegen.c_identifier("ok_Name9") == "ok_Name9"
    # A backslash ending a // comment would swallow the next #define: prove the header still
    # defines every macro by compiling it.
    probe = tmp_path / "probe.cpp"
    probe.write_text('#include "model_data.h"\nstatic_assert(TINYML_INPUT_DIMS == 4, "");\n'
                     'static_assert(TINYML_OP_COUNT == 6, "");\nint main() { return 0; }\n')
    exe = build_host_program(tmp_path_factory, "sanitised_header", [probe],
                             include_dirs=[result.out_dir])
    assert subprocess.run([str(exe)]).returncode == 0


# --- compiled ---------------------------------------------------------------------------------

def test_host_compiled_array_equals_the_file_and_is_aligned(tmp_path, tmp_path_factory):
    data = fake_model(3_001, seed=7)
    result = generate(tmp_path, data)
    dump = tmp_path / "dump.cpp"
    dump.write_text(
        '#include <stdint.h>\n#include <stdio.h>\n#include "model_data.h"\n'
        "int main() {\n"
        "  fwrite(g_model_data, 1, g_model_data_len, stdout);\n"
        "  return (reinterpret_cast<uintptr_t>(g_model_data) % 16) ? 3 : 0;\n}\n")
    exe = build_host_program(tmp_path_factory, "model_dump", [dump, result.out_dir / "model_data.cc"],
                             include_dirs=[result.out_dir])
    proc = subprocess.run([str(exe)], capture_output=True)
    assert proc.returncode == 0, "g_model_data is not 16-byte aligned"
    assert proc.stdout == data


def test_cortex_m4_object_has_the_array_aligned_and_sized(tmp_path):
    cxx = require_tool("arm-none-eabi-g++")
    nm = require_tool("arm-none-eabi-nm")
    readelf = require_tool("arm-none-eabi-readelf")
    data = fake_model(4_321)
    result = generate(tmp_path, data)
    obj = tmp_path / "model_data.o"
    proc = subprocess.run([cxx, CXX_STD, *WARNINGS, *ARM_FLAGS, "-fdata-sections", "-c",
                           str(result.out_dir / "model_data.cc"), "-o", str(obj)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    symbols = subprocess.run([nm, "-S", "--defined-only", str(obj)], capture_output=True,
                             text=True, check=True).stdout
    sizes = {line.split()[3]: (int(line.split()[1], 16), line.split()[2])
             for line in symbols.splitlines() if len(line.split()) == 4}
    assert sizes["g_model_data"] == (len(data), "R")  # global read-only data (flash), exact size
    assert sizes["g_model_data_len"][1] == "R"
    sections = subprocess.run([readelf, "-SW", str(obj)], capture_output=True, text=True,
                              check=True).stdout
    row = next(line for line in sections.splitlines() if ".rodata.g_model_data " in line + " ")
    assert int(row.split()[-1]) >= 16, row  # section alignment column


# --- refusals ---------------------------------------------------------------------------------

def test_refuses_a_model_over_the_flash_budget(tmp_path):
    data = fake_model(70_000)
    board = small_board(firmware_flash_bytes=load_board().flash_bytes - 65_536)
    with pytest.raises(PipelineError) as err:
        generate(tmp_path, data, board=board)
    assert "70,000 B" in str(err.value) and "65,536 B" in str(err.value)
    assert not (tmp_path / "gen").exists()


def test_refuses_an_arena_over_the_ram_budget(tmp_path):
    data = fake_model(1_000)
    budget = load_board().arena_budget
    with pytest.raises(PipelineError) as err:
        generate(tmp_path, data, arena=budget)  # fits alone, not with the margin
    message = str(err.value)
    reserved = plan_arena(budget).reserved_bytes
    assert f"{reserved:,} B" in message and f"{budget:,} B" in message and "margin" in message
    assert not (tmp_path / "gen").exists()


def test_refuses_ops_the_pinned_library_lacks_and_names_them(tmp_path):
    data = fake_model(1_000)
    analysis = dataclasses.replace(stand_in(data), ops=("CONV_2D", "STABLEHLO_ADD", "CUSTOM:MyOp"))
    with pytest.raises(PipelineError) as err:
        generate(tmp_path, data, analysis=analysis)
    assert "STABLEHLO_ADD" in str(err.value) and "CUSTOM:MyOp" in str(err.value)
    assert "CONV_2D" not in str(err.value).split("op(s)", 1)[1]
    assert not (tmp_path / "gen").exists()


# --- replacement ------------------------------------------------------------------------------

def test_rerun_with_another_model_replaces_the_folder(tmp_path):
    first, second = fake_model(2_000, seed=1), fake_model(900, seed=2)
    generate(tmp_path, first)
    result = generate(tmp_path, second, analysis=stand_in(second, name="other", ops=("FULLY_CONNECTED",)))
    assert array_bytes((result.out_dir / "model_data.cc").read_text()) == second
    assert "MicroMutableOpResolver<1>" in (result.out_dir / "model_ops.h").read_text()
    assert sorted(p.name for p in result.out_dir.iterdir()) == sorted(codegen.GENERATED_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]  # no staging/old folders left


def test_failed_write_leaves_the_previous_sources_intact(tmp_path, monkeypatch):
    first = fake_model(2_000)
    generate(tmp_path, first)
    before = {p.name: p.read_bytes() for p in (tmp_path / "gen").iterdir()}
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(codegen.os, "fsync", failing_fsync)
    with pytest.raises(PipelineError, match="cannot write the generated sources .*disk full"):
        generate(tmp_path, fake_model(3_000, seed=5))
    assert {p.name: p.read_bytes() for p in (tmp_path / "gen").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]


def test_never_replaces_a_folder_with_hand_written_files(tmp_path):
    folder = tmp_path / "gen"
    folder.mkdir()
    (folder / "main.cpp").write_text("int main() {}\n")
    (folder / "model_ops.h").write_text("// my own resolver\n")
    with pytest.raises(PipelineError) as err:
        generate(tmp_path, fake_model(500))
    assert "main.cpp" in str(err.value) and "model_ops.h" in str(err.value)
    assert (folder / "main.cpp").read_text() == "int main() {}\n"
    assert (folder / "model_ops.h").read_text() == "// my own resolver\n"


# --- the pinned TFLM library ------------------------------------------------------------------

def tflm_dir() -> Path:
    value = os.environ.get("TFLM_ARDUINO_DIR")
    if not value:
        pytest.skip("TFLM_ARDUINO_DIR not set: point it at a checkout of "
                    "tensorflow/tflite-micro-arduino-examples@" + tflm_ops.PINNED_TFLM_COMMIT[:12])
    path = Path(value)
    if not (path / "src" / "tensorflow" / "lite" / "micro").is_dir():
        pytest.fail(f"TFLM_ARDUINO_DIR={value} is not a tflite-micro-arduino-examples checkout")
    return path


@pytest.mark.tflm
def test_supported_ops_table_matches_the_pinned_header():
    header = tflm_dir() / "src/tensorflow/lite/micro/micro_mutable_op_resolver.h"
    assert tflm_ops.parse_resolver_header(header.read_text()) == tflm_ops.RESOLVER_METHODS


@pytest.mark.tflm
def test_model_ops_compiles_against_the_pinned_library(tmp_path):
    src = tflm_dir() / "src"
    cxx = require_tool("arm-none-eabi-g++")
    data = fake_model(100)
    every_op = tuple(tflm_ops.RESOLVER_METHODS)  # all 94 methods must exist with these names
    result = generate(tmp_path, data, analysis=dataclasses.replace(stand_in(data), ops=every_op))
    unit = tmp_path / "ops_unit.cpp"
    unit.write_text('#include "model_ops.h"\n#include "model_data.h"\n'
                    "static_assert(TINYML_OP_COUNT == %d, \"\");\n"
                    "TfLiteStatus register_all() {\n  static TinymlOpResolver resolver;\n"
                    "  return tinyml_register_ops(resolver);\n}\n" % len(every_op))
    includes = [src, src / "third_party/flatbuffers/include", src / "third_party/gemmlowp", REPO / "firmware/tflm",
                src / "third_party/ruy", result.out_dir]
    proc = subprocess.run([cxx, CXX_STD, *ARM_FLAGS, "-DTF_LITE_STATIC_MEMORY",
                           *(f"-I{p}" for p in includes), "-c", str(unit), "-o", str(tmp_path / "u.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


# --- real .tflite through the CLI -------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory) -> Path:
    """A small int8 model (conv, depthwise, 1x1 conv, average pool, dense, softmax) from Keras."""
    import keras
    import numpy as np

    from pipeline.model.quantize import convert_keras_int8

    inp = keras.Input((16, 16, 1), batch_size=1)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(8, 1, activation="relu")(x)
    x = keras.layers.AveragePooling2D(8)(x)
    x = keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Reshape((8,))(x)))
    model = keras.Model(inp, x)

    def representative():
        rng = np.random.default_rng(0)
        for _ in range(16):
            yield [rng.random((1, 16, 16, 1), dtype=np.float32)]

    path = tmp_path_factory.mktemp("tiny") / "tiny-sep.tflite"
    path.write_bytes(convert_keras_int8(model, representative))
    return path


def test_cli_generates_from_a_real_model_and_prints_the_pio_commands(tiny_tflite, tmp_path,
                                                                     capsys, tmp_path_factory):
    from pipeline.analysis.tflite_model import analyze_tflite_bytes

    out = tmp_path / "generated"
    assert cli_main(["firmware", str(tiny_tflite), "--out", str(out), "--arena-bytes", "6000"]) == 0
    printed = capsys.readouterr().out
    assert "pio run" in printed and "-e nano33ble -t upload" in printed
    assert f"TINYML_GENERATED_DIR={out.resolve()}" in printed  # non-default folder
    analysis = analyze_tflite_bytes(tiny_tflite.read_bytes(), tiny_tflite.stem)
    data = tiny_tflite.read_bytes()
    assert array_bytes((out / "model_data.cc").read_text()) == data
    header = (out / "model_data.h").read_text()
    assert macro(header, "TINYML_MODEL_NAME") == '"tiny_sep"'
    assert macro(header, "TINYML_INPUT_SHAPE") == "{1, 16, 16, 1}"
    assert macro(header, "TINYML_MODEL_MACS") == f"{analysis.total_macs}ULL"
    calls = re.findall(r"r\.(Add\w+)\(", (out / "model_ops.h").read_text())  # FULLY_CONNECTED takes the project kernel
    assert calls == [tflm_ops.resolver_method(op) for op in analysis.ops]
    assert len(calls) == len(set(analysis.operators))
    # The real model's bytes come back out of a compiled program.
    dump = tmp_path / "dump.cpp"
    dump.write_text('#include <stdio.h>\n#include "model_data.h"\n'
                    "int main() { fwrite(g_model_data, 1, g_model_data_len, stdout); return 0; }\n")
    exe = build_host_program(tmp_path_factory, "real_model_dump", [dump, out / "model_data.cc"],
                             include_dirs=[out])
    assert subprocess.run([str(exe)], capture_output=True).stdout == data


def test_cli_refuses_a_non_tflite_file(tmp_path, capsys):
    bogus = tmp_path / "model.h5"
    bogus.write_bytes(b"\0" * 64)
    assert cli_main(["firmware", str(bogus), "--out", str(tmp_path / "g")]) == 2
    assert ".tflite" in capsys.readouterr().err
