"""Emulation in the main job (`tinyml run`): every model that fits runs in QEMU and its
emulated.json goes beside its result, so the report has instructions (and the cycle estimate)
without a separate `tinyml emulate`.

By default it runs when the toolchain, QEMU and the TFLM library are all there (the library may be
fetched by PlatformIO from platformio.ini's lib_deps); otherwise one line says why it was skipped.
`--emulate` makes a missing prerequisite an error, `--no-emulate` skips it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pipeline.kernel_sets import result_file_name
from pipeline.emulator import stage, toolchain
from pipeline.emulator.tflm_library import install_tflm
from pipeline.errors import PipelineError
from pipeline.project import project_root
from pipeline.store import EMULATED_RESULT, write_json


@dataclass(frozen=True)
class EmulationPlan:
    tflm_root: Path | None
    skipped: str | None   # why emulation does not run (None: it runs)


def plan_emulation(requested: bool | None, tflm_dir: str | None = None, *,
                   project_dir: Path | None = None, env: str = "nano33ble",
                   installer=None, log: TextIO = sys.stderr) -> EmulationPlan:
    """requested: True (--emulate: a missing prerequisite raises), None (default: skip with a
    reason), False (--no-emulate)."""
    if requested is False:
        return EmulationPlan(None, "--no-emulate")
    try:
        toolchain.require_tools()
        try:
            root = toolchain.resolve_tflm_dir(tflm_dir)
        except PipelineError as missing:
            if tflm_dir or os.environ.get(toolchain.TFLM_ENV):
                raise  # the user named a library: a wrong one is their error, not a download
            project = project_dir or project_root()
            print(f"emulation: {missing}; asking PlatformIO to install the pinned library "
                  "(platformio.ini lib_deps)", file=log, flush=True)
            (installer or install_tflm)(project, env)
            root = toolchain.resolve_tflm_dir(None, project)
    except PipelineError as exc:
        if requested:
            raise
        return EmulationPlan(None, str(exc))
    return EmulationPlan(root, None)


@dataclass(frozen=True)
class EmulatedModel:
    name: str
    error: str | None
    kept: bool = False


def emulate_models(results: list[dict], plan: EmulationPlan, *, force: bool = False,
                   work_dir: str | None = None, log: TextIO = sys.stderr,
                   kernels: str = "cmsis-nn", measurements=None) -> list[EmulatedModel]:
    """Emulates each model of `results` (run_zoo's records) that built and fits, writing its
    emulated.json; a model emulated before (and not rebuilt since: run_zoo drops stale records)
    is kept unless `force`. One model's failure does not stop the others."""
    if plan.tflm_root is None:
        return []
    done = []
    for record in results:
        if record.get("status") != "ok" or not record.get("fits"):
            continue
        tflite = Path(record["tflite"])
        target = tflite.parent / result_file_name(EMULATED_RESULT, kernels)
        if target.is_file() and not force:
            done.append(EmulatedModel(record["name"], None, kept=True))
            continue
        print(f"emulating {record['name']} in QEMU ...", file=log, flush=True)
        try:
            result = stage.emulate(tflite, plan.tflm_root, work_dir=work_dir, kernels=kernels)
        except PipelineError as exc:
            done.append(EmulatedModel(record["name"], str(exc)))
            continue
        write_json(target, result.to_dict())
        if measurements is not None:
            measurements.record_arena(result.tflite_sha256, result.arena_used_bytes, result.model)
        done.append(EmulatedModel(record["name"], None))
    return done
