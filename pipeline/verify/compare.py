"""The firmware's outputs against TFLite's reference kernels, and, when they differ, the first
layer whose output differs: the firmware dumps every layer of one differing input, the reference
keeps every tensor of the same input, and the operators are compared in execution order."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pipeline.analysis.tflite_model import BUILTIN_NAMES, parsed
from pipeline.errors import PipelineError
from pipeline.model.reference import ReferenceInterpreter
from pipeline.records import DivergentLayer, VerifyRecord
from pipeline.verify.inputs import VerifyInputs


@dataclass(frozen=True)
class FirmwareOutputs:
    """What a firmware run of a verification hands back."""

    outputs: np.ndarray  # (N, output bytes) uint8: output tensor 0 of each input, as the firmware left it
    layers: dict[int, bytes]  # operator index -> its output bytes, for the input whose layers were dumped
    seconds: float  # wall time of the firmware's part (samples per second)


# Runs the firmware on the inputs (N, ...) and dumps the layers of input `dump` (None: no dump).
FirmwareRun = Callable[[np.ndarray, "int | None"], FirmwareOutputs]


@dataclass(frozen=True)
class OperatorOutput:
    index: int
    op: str
    tensor: int
    name: str


def operator_outputs(tflite: bytes) -> tuple[OperatorOutput, ...]:
    """Output tensor 0 of every operator of subgraph 0, in execution order (what the firmware dumps)."""
    model = parsed(tflite)
    graph = model.subgraphs[0]
    result = []
    for index, operator in enumerate(graph.operators):
        code = model.operatorCodes[operator.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        op = BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if op == "CUSTOM" and code.customCode:
            op = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
        tensor = int(operator.outputs[0])
        name = graph.tensors[tensor].name
        result.append(OperatorOutput(index, op, tensor, name.decode() if isinstance(name, bytes) else str(name)))
    return tuple(result)


def first_divergent_layer(
    operators: tuple[OperatorOutput, ...], firmware: dict[int, bytes], reference: dict[int, bytes]
) -> DivergentLayer | None:
    """The first operator, in execution order, whose firmware output bytes differ from the
    reference's (a layer the firmware did not dump counts as differing: it never ran)."""
    for operator in operators:
        if firmware.get(operator.index) != reference.get(operator.index):
            return DivergentLayer(operator.index, operator.op, operator.name)
    return None


def reference_layers(tflite: bytes, operators: tuple[OperatorOutput, ...], sample: np.ndarray) -> dict[int, bytes]:
    interpreter = ReferenceInterpreter(tflite, keep_tensors=True)
    interpreter.invoke(sample)
    return {operator.index: interpreter.tensor(operator.tensor).tobytes() for operator in operators}


def _as_output(raw: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The firmware's raw output bytes as the reference's type and shape."""
    per_sample = reference[0].nbytes
    if raw.shape[1] != per_sample:
        raise PipelineError(
            f"the firmware returned {raw.shape[1]} output bytes per input, TFLite {per_sample}: "
            "the firmware was built from another model; rebuild it"
        )
    return np.ascontiguousarray(raw).view(reference.dtype).reshape(reference.shape)


def verify_outputs(tflite: bytes, inputs: VerifyInputs, run_firmware: FirmwareRun) -> VerifyRecord:
    """Runs the inputs on the firmware and on TFLite's reference kernels and compares them; on a
    difference, runs the first differing input again with its layers dumped to find the first
    divergent layer."""
    if len(inputs) == 0:
        raise PipelineError("no inputs to verify on: give --samples 1 or more")
    interpreter = ReferenceInterpreter(tflite)
    reference = np.stack([interpreter.invoke(sample)[0] for sample in inputs.x])
    started = time.monotonic()
    firmware_run = run_firmware(inputs.x, None)
    seconds = firmware_run.seconds or (time.monotonic() - started)
    firmware = _as_output(firmware_run.outputs, reference)
    n = len(reference)
    flat_fw, flat_ref = firmware.reshape(n, -1), reference.reshape(n, -1)
    exact = (flat_fw == flat_ref).all(axis=1)
    integer = np.issubdtype(reference.dtype, np.integer)
    max_diff = int(np.abs(flat_fw.astype(np.int64) - flat_ref.astype(np.int64)).max()) if integer else None
    accuracy_fw = accuracy_ref = None
    if inputs.labels is not None:
        accuracy_fw = float((flat_fw.argmax(axis=1) == inputs.labels).mean())
        accuracy_ref = float((flat_ref.argmax(axis=1) == inputs.labels).mean())
    divergent = None
    if not exact.all():
        sample = int(np.flatnonzero(~exact)[0])
        operators = operator_outputs(tflite)
        dumped = run_firmware(inputs.x[sample : sample + 1], 0)
        divergent = first_divergent_layer(
            operators, dumped.layers, reference_layers(tflite, operators, inputs.x[sample])
        )
    return VerifyRecord(
        samples=n,
        inputs=inputs.source,
        bit_exact_share=float(exact.mean()),
        max_abs_diff_lsb=max_diff,
        accuracy_firmware=accuracy_fw,
        accuracy_reference=accuracy_ref,
        first_divergent_layer=divergent,
        samples_per_second=n / seconds if seconds > 0 else None,
    )


def divergence(record: VerifyRecord) -> str | None:
    """The line a verification that found a difference fails with (None: bit-exact)."""
    if record.bit_exact_share == 1.0:
        return None
    differing = round((1 - record.bit_exact_share) * record.samples)
    layer = record.first_divergent_layer
    where = f"; first differing layer #{layer.index} {layer.op} ({layer.name})" if layer else ""
    by = f", by up to {record.max_abs_diff_lsb} LSB" if record.max_abs_diff_lsb is not None else ""
    return (
        f"the firmware's outputs differ from TFLite's reference kernels on {differing} of {record.samples} "
        f"inputs{by}{where}"
    )
