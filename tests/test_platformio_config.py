"""platformio.ini: envs, pins and filters point at what exists; the Renode variant and its tests agree
with the firmware. The real `pio run` needs PlatformIO's registry and GitHub (platform, toolchain,
TFLM library): it runs only with TINYML_PIO_ONLINE=1."""
from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.codegen import generate as codegen
from pipeline.serial_link.protocol import PROTOCOL_VERSION
from pipeline.analysis import tflm_ops
from pipeline.board import load_board

REPO = Path(__file__).resolve().parents[1]
INI = REPO / "platformio.ini"
BOARD_ENV = "env:nano33ble"
RENODE_ENV = "env:nano33ble_renode"
TFLM_GIT = "https://github.com/tensorflow/tflite-micro-arduino-examples.git"


@pytest.fixture(scope="module")
def ini() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.read(INI)
    return parser


def values(ini, section: str, key: str) -> list[str]:
    return ini[section][key].split()


def test_envs_board_and_pinned_platform(ini):
    assert ini["platformio"]["default_envs"] == "nano33ble"
    assert load_board().pio_env == "nano33ble"
    env = ini[BOARD_ENV]
    assert env["board"] == "nano33ble" and env["framework"] == "arduino"
    # An exact release, not a range: builds must not move to a platform nobody has booted.
    assert re.fullmatch(r"(platformio/)?nordicnrf52@\d+\.\d+\.\d+", env["platform"]), env["platform"]


def test_tflm_library_pinned_to_the_commit_the_op_table_describes(ini):
    deps = values(ini, BOARD_ENV, "lib_deps")
    assert deps == [f"{TFLM_GIT}#{tflm_ops.PINNED_TFLM_COMMIT}"]


def test_source_folders_and_filters_exist(ini):
    src_dir = REPO / ini["platformio"]["src_dir"]
    assert src_dir == REPO / "firmware" and src_dir.is_dir()
    assert (REPO / ini["platformio"]["include_dir"]).is_dir()
    for item in values(ini, BOARD_ENV, "build_src_filter"):
        match = re.fullmatch(r"\+<(.+)/>", item)
        assert match, f"filter {item} should select a folder"
        folder = src_dir / match.group(1)
        assert any(folder.glob("*.c*")), f"{folder} holds no sources"
    selected = {re.fullmatch(r"\+<(.+)/>", i).group(1) for i in values(ini, BOARD_ENV, "build_src_filter")}
    assert {"core", "tflm", "ports/nano33ble"} <= selected
    assert not any(s.startswith("ports/qemu") or s == "host" for s in selected)  # no foreign mains
    for flag in values(ini, BOARD_ENV, "build_src_flags"):
        if flag.startswith("-I"):
            assert (REPO / flag[2:]).is_dir(), flag
    for script in values(ini, BOARD_ENV, "extra_scripts"):
        assert (REPO / script.split(":", 1)[-1]).is_file(), script


def test_kernel_folders_of_the_pre_script_exist_in_the_pinned_library(tmp_path, monkeypatch):
    """The -O2 middleware matches source paths by folder: the folders must exist in the library
    (else it silently does nothing). Its behaviour is tested below against a stand-in env."""
    import sys
    import types

    tflm = os.environ.get("TFLM_ARDUINO_DIR")
    if not tflm:
        pytest.skip("needs the TFLM Arduino library: set TFLM_ARDUINO_DIR (see DEVELOPERS.md)")
    script_module = types.ModuleType("SCons.Script")
    script_module.COMMAND_LINE_TARGETS = []
    monkeypatch.setitem(sys.modules, "SCons", types.ModuleType("SCons"))
    monkeypatch.setitem(sys.modules, "SCons.Script", script_module)
    namespace = {"Import": lambda name: None, "env": FakeEnv(tmp_path, targets_dump=True)}
    source = (REPO / "firmware/ports/nano33ble/pio_extra.py").read_text()
    exec(compile(source, "pio_extra.py", "exec"), namespace)
    sources = [str(p) for p in (Path(tflm) / "src").rglob("*.c*")]
    for part in namespace["LIBRARY_KERNEL_DIRS"]:
        assert any(part in path for path in sources), part
    ours = [str(p) for p in (REPO / "firmware").rglob("*.c")]
    for part in namespace["PROJECT_KERNEL_DIRS"]:  # the project's kernels, in this repository
        assert any(part in path for path in ours), part


def resolved_flags(ini, section: str, key: str) -> list[str]:
    """An option's words with PlatformIO's ${section.option} references resolved."""
    words = []
    for word in values(ini, section, key):
        ref = re.fullmatch(r"\$\{([^.}]+)\.([^}]+)\}", word)
        words += resolved_flags(ini, ref.group(1), ref.group(2)) if ref else [word]
    return words


def preprocessed_main(env: str, ini) -> str:
    """firmware/ports/nano33ble/main.cpp through the C preprocessor with the env's -D flags (its
    #include lines left out: the Arduino core is not here)."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("g++ not found on PATH: install it (Debian: g++) to run this test")
    source = (REPO / "firmware/ports/nano33ble/main.cpp").read_text()
    source = "\n".join("" if line.startswith("#include") else line for line in source.splitlines())
    defines = [f for f in resolved_flags(ini, f"env:{env}", "build_src_flags") if f.startswith("-D")]
    proc = subprocess.run([cxx, "-E", "-P", "-x", "c++", *defines, "-"], input=source, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def firmware_choices(text: str) -> dict:
    return {"clock": re.search(r"tinyml::(\w+) g_clock;", text).group(1),
            "serial": re.search(r"SerialSink sink\((\w+)\)", text).group(1),
            "runs": int(re.search(r"config\.runs = (\d+);", text).group(1)),
            "warmup": int(re.search(r"config\.warmup = (\d+);", text).group(1))}


def test_envs_select_the_uart_and_instruction_clock(ini):
    assert ini[RENODE_ENV]["extends"] == BOARD_ENV
    assert firmware_choices(preprocessed_main("nano33ble", ini)) == {
        "clock": "DwtCycleClock", "serial": "Serial", "runs": 10, "warmup": 2}
    assert firmware_choices(preprocessed_main("nano33ble_renode", ini)) == {
        "clock": "RenodeInstructionClock", "serial": "Serial1", "runs": 3, "warmup": 1}


def renode_commands(text: str) -> list[list[str]]:
    """Monitor commands of a .resc: comments and \"\"\" strings (platform descriptions) left out."""
    text = re.sub(r'"""(.*?)"""', '""', text, flags=re.S)
    return [line.split() for line in (l.split("#", 1)[0].strip() for l in text.splitlines())
            if line and not line.startswith(":")]


def robot_tables(text: str) -> dict[str, list[list[str]]]:
    """Robot Framework's space-separated format: *** Section *** headers, cells split by 2+ spaces."""
    tables, current = {}, None
    for line in text.splitlines():
        header = re.fullmatch(r"\*\*\* (.+?) \*\*\*", line.strip())
        if header:
            current = tables.setdefault(header.group(1), [])
        elif current is not None and line.strip() and not line.lstrip().startswith("#"):
            current.append(re.split(r" {2,}|\t", line.rstrip()))
    return tables


def renode_clock_mips(tmp_path_factory) -> tuple[int, int]:
    """(kMips, ticks at micros() = 1000) of the firmware's Renode clock, compiled on the host with
    a stand-in for the Arduino core."""
    from cbuild import build_host_program

    stubs = tmp_path_factory.mktemp("arduino_stub")
    (stubs / "Arduino.h").write_text(
        "#pragma once\n#include <cstdint>\n"
        "struct TinymlStubRegs { uint32_t DEMCR, CYCCNT, CTRL; };\n"
        "inline TinymlStubRegs* tinyml_stub_regs() { static TinymlStubRegs r; return &r; }\n"
        "#define CoreDebug tinyml_stub_regs()\n#define DWT tinyml_stub_regs()\n"
        "#define CoreDebug_DEMCR_TRCENA_Msk 1u\n#define DWT_CTRL_CYCCNTENA_Msk 1u\n"
        "static uint32_t SystemCoreClock = 64000000u;\ninline uint32_t micros() { return 1000u; }\n")
    main = stubs / "mips.cpp"
    main.write_text('#include <cstdio>\n#include "board_clock.h"\nint main() {\n'
                    "  tinyml::RenodeInstructionClock clock;\n"
                    '  std::printf("%u %u\\n", unsigned(tinyml::RenodeInstructionClock::kMips), unsigned(clock.ticks()));\n'
                    "  return 0;\n}\n")
    exe = build_host_program(tmp_path_factory, "renode_clock", [main],
                             include_dirs=[stubs, REPO / "firmware/ports/nano33ble", REPO / "firmware/core"])
    mips, ticks = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    return int(mips), int(ticks)


def test_renode_script_and_suite_match_the_firmware(ini, tmp_path_factory):
    commands = renode_commands((REPO / "tests/renode/nano33ble_benchmark.resc").read_text())
    assert ["machine", "LoadPlatformDescriptionFromString", '""'] in commands
    assert not any(c[0] == "ApplySVD" for c in commands)  # no download at load time: Renode runs offline
    (mips_resc,) = [int(c[2]) for c in commands if c[:2] == ["cpu", "PerformanceInMips"]]
    elf_resc = next(c[0].split("=", 1)[1] for c in commands if c[0].startswith("$elf?="))
    assert elf_resc == "$ORIGIN/../../.pio/build/nano33ble_renode/firmware.elf"
    mips_fw, ticks = renode_clock_mips(tmp_path_factory)
    assert mips_resc == mips_fw and ticks == 1000 * mips_fw  # virtual µs x MIPS = instructions
    tables = robot_tables((REPO / "tests/renode/benchmark.robot").read_text())
    variables = {row[0]: row[1] for row in tables["Variables"] if len(row) > 1}
    assert variables["${ELF}"] == "${CURDIR}/../../.pio/build/nano33ble_renode/firmware.elf"
    assert variables["${UART}"] == "sysbus.uart0"
    start = next(row for row in tables["Test Cases"] if "Wait For Line On Uart" in row and
                 any(cell.startswith(f"TML{PROTOCOL_VERSION} START") for cell in row))
    fields = dict(re.findall(r"(\w+)=([^ \\]+)", next(c for c in start if c.startswith(f"TML{PROTOCOL_VERSION} START"))))
    choices = firmware_choices(preprocessed_main("nano33ble_renode", ini))
    assert fields["clock_hz"] == str(mips_fw * 1_000_000) and fields["unit"] == "instructions"
    assert (int(fields["runs"]), int(fields["warmup"])) == (choices["runs"], choices["warmup"])
    keywords = [row[1] if row[0] == "" else row[0] for row in tables["Keywords"]]
    assert "Next Record Should Be" in keywords


def test_platformio_parses_the_project(ini):
    pio = shutil.which("pio")
    if pio is None:
        pytest.skip("PlatformIO (pio) not on PATH: pip install platformio")
    proc = subprocess.run([pio, "project", "config", "--json-output"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    config = {section: dict(options) for section, options in json.loads(proc.stdout)}
    renode = config[RENODE_ENV]
    board = config[BOARD_ENV]
    assert renode["platform"] == board["platform"] and renode["lib_deps"] == board["lib_deps"]
    assert renode["build_src_flags"][:len(board["build_src_flags"])] == board["build_src_flags"]


def compile_line(log: str, source: str) -> str:
    """The `pio run -v` command line that compiled SOURCE (a path suffix)."""
    lines = [l for l in log.splitlines() if " -c " in l and source in l]
    assert lines, f"no compile line for {source} in the build log"
    return lines[-1]


def own_warnings(log: str, own_dirs: list[Path]) -> list[str]:
    """GCC warnings whose location is a file under OWN_DIRS (library and core warnings are not ours)."""
    found = []
    for line in log.splitlines():
        match = re.match(r"(\S+?):\d+(?::\d+)?: warning: ", line)
        if match:
            path = (REPO / match.group(1)).resolve()
            if any(path.is_relative_to(d) for d in own_dirs):
                found.append(line)
    return found


@pytest.fixture(scope="module")
def pio_work(request, tmp_path_factory) -> Path:
    """The build test's own folder: pytest's cache (git-ignored .pytest_cache), so a second run is
    incremental; a fresh tmp folder when the cache plugin is off."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("pio_build") if cache is not None else tmp_path_factory.mktemp("pio_build")


def forget_checked_objects(env_dir: Path) -> None:
    """Delete the objects whose compile lines the test reads (the project's sources, the generated
    model, one CMSIS-NN kernel): SCons rebuilds a missing target, so this build prints their
    command lines and warnings however much of the folder an earlier run built."""
    for folder in ("src", "tinyml_generated"):
        for obj in (env_dir / folder).rglob("*.o"):
            obj.unlink()
    for obj in env_dir.glob("lib*/Arduino_TensorFlowLite/tensorflow/lite/micro/kernels/cmsis_nn/conv.cpp.o"):
        obj.unlink()


@pytest.mark.parametrize("env", ["nano33ble", "nano33ble_renode"])
def test_pio_build(env, pio_work, tmp_path):
    if os.environ.get("TINYML_PIO_ONLINE") != "1":
        pytest.skip("PlatformIO's registry and GitHub are unreachable here: set TINYML_PIO_ONLINE=1 "
                    "to build (downloads the platform, toolchain and TFLM library, or uses an "
                    "offline PlatformIO core: DEVELOPERS.md; ~10 min per env the first time)")
    pio = shutil.which("pio")
    if pio is None:
        pytest.fail("TINYML_PIO_ONLINE=1 but pio is not on PATH")
    # The build does not parse the model: fixed bytes with a real op list link like a real model.
    # Same bytes in the same folder on every run, rewritten only where they differ: the global
    # include path, and so every object, stays valid for the next run.
    data = bytes(range(256)) * 16
    from test_codegen import model_analysis
    fresh = codegen.generate_firmware_sources(model_analysis(data, arena=60_000), load_board(),
                                              tmp_path / "generated").out_dir
    generated = pio_work / "generated"
    generated.mkdir(exist_ok=True)
    for source in fresh.iterdir():
        if not (generated / source.name).is_file() or (generated / source.name).read_bytes() != source.read_bytes():
            shutil.copyfile(source, generated / source.name)
    # A build folder of the test's own: the user's .pio/build (and their firmware.elf) is never
    # replaced by this stand-in model. No build cache: a cached object prints no compile line.
    build_dir = pio_work / "build"
    forget_checked_objects(build_dir / env)
    run_env = {k: v for k, v in os.environ.items() if k != "PLATFORMIO_BUILD_CACHE_DIR"}
    run_env.update(TINYML_GENERATED_DIR=str(generated), PLATFORMIO_BUILD_DIR=str(build_dir))
    proc = subprocess.run([pio, "run", "-v", "-e", env], cwd=REPO, capture_output=True, text=True,
                          timeout=3600, env=run_env)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert (build_dir / env / "firmware.elf").is_file()
    log = proc.stdout + proc.stderr
    # -O2 reached the CMSIS-NN kernels, the project's own sources kept -Os.
    kernel = compile_line(log, "kernels/cmsis_nn/conv.cpp")
    assert kernel.rfind("-O2") > kernel.rfind("-Os")
    port = compile_line(log, "ports/nano33ble/main.cpp")
    assert "-Os" in port and "-O2" not in port
    # The project's own sources (firmware/, the generated model) compile without a warning.
    assert own_warnings(log, [REPO / "firmware", generated.resolve()]) == []


def test_forget_checked_objects_leaves_the_library_objects(tmp_path):
    kept = [tmp_path / "libd7f/Arduino_TensorFlowLite/tensorflow/lite/micro/kernels/cmsis_nn/add.cpp.o",
            tmp_path / "FrameworkArduino/main.cpp.o", tmp_path / "firmware.elf"]
    gone = [tmp_path / "src/ports/nano33ble/main.cpp.o", tmp_path / "tinyml_generated/model_data.cc.o",
            tmp_path / "libd7f/Arduino_TensorFlowLite/tensorflow/lite/micro/kernels/cmsis_nn/conv.cpp.o"]
    for path in kept + gone:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    forget_checked_objects(tmp_path)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in gone)
    forget_checked_objects(tmp_path / "not-built-yet")  # a first run has nothing to forget


def test_own_warnings_are_those_located_in_the_projects_files(tmp_path):
    log = "\n".join([
        "firmware/ports/nano33ble/main.cpp:40:20: warning: 'kHostWaitMs' defined but not used",
        f"{tmp_path}/gen/model_data.cc:3:1: warning: something",
        ".pio/libdeps/nano33ble/Arduino_TensorFlowLite/src/x.h:7:3: warning: library's, not ours",
        "In file included from firmware/tflm/tflm_runner.cc:2:",
        "firmware/core/stats.cpp:12: note: not a warning",
    ])
    assert own_warnings(log, [REPO / "firmware", tmp_path / "gen"]) == log.splitlines()[:2]


# --- the pre-script, run against a stand-in SCons environment ------------------------------------

class FakeNode:
    def __init__(self, path: str):
        self.path = path

    def srcnode(self):
        return self

    def get_abspath(self):
        return self.path


class FakeEnv(dict):
    def __init__(self, project: Path, targets_dump: bool = False):
        super().__init__(CCFLAGS=["-mcpu=cortex-m4", "-Os", "-g"], CFLAGS=["-std=gnu11"],
                         CXXFLAGS=["-std=gnu++14", "-Os"])
        self.project, self.dump = project, targets_dump
        self.middlewares, self.appended, self.built, self.objects = [], [], [], []
        self.exited = None

    def subst(self, text):
        return text.replace("$PROJECT_DIR", str(self.project))

    def IsIntegrationDump(self):
        return self.dump

    def AddBuildMiddleware(self, callback, pattern=None):
        self.middlewares.append(callback)

    def Append(self, **kw):
        self.appended.append(kw)

    def BuildSources(self, variant, src):
        self.built.append(src)

    def Object(self, node, **overrides):
        self.objects.append((node.path, overrides))
        return ("object", node.path)

    def Exit(self, code):
        self.exited = code
        raise SystemExit(code)


def run_pre_script(env: FakeEnv, monkeypatch, targets=()):
    import sys
    import types
    script_module = types.ModuleType("SCons.Script")
    script_module.COMMAND_LINE_TARGETS = list(targets)
    monkeypatch.setitem(sys.modules, "SCons", types.ModuleType("SCons"))
    monkeypatch.setitem(sys.modules, "SCons.Script", script_module)
    source = (REPO / "firmware/ports/nano33ble/pio_extra.py").read_text()
    exec(compile(source, "pio_extra.py", "exec"), {"Import": lambda name: None, "env": env})


def test_pre_script_builds_the_generated_folder_and_swaps_kernel_flags(tmp_path, monkeypatch):
    from test_codegen import fake_model, model_analysis
    data = fake_model(256)
    generated = codegen.generate_firmware_sources(model_analysis(data, arena=10_000), load_board(),
                                                  tmp_path / "gen").out_dir
    monkeypatch.setenv("TINYML_GENERATED_DIR", str(generated))
    env = FakeEnv(tmp_path)
    run_pre_script(env, monkeypatch)
    assert env.built == [str(generated)] and {"CPPPATH": [str(generated)]} in env.appended
    (middleware,) = env.middlewares
    lib = "/p/.pio/libdeps/nano33ble/Arduino_TensorFlowLite/src"
    kernel = FakeNode(f"{lib}/tensorflow/lite/micro/kernels/cmsis_nn/conv.cpp")
    cmsis = FakeNode(f"{lib}/third_party/cmsis_nn/Source/ConvolutionFunctions/arm_convolve_s8.c")
    other = FakeNode(f"{lib}/tensorflow/lite/micro/micro_interpreter.cpp")
    port = FakeNode(str(REPO / "firmware/ports/nano33ble/main.cpp"))
    assert middleware(env, other) is other and middleware(env, port) is port
    for node in (kernel, cmsis):
        assert middleware(env, node) == ("object", node.path)
    for _, flags in env.objects:
        assert flags["CCFLAGS"] == ["-mcpu=cortex-m4", "-g", "-O2"]
        assert flags["CXXFLAGS"] == ["-std=gnu++14"] and flags["CFLAGS"] == ["-std=gnu11"]
    assert env["CCFLAGS"] == ["-mcpu=cortex-m4", "-Os", "-g"]  # the global env keeps -Os


def test_pre_script_stops_with_a_clear_error_without_generated_sources(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TINYML_GENERATED_DIR", raising=False)
    env = FakeEnv(tmp_path)  # a project without firmware/generated
    with pytest.raises(SystemExit):
        run_pre_script(env, monkeypatch)
    assert env.exited == 1 and "tinyml firmware MODEL.tflite" in capsys.readouterr().err
    cleaning = FakeEnv(tmp_path)
    run_pre_script(cleaning, monkeypatch, targets=["clean"])  # `pio run -t clean` needs no model
    assert cleaning.built == [] and len(cleaning.middlewares) == 1
