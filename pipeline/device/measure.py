"""`tinyml measure` / `tinyml run --device`: for each model, flash (optional), read one run over
serial and store it as `measured.json` beside the model's host result, atomically, as it arrives:
an interrupted session keeps every finished model and a re-run skips them."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pipeline.board import Board
from pipeline.device.record import measured_record
from pipeline.device.usb import find_board_port, upload, wait_for_path, wait_for_port
from pipeline.errors import PipelineError
from pipeline.store import MEASURED_RESULT, measurement_store, read_json, results_folder, write_json

DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class MeasureOptions:
    port: str | None          # pyserial URL or device; None: find the board by USB VID:PID
    timeout_s: float = DEFAULT_TIMEOUT_S
    flash: bool = True
    force: bool = False
    kernels: str = "cmsis-nn"  # kernel set flashed (--kernels); results go to a file per set


@dataclass(frozen=True)
class Measurement:
    name: str
    record: dict | None
    error: str | None
    skipped: bool = False   # a result from an earlier session was kept


def measure_one(tflite: Path, board: Board, options: MeasureOptions,
                flash: Callable[[Path, str | None], str] | None = None) -> dict:
    from pipeline.codegen.generate import c_identifier
    from pipeline.serial_link.reader import read_run

    expected = c_identifier(tflite.stem)
    port = options.port
    if options.flash:
        if flash is None:
            raise PipelineError("internal: no flasher given")
        port = flash(tflite, port)
    if port is None:
        port = find_board_port(board)
    run = read_run(port, options.timeout_s)
    if run.model != expected:
        raise PipelineError(f"the device on {port} runs model '{run.model}', not '{expected}': "
                            "flash it first (drop --no-flash)")
    record = measured_record(run, port)
    record["kernels"] = options.kernels
    return record


def flash_with_platformio(board: Board, kernels: str = "cmsis-nn") -> Callable[[Path, str | None], str]:
    def flash(tflite: Path, port: str | None) -> str:
        from pipeline.codegen.generate import DEFAULT_GENERATED_DIR, generate_from_file
        from pipeline.project import find_checkout

        auto = port is None
        if auto:  # fail before a long build when no board is attached
            port = find_board_port(board)
        project_root = find_checkout()
        if project_root is None:
            raise PipelineError("no platformio.ini with a firmware/ folder here or above: run "
                                "`tinyml flash`/`measure` inside the project checkout")
        generate_from_file(tflite, board, project_root / DEFAULT_GENERATED_DIR, kernels=kernels,
                           measurements=measurement_store(tflite))
        upload(board.pio_env, port, project_dir=project_root)
        # the board resets after the upload and its USB port re-enumerates: wait for the sketch's
        # port, not the bootloader's that may still be there
        return wait_for_port(board, pids=(board.usb_app_pid,)) if auto else wait_for_path(port)
    return flash


def measure_models(tflites: list[Path], board: Board, options: MeasureOptions,
                   flash: Callable[[Path, str | None], str] | None = None, log=sys.stderr) -> list[Measurement]:
    from pipeline.kernel_sets import result_file_name

    if options.flash and flash is None:
        flash = flash_with_platformio(board, options.kernels)
    measured_file = result_file_name(MEASURED_RESULT, options.kernels)
    done = []
    for tflite in tflites:
        name = tflite.stem
        folder = results_folder(tflite)
        if folder is not None and not options.force:
            kept = read_json(folder / measured_file)
            if kept is not None:
                print(f"{name}: kept the earlier measurement (--force to redo)", file=log)
                done.append(Measurement(name, kept, None, skipped=True))
                continue
        try:
            record = measure_one(tflite, board, options, flash)
        except PipelineError as exc:
            done.append(Measurement(name, None, str(exc)))
            continue
        if folder is not None:
            write_json(folder / measured_file, record)
        done.append(Measurement(name, record, None))
    return done
