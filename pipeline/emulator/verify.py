"""Verification in QEMU: the benchmark firmware, started with the semihosting command line
"tinyml verify <inputs> <outputs> <layers> <dump>", reads the inputs from a host file and writes
each output (and, for input <dump>, every layer's output) to host files
(firmware/ports/qemu_mps2/semihosting_verify.h). No rebuild per input, and semihosting moves the
bytes at memory speed where QEMU's UART receives tens of kB/s. No -icount: nothing is timed."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from pipeline.emulator.qemu import QEMU_MACHINE, start_qemu
from pipeline.errors import PipelineError
from pipeline.project import cache_dir
from pipeline.serial_link.protocol import ErrorRecord, ProtocolError, VDoneRecord, VReadyRecord, parse_line
from pipeline.serial_link.reader import open_port
from pipeline.serial_link.verify_session import VerifySession
from pipeline.verify.compare import FirmwareOutputs

# QEMU interprets at ~100 M instructions/s here; a 96x96 model takes ~20 M a sample.
SECONDS_PER_SAMPLE_LIMIT = 10.0
START_LIMIT_S = 30.0
FILES = ("inputs.bin", "outputs.bin", "layers.bin", "uart.txt")


def verify_command(elf: Path, dump: int | None) -> list[str]:
    """QEMU with the verification command line; file names are relative to its working folder
    (semihosting opens them there), so no path with a comma reaches -semihosting-config."""
    inputs, outputs, layers, uart = FILES
    args = ",".join(
        f"arg={word}" for word in ("tinyml", "verify", inputs, outputs, layers, str(-1 if dump is None else dump))
    )
    return [
        "qemu-system-arm",
        "-M",
        QEMU_MACHINE,
        "-nographic",
        "-monitor",
        "none",
        "-semihosting-config",
        f"enable=on,target=native,{args}",
        "-serial",
        f"file:{uart}",
        "-kernel",
        str(Path(elf).resolve()),
    ]


def _records(text: str) -> list:
    records = []
    for line in text.splitlines():
        try:
            record = parse_line(line)
        except ProtocolError:
            continue  # a corrupt line is reported below as a missing VDONE
        if record is not None:
            records.append(record)
    return records


def read_layers(data: bytes) -> dict[int, bytes]:
    """The layers file: per layer u32 operator index, u32 byte count, the bytes (little-endian)."""
    layers: dict[int, bytes] = {}
    at = 0
    while at + 8 <= len(data):
        index, count = np.frombuffer(data, "<u4", 2, at)
        layers[int(index)] = data[at + 8 : at + 8 + int(count)]
        at += 8 + int(count)
    if at != len(data):
        raise PipelineError("the firmware's layer dump ends inside a layer: the run was cut short")
    return layers


# Inputs split over this many QEMU processes at most (one per core): each emulates one core.
MAX_PARALLEL = 4
MIN_INPUTS_PER_PROCESS = 16  # below, QEMU's start-up (~0.1 s) outweighs the split


def run_verification(elf: Path, inputs: np.ndarray, dump: int | None = None) -> FirmwareOutputs:
    """Runs `inputs` (N, ...) through the firmware `elf` in QEMU, split over one QEMU process per
    core; returns its outputs in input order."""
    processes = min(MAX_PARALLEL, os.cpu_count() or 1, max(1, len(inputs) // MIN_INPUTS_PER_PROCESS))
    if processes == 1 or dump is not None:
        return _run_one(elf, inputs, dump)
    started = time.monotonic()
    parts = np.array_split(inputs, processes)
    with ThreadPoolExecutor(processes) as pool:  # each thread waits on its own QEMU process
        results = list(pool.map(lambda part: _run_one(elf, part, None), parts))
    outputs = np.concatenate([r.outputs for r in results])
    return FirmwareOutputs(outputs, {}, time.monotonic() - started)


def _run_one(elf: Path, inputs: np.ndarray, dump: int | None) -> FirmwareOutputs:
    work = Path(tempfile.mkdtemp(prefix="verify-", dir=_work_root()))
    try:
        paths = {name: work / name for name in FILES}
        paths["inputs.bin"].write_bytes(np.ascontiguousarray(inputs).tobytes())
        limit = START_LIMIT_S + SECONDS_PER_SAMPLE_LIMIT * len(inputs)
        started = time.monotonic()
        try:
            proc = subprocess.run(verify_command(elf, dump), cwd=work, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            raise PipelineError(
                f"{Path(elf).name} in QEMU did not finish verifying {len(inputs)} inputs in {limit:g} s: "
                "the firmware hangs; run `tinyml emulate` on the model to see where"
            ) from None
        seconds = time.monotonic() - started
        uart = paths["uart.txt"].read_text(errors="replace") if paths["uart.txt"].exists() else ""
        records = _records(uart)
        errors = [r for r in records if isinstance(r, ErrorRecord)]
        if errors:
            raise PipelineError(f"{Path(elf).name} in QEMU stopped verifying: {errors[0].code}: {errors[0].detail}")
        ready = next((r for r in records if isinstance(r, VReadyRecord)), None)
        done = next((r for r in records if isinstance(r, VDoneRecord)), None)
        if ready is None or done is None:
            said = (proc.stderr.strip().splitlines() or ["(nothing)"])[-1]
            raise PipelineError(
                f"{Path(elf).name} in QEMU ended without finishing the verification (exit {proc.returncode}; "
                f"qemu-system-arm: {said}): rebuild the firmware with this version of tinyml"
            )
        per_input = int(np.prod(inputs.shape[1:])) * inputs.dtype.itemsize
        if ready.input != per_input:
            raise PipelineError(
                f"the firmware's input takes {ready.input} bytes, the inputs have {per_input}: "
                "the firmware was built from another model; rebuild it"
            )
        if done.samples != len(inputs) or done.files != "ok":
            raise PipelineError(
                f"the firmware verified {done.samples} of {len(inputs)} inputs (files: {done.files}): "
                "check free space in the cache folder"
            )
        raw = np.frombuffer(paths["outputs.bin"].read_bytes(), np.uint8)
        if raw.size != ready.output * len(inputs):
            raise PipelineError(
                f"the firmware wrote {raw.size} output bytes for {len(inputs)} inputs of {ready.output}"
            )
        layers = read_layers(paths["layers.bin"].read_bytes()) if dump is not None else {}
        return FirmwareOutputs(raw.reshape(len(inputs), ready.output), layers, seconds)
    finally:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


def _work_root() -> Path:
    root = cache_dir() / "verify"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def serial_session(elf: Path, timeout_s: float = 60.0) -> Iterator[VerifySession]:
    """The serial verification session of `elf` in QEMU (command line "tinyml verify-serial"):
    the one a board speaks after DONE, on QEMU's UART0 (slow: tens of kB/s; for tests)."""
    qemu = start_qemu(elf, command_line=("tinyml", "verify-serial"))
    port = open_port(qemu.url)
    try:
        session = VerifySession(port, timeout_s, f"{Path(elf).name} in QEMU")
        yield session
        session.close()
    finally:
        port.close()
        qemu.stop()
