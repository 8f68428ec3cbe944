"""Compile C++ for tests: host programs with g++ and Cortex-M4 objects with arm-none-eabi-g++.

Builds go under pytest's session temp dir and are cached per session by their inputs, so several
test modules share one build of, e.g., the fake device.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_DIR = REPO / "firmware" / "core"
HOST_DIR = REPO / "firmware" / "host"

# The mbed core's language level and the warnings we hold our own code to.
CXX_STD = "-std=gnu++14"
WARNINGS = ("-Wall", "-Wextra", "-Werror")
# Flags of the Nano 33 BLE's toolchain (ArduinoCore-mbed) for the portable core.
ARM_FLAGS = (
    "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16",
    "-Os", "-fno-exceptions", "-fno-rtti",
)

_cache: dict[str, Path] = {}


def core_sources() -> list[Path]:
    """The portable core's translation units."""
    return sorted(CORE_DIR.glob("*.cpp"))


def require_tool(name: str) -> str:
    """Full path of a compiler/tool, or skip the test saying what is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found on PATH: install it (Debian: g++ / gcc-arm-none-eabi) to run this test")
    return path


def require_emulator_tools(what: str) -> None:
    """Skip unless the Arm toolchain and QEMU are there; in CI (which installs them) fail instead:
    a missing one there is a broken CI set-up, not a reason to skip."""
    from pipeline.errors import PipelineError
    from pipeline.emulator import toolchain as emulate

    try:
        emulate.require_tools()
    except PipelineError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{what} needs the Arm toolchain and QEMU: {exc}")


def _run(cmd: Sequence[str]) -> None:
    proc = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"compile failed ({' '.join(map(str, cmd))}):\n{proc.stdout}{proc.stderr}")


def _key(kind: str, sources: Sequence[Path], flags: Sequence[str]) -> str:
    digest = hashlib.sha256(kind.encode())
    for source in sources:
        digest.update(str(source).encode())
        digest.update(Path(source).read_bytes())
    digest.update("\0".join(flags).encode())
    return digest.hexdigest()[:16]


def build_host_program(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    sources: Sequence[Path],
    *,
    include_dirs: Sequence[Path] = (CORE_DIR,),
    defines: Sequence[str] = (),
    extra_flags: Sequence[str] = ("-O1",),
) -> Path:
    """Compile and link `sources` with g++ into an executable (cached for the test session)."""
    cxx = require_tool("g++")
    flags = [CXX_STD, *WARNINGS, *extra_flags, *(f"-I{d}" for d in include_dirs), *(f"-D{d}" for d in defines)]
    key = _key("host:" + name, sources, flags)
    if key not in _cache:
        out = tmp_path_factory.mktemp(f"build-{name}") / name
        _run([cxx, *flags, *sources, "-o", out])
        _cache[key] = out
    return _cache[key]


def cross_compile_objects(
    tmp_path_factory: pytest.TempPathFactory,
    sources: Sequence[Path],
    *,
    include_dirs: Sequence[Path] = (CORE_DIR,),
    extra_flags: Sequence[str] = (),
) -> list[Path]:
    """Compile `sources` to Cortex-M4 objects with arm-none-eabi-g++ (cached for the session)."""
    cxx = require_tool("arm-none-eabi-g++")
    flags = [CXX_STD, *WARNINGS, *ARM_FLAGS, *extra_flags, *(f"-I{d}" for d in include_dirs)]
    objects = []
    out_dir = None
    for source in sources:
        key = _key("arm", [source], flags)
        if key not in _cache:
            out_dir = out_dir or tmp_path_factory.mktemp("build-arm")
            obj = out_dir / (Path(source).stem + ".o")
            _run([cxx, *flags, "-c", source, "-o", obj])
            _cache[key] = obj
        objects.append(_cache[key])
    return objects


def fake_device_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host test double firmware/host/fake_device.cpp on the real core (built once a session)."""
    return build_host_program(tmp_path_factory, "fake_device", [*core_sources(), HOST_DIR / "fake_device.cpp"])


def run_fake(binary: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the double with its output on a pipe; stdin closed so it exits instead of idling."""
    return subprocess.run([str(binary), *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
