"""The host's side of the verification session over a serial link (docs/protocol.md,
"Verification"): after the benchmark's DONE, or at once in QEMU's "tinyml verify-serial", the
firmware announces VREADY; the host sends each input as a VIN line and the raw bytes, and reads its
VOUT (and, when asked, every layer's VLAYER) back as VDATA hex records; VEND ends the session."""

from __future__ import annotations

import binascii
import time
from dataclasses import dataclass

import serial

from pipeline.errors import PipelineError
from pipeline.serial_link.protocol import (
    ErrorRecord,
    ProtocolError,
    VDataRecord,
    VDoneRecord,
    VLayerRecord,
    VOutRecord,
    VReadyRecord,
    parse_line,
)
from pipeline.serial_link.reader import PortVanishedError, ReadTimeoutError


@dataclass(frozen=True)
class SessionOutputs:
    outputs: list[bytes]  # output tensor 0 per input
    layers: dict[int, bytes]  # operator index -> output bytes, of the input sent with dump
    seconds: float


class VerifySession:
    """One open session on `port`: `run` as often as needed, then `close`."""

    def __init__(self, port: serial.SerialBase, timeout_s: float, source: str) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.source = source
        self._partial = b""
        ready = self._next(VReadyRecord)
        assert isinstance(ready, VReadyRecord)
        self.input_bytes, self.output_bytes = ready.input, ready.output

    def _records(self, deadline: float):
        while time.monotonic() < deadline:
            try:
                data = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise PortVanishedError(f"{self.source} stopped working during the verification ({exc})") from exc
            *lines, self._partial = (self._partial + data).split(b"\n")
            for line in lines:
                try:
                    record = parse_line(line)
                except ProtocolError as exc:
                    raise PipelineError(f"{self.source}: {exc}") from None
                if record is not None:
                    yield record
        raise ReadTimeoutError(
            f"{self.source}: no verification record within {self.timeout_s:g} s: flash firmware built by "
            "this version of tinyml (it answers after DONE)"
        )

    def _next(self, kind: type | tuple[type, ...]):
        for record in self._records(time.monotonic() + self.timeout_s):
            if isinstance(record, ErrorRecord):
                raise PipelineError(f"{self.source}: the firmware stopped verifying: {record.code}: {record.detail}")
            if isinstance(record, kind):
                return record
        raise AssertionError("unreachable")  # _records raises at its deadline

    def _data(self, count: int) -> bytes:
        data = bytearray()
        while len(data) < count:
            record = self._next(VDataRecord)
            if record.at != len(data):
                raise PipelineError(
                    f"{self.source}: verification data out of order (at {record.at}, expected {len(data)})"
                )
            data += bytes.fromhex(record.hex)
        return bytes(data)

    def _checked(self, data: bytes, crc: str, what: str) -> bytes:
        if f"{binascii.crc32(data):08x}" != crc.lower():
            raise PipelineError(
                f"{self.source}: {what} arrived garbled (CRC-32 differs): check the cable and verify again"
            )
        return data

    def run(self, inputs: list[bytes], dump: int | None = None) -> SessionOutputs:
        """Each input's output; for input `dump` every layer's output too."""
        started = time.monotonic()
        outputs, layers = [], {}
        for sample, data in enumerate(inputs):
            if len(data) != self.input_bytes:
                raise PipelineError(
                    f"the firmware's input takes {self.input_bytes} bytes, the inputs have {len(data)}: "
                    "the board runs another model; flash this one"
                )
            self.port.write(f"VIN {binascii.crc32(data):08x} {1 if sample == dump else 0}\n".encode() + data)
            self.port.flush()
            while True:
                record = self._next((VLayerRecord, VOutRecord))
                if isinstance(record, VLayerRecord):
                    layers[record.index] = self._checked(self._data(record.bytes), record.crc, f"layer {record.index}")
                    continue
                outputs.append(self._checked(self._data(record.bytes), record.crc, f"output {sample}"))
                break
        return SessionOutputs(outputs, layers, time.monotonic() - started)

    def close(self) -> int:
        """Ends the session; the number of inputs the firmware ran."""
        self.port.write(b"VEND\n")
        self.port.flush()
        done = self._next(VDoneRecord)
        return done.samples
