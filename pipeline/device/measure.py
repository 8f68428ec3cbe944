"""The measure stage on a device: read one benchmark run over serial from the board (or Renode, or
QEMU, or the test double: any pyserial URL) and check it is the model expected."""

from __future__ import annotations

from pipeline.board import Board
from pipeline.codegen.generate import c_identifier
from pipeline.device.record import measured_record
from pipeline.device.usb import find_board_port
from pipeline.errors import PipelineError
from pipeline.records import MeasuredRecord
from pipeline.serial_link.reader import read_run


def read_measurement(model_name: str, board: Board, port: str | None, timeout_s: float, kernels: str) -> MeasuredRecord:
    """One run from the device on `port` (None: the board found by USB VID:PID)."""
    expected = c_identifier(model_name)
    if port is None:
        port = find_board_port(board)
    run = read_run(port, timeout_s)
    if run.model != expected:
        raise PipelineError(
            f"the device on {port} runs model '{run.model}', not '{expected}': flash it first (drop --no-flash)"
        )
    return measured_record(run, port, kernels)
