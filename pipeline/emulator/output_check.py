"""Outputs of a model's firmware in QEMU, to compare kernel sets output by output: builds the
check firmware (firmware/ports/qemu_mps2/tflm_check_main.cc) next to the benchmark firmware of
`tinyml emulate`, runs it on three pseudo-random inputs and returns the CRC-32 and bytes of the
output tensor for each. (The benchmark's own `output_crc32` comes with protocol v2.)"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.analysis.model_analysis import ModelAnalysis
from pipeline.board import load_board
from pipeline.codegen.generate import c_identifier, generate_firmware_sources
from pipeline.emulator.build import build_target, configure, default_work_dir
from pipeline.emulator.qemu import EMULATOR_BOARD, start_qemu
from pipeline.errors import PipelineError
from pipeline.kernel_sets import check_kernels, model_folder_suffix


@dataclass(frozen=True)
class OutputCheck:
    seed: int
    crc32: int
    output_hex: str


def _read_lines(port: int, deadline: float) -> list[str]:
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
            if b"CHECK DONE" in data or b"CHECK ERROR" in data or b"FAULT" in data:
                break
    return data.decode(errors="replace").splitlines()


def check_outputs(
    analysis: ModelAnalysis,
    kernels: str,
    tflm_root: Path,
    *,
    work_dir: str | os.PathLike | None = None,
    timeout_s: float = 120.0,
) -> tuple[OutputCheck, ...]:
    check_kernels(kernels)
    path = Path(analysis.source)
    work = (Path(work_dir) if work_dir else default_work_dir()).resolve()
    generated = generate_firmware_sources(
        analysis,
        load_board(EMULATOR_BOARD),
        work / "models" / (c_identifier(analysis.name) + model_folder_suffix(kernels)),
        kernels=kernels,
    )
    tree = configure(work, tflm_root)
    target = f"fwcheck_{generated.out_dir.name}"
    build_target(tree, target)
    qemu = start_qemu(tree / f"{target}.elf")
    try:
        lines = _read_lines(qemu.port, time.monotonic() + timeout_s)
    finally:
        qemu.stop()
    checks = []
    for line in lines:
        fields = line.strip().split()
        if len(fields) >= 2 and fields[0] == "CHECK" and fields[1] == "ERROR":
            raise PipelineError(f"{path.name}: the check firmware failed: {line.strip()}")
        if len(fields) == 4 and fields[0] == "CHECK":
            checks.append(OutputCheck(int(fields[1]), int(fields[2], 16), fields[3]))
    if len(checks) != 3:
        raise PipelineError(
            f"{path.name}: the check firmware printed {len(checks)} of 3 outputs: {' | '.join(lines[-4:])}{qemu.said()}"
        )
    return tuple(checks)
