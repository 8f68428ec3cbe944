"""A verification session over the serial link (a board, or QEMU's UART in the tests) as the
FirmwareRun that compare.verify_outputs calls."""

from __future__ import annotations

import numpy as np

from pipeline.serial_link.verify_session import VerifySession
from pipeline.verify.compare import FirmwareOutputs, FirmwareRun


def session_run(session: VerifySession) -> FirmwareRun:
    def run(x: np.ndarray, dump: int | None) -> FirmwareOutputs:
        result = session.run([np.ascontiguousarray(sample).tobytes() for sample in x], dump)
        outputs = np.frombuffer(b"".join(result.outputs), np.uint8).reshape(len(result.outputs), session.output_bytes)
        return FirmwareOutputs(outputs, result.layers, result.seconds)

    return run
