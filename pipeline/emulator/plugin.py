"""Executed instructions by timing class, per layer, from QEMU: builds the project's TCG plugin
(firmware/qemu_plugin, host gcc, Debian's qemu-system-arm 7.2 API), finds the firmware's trace
marks in the ELF's symbol table, and reads the counts the plugin writes for one invoke.

The plugin only counts; pipeline/perf/cycles.py turns counts into Cortex-M4 cycles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from pipeline.emulator.qemu import QEMU_MACHINE
from pipeline.errors import PipelineError
from pipeline.perf.counts import CacheGeometry, ClassCounts, InvokeClassCounts
from pipeline.project import firmware_dir

PLUGIN_SOURCES = ("insn_classes.c", "thumb_classes.c")
PLUGIN_HEADERS = ("qemu_plugin_api.h", "thumb_classes.h")
OUTPUT_FORMAT = "tinyml-insn-classes-2"
TRACE_MARKS = (
    "tinyml_trace_invoke_begin",
    "tinyml_trace_invoke_end",
    "tinyml_trace_layer_begin",
    "tinyml_trace_layer_end",
)


class PluginUnavailable(Exception):
    """The estimate cannot be made here (no host compiler, QEMU without plugins, ...)."""


def build_plugin(build_dir: Path) -> Path:
    """Compiles the plugin with the host C compiler into build_dir (only when a source changed)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise PluginUnavailable("no host C compiler (gcc) to build the QEMU plugin")
    library = build_dir / "libinsn_classes.so"
    source_dir = firmware_dir() / "qemu_plugin"
    sources = [source_dir / name for name in PLUGIN_SOURCES + PLUGIN_HEADERS]
    if library.is_file() and all(library.stat().st_mtime >= s.stat().st_mtime for s in sources):
        return library
    build_dir.mkdir(parents=True, exist_ok=True)
    command = [compiler, "-O2", "-Wall", "-shared", "-fPIC", "-o", str(library)] + [
        str(source_dir / name) for name in PLUGIN_SOURCES
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise PluginUnavailable(f"the QEMU plugin did not compile: {done.stderr.strip()[:300]}")
    return library


def trace_mark_addresses(elf: Path) -> dict[str, int]:
    """Addresses of the firmware's trace-mark functions (arm-none-eabi-nm)."""
    if shutil.which("arm-none-eabi-nm") is None:
        raise PluginUnavailable("arm-none-eabi-nm not found (Debian package binutils-arm-none-eabi)")
    done = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True)
    if done.returncode != 0:
        raise PluginUnavailable(
            f"arm-none-eabi-nm cannot read {elf.name}: "
            f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}"
        )
    found = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in TRACE_MARKS:
            found[parts[2]] = int(parts[0], 16)
    missing = [name for name in TRACE_MARKS if name not in found]
    if missing:
        raise PluginUnavailable(
            f"{elf.name} has no trace marks ({', '.join(missing)}): rebuild it from this repository's firmware"
        )
    return found


def plugin_arguments(
    library: Path,
    elf: Path,
    out: Path,
    *,
    invoke: int,
    cache: CacheGeometry,
    flash_end: int,
    data_cache: CacheGeometry | None = None,
) -> list[str]:
    """The `-plugin` option that measures the `invoke`-th invoke of `elf` into `out`, through the
    board's instruction cache and flash data cache (None: every data read from flash misses)."""
    marks = trace_mark_addresses(elf)
    args = [
        f"out={out}",
        f"invoke={invoke}",
        f"flash_end={flash_end:#x}",
        f"cache_bytes={cache.size_bytes}",
        f"cache_ways={cache.ways}",
        f"cache_line={cache.line_bytes}",
        f"cache_fill={cache.fill}",
    ]
    if data_cache is not None:
        args += [
            f"dcache_bytes={data_cache.size_bytes}",
            f"dcache_ways={data_cache.ways}",
            f"dcache_line={data_cache.line_bytes}",
            f"dcache_fill={data_cache.fill}",
        ]
    args += [f"{name.removeprefix('tinyml_trace_')}={address:#x}" for name, address in marks.items()]
    return ["-plugin", ",".join([str(library)] + args)]


def read_counts(path: Path) -> InvokeClassCounts:
    """The plugin's output; an invoke that never ended (firmware stopped early) is an error."""
    if not path.is_file():
        raise PluginUnavailable(
            f"the QEMU plugin wrote no counts ({path.name}): qemu-system-arm may lack TCG plugin support"
        )
    data = json.loads(path.read_text())
    if data.get("format") != OUTPUT_FORMAT:
        raise PluginUnavailable(f"{path.name} is not {OUTPUT_FORMAT} output")
    if not data.get("complete"):
        raise PluginUnavailable(f"the measured invoke {data.get('invoke')} did not finish in QEMU")
    cache, dcache = data["cache"], data["dcache"]
    return InvokeClassCounts(
        layers=tuple(ClassCounts(row) for row in data["layers"]),
        outside_layers=ClassCounts(data["outside_layers"]),
        cache=CacheGeometry(cache["bytes"], cache["ways"], cache["line"], cache["fill"]),
        flash_end=int(data["flash_end"]),
        data_cache=CacheGeometry(dcache["bytes"], dcache["ways"], dcache["line"], dcache["fill"])
        if dcache["bytes"]
        else None,
    )


def run_counted(
    elf: Path,
    library: Path,
    out: Path,
    *,
    invoke: int,
    cache: CacheGeometry,
    flash_end: int,
    timeout_s: float = 120.0,
    data_cache: CacheGeometry | None = None,
) -> InvokeClassCounts:
    """Runs a firmware that needs no serial reader (the calibration firmware) under the plugin."""
    out.unlink(missing_ok=True)
    command = [
        "qemu-system-arm",
        "-M",
        QEMU_MACHINE,
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "null",
        "-icount",
        "shift=0",
        "-semihosting-config",
        "enable=on,target=native",
        "-kernel",
        str(elf),
    ]
    command += plugin_arguments(
        library, elf, out, invoke=invoke, cache=cache, flash_end=flash_end, data_cache=data_cache
    )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"{elf.name} under the QEMU plugin did not finish in {timeout_s:g} s") from None
    if done.returncode != 0 and not out.is_file():
        raise PluginUnavailable(
            f"qemu-system-arm with the plugin failed (exit {done.returncode}): {done.stderr.strip()[:300]}"
        )
    return read_counts(out)
