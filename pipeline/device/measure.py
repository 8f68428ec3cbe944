"""The measure stage on a device: read one benchmark run over serial from the board (or Renode, or
QEMU, or the test double: any pyserial URL) and check it is the model expected; then, when asked,
verify the same firmware on real inputs over the same link (the session the firmware opens after
DONE), so the board's accuracy is a measured figure."""

from __future__ import annotations

from dataclasses import replace

from pipeline.board import Board
from pipeline.codegen.generate import c_identifier
from pipeline.device.record import Expected, measured_record
from pipeline.device.usb import find_board_port
from pipeline.errors import PipelineError
from pipeline.records import MeasuredRecord
from pipeline.serial_link.reader import open_port, read_run_from
from pipeline.serial_link.verify_session import VerifySession
from pipeline.verify.compare import verify_outputs
from pipeline.verify.inputs import VerifyInputs
from pipeline.verify.serial import session_run


def read_measurement(
    model_name: str,
    board: Board,
    port: str | None,
    timeout_s: float,
    kernels: str,
    verify: tuple[bytes, VerifyInputs] | None = None,
    expected: Expected | None = None,
) -> MeasuredRecord:
    """One run from the device on `port` (None: the board found by USB VID:PID); with `verify`
    (the .tflite's bytes and the inputs), the verification session after it; `expected`: what the
    model's .tflite says the figures must fit (record.check_plausible)."""
    identifier = c_identifier(model_name)
    if port is None:
        port = find_board_port(board)
    link = open_port(port)
    try:
        run = read_run_from(link, timeout_s, source=port)
        if run.model != identifier:
            raise PipelineError(
                f"the device on {port} runs model '{run.model}', not '{identifier}': flash it first (drop --no-flash)"
            )
        record = measured_record(run, port, kernels, expected)
        if verify is None:
            return record
        tflite, inputs = verify
        session = VerifySession(link, timeout_s, port)
        checked = verify_outputs(tflite, inputs, session_run(session))
        session.close()
        return replace(record, verify=checked)
    finally:
        link.close()
