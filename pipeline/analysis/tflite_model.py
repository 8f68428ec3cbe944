"""Stage 3: .tflite flatbuffer -> per-layer costs, ops, tensors and weight bytes.

Parsed with the schema module the `tflite-micro` package ships, not TensorFlow's interpreter: TF's
interpreter refuses some real models that TFLM runs (e.g. TFLM's person_detect.tflite).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from pipeline.analysis import costs
from pipeline.analysis.costs import LayerCost
from pipeline.errors import ModelError, PipelineError

BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
TENSOR_TYPES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None


DTYPE_BYTES = {
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "int16": 2,
    "float16": 2,
    "int32": 4,
    "float32": 4,
    "int64": 8,
    "float64": 8,
}


@dataclass(frozen=True)
class OperatorIO:
    """What one operator reads and writes at run time (for arena planning)."""

    op: str
    activation_bytes: int  # non-constant inputs + outputs
    input_shape: tuple[int, ...]  # first input
    filter_shape: tuple[int, ...]  # second input when constant (weights), else ()
    output_shape: tuple[int, ...]
    stride: tuple[int, int]  # (h, w); (1, 1) for ops without strides


@dataclass(frozen=True)
class TfliteAnalysis:
    name: str  # file stem
    sha256: str
    model_bytes: int  # flash the model data takes
    ops: tuple[str, ...]  # distinct builtin ops in order of first use
    operators: tuple[str, ...]  # every operator in execution order
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    layers: tuple[LayerCost, ...]  # one per operator
    weights_bytes: int  # bytes of constant tensors (weights, biases)
    custom_ops: tuple[str, ...] = field(default=())
    operator_io: tuple[OperatorIO, ...] = field(default=())
    # non-constant tensors operators compute on, less float edges around QUANTIZE/DEQUANTIZE
    computed_tensors: tuple[TensorInfo, ...] = field(default=())

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def bias_params(self) -> int:
        return sum(layer.bias for layer in self.layers)

    @property
    def is_int8(self) -> bool:
        """The graph computes in int8 (int32/bool index tensors allowed); its input and output
        may be float around QUANTIZE/DEQUANTIZE."""
        return not non_int8_tensors(self)


# Activation types an int8 graph may carry besides int8 (ARG_MAX indices, comparison results).
INT8_GRAPH_TYPES = ("int8", "int32", "bool")


def non_int8_tensors(analysis: "TfliteAnalysis") -> tuple[TensorInfo, ...]:
    return tuple(t for t in analysis.computed_tensors if t.dtype not in INT8_GRAPH_TYPES)


def _cut(name: str, width: int = 40) -> str:
    """A tensor name short enough for a one-line message (converters join whole scopes with ';')."""
    name = name.split(";")[0]
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def check_int8_graph(analysis: "TfliteAnalysis", source: str) -> None:
    """The graph must compute in int8: pure float and int16-activation models are refused."""
    bad = non_int8_tensors(analysis)
    if not bad:
        return
    types = sorted({t.dtype for t in bad})
    shown = ", ".join(f"{_cut(t.name)} {t.dtype}" for t in bad[:3]) + (
        f", +{len(bad) - 3} more" if len(bad) > 3 else ""
    )
    raise ModelError(
        source,
        f"computes in {'/'.join(types)}, not int8 ({shown}): convert it with "
        "full-integer int8 quantization (float input/output around it is fine)",
    )


def _tensor_info(model: schema.ModelT, graph, index: int) -> TensorInfo:
    tensor = graph.tensors[index]
    quant = tensor.quantization
    scale = float(quant.scale[0]) if quant is not None and quant.scale is not None and len(quant.scale) else None
    zero = (
        int(quant.zeroPoint[0]) if quant is not None and quant.zeroPoint is not None and len(quant.zeroPoint) else None
    )
    name = tensor.name.decode() if isinstance(tensor.name, bytes) else (tensor.name or "")
    name = name or f"tensor {index}"  # unnamed tensors are shown by their index
    shape = tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()
    return TensorInfo(name, shape, TENSOR_TYPES.get(tensor.type, str(tensor.type)), scale, zero)


# Last name component of the TensorFlow op that did a layer's arithmetic (its parent names the layer).
_ARITHMETIC_OPS = {"convolution", "depthwise", "Conv2D", "DepthwiseConv2dNative", "MatMul"}


def _short_name(tensor_name: str) -> str:
    """A layer name from an output tensor's name. The converter joins the names of the ops it
    fused ('m/block1_pw_relu/Relu6;m/block1_pw/convolution;...'): prefer the scope of the one that
    did the arithmetic, else the scope of the first ('MobilenetV1/Conv2d_0/Relu6' -> Conv2d_0)."""
    parts = [part.split("/") for part in tensor_name.split(";")]
    for components in parts:
        if len(components) >= 2 and components[-1] in _ARITHMETIC_OPS:
            return components[-2]
    first = parts[0]
    return first[-2] if len(first) >= 2 else first[0]


_POOLS = ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D")
_REDUCTIONS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD")


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _shape(inputs: list[TensorInfo | None], i: int) -> tuple[int, ...]:
    """The shape of an input the op needs (a missing one is a corrupt model)."""
    tensor = inputs[i] if i < len(inputs) else None
    if tensor is None:
        raise ValueError(f"input {i} is missing")
    return tensor.shape


def _layer_cost(op: str, name: str, inputs: list[TensorInfo | None], outputs: list[TensorInfo], options) -> LayerCost:
    """General MACs for the ops with weights, element work for the others (see costs)."""
    out = outputs[0].shape
    bias = int(np.prod(_shape(inputs, 2))) if len(inputs) > 2 and inputs[2] is not None else 0
    if op == "CONV_2D":
        n, k_h, k_w, m = _shape(inputs, 1)
        return costs.conv(name, k_h, k_w, m, n, out[1], out[2], op, bias, batch=out[0])
    if op == "DEPTHWISE_CONV_2D":
        _, k_h, k_w, channels = _shape(inputs, 1)
        m = _shape(inputs, 0)[3]
        return costs.depthwise(name, k_h, k_w, m, channels // m, out[1], out[2], op, bias, batch=out[0])
    if op == "FULLY_CONNECTED":
        n, m = _shape(inputs, 1)
        return costs.fully_connected(name, m, n, op, bias, rows=_elements(out) // n)
    if op in _POOLS:
        window = (getattr(options, "filterHeight", 1) or 1) * (getattr(options, "filterWidth", 1) or 1)
        return costs.other(name, op, _elements(out) * window)
    if op in _REDUCTIONS:
        return costs.other(name, op, _elements(_shape(inputs, 0)))
    return costs.other(name, op, sum(_elements(t.shape) for t in outputs))


def _tensor_bytes(tensor: TensorInfo) -> int:
    return int(np.prod(tensor.shape, dtype=np.int64)) * DTYPE_BYTES.get(tensor.dtype, 4)


def _operator_io(op: str, ins: list, outs: list, constant: list[bool], options) -> OperatorIO:
    activation = sum(_tensor_bytes(t) for t, c in zip(ins, constant) if t is not None and not c)
    activation += sum(_tensor_bytes(t) for t in outs if t is not None)
    stride = (getattr(options, "strideH", 1) or 1, getattr(options, "strideW", 1) or 1)
    weights = ins[1].shape if len(ins) > 1 and ins[1] is not None and constant[1] else ()
    return OperatorIO(
        op, activation, ins[0].shape if ins and ins[0] is not None else (), weights, outs[0].shape, stride
    )


def read_model(data: bytes, source: str) -> schema.ModelT:
    # A .tflite carries the file identifier "TFL3" at bytes 4..8.
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError(
            source,
            "not a TFLite flatbuffer (no 'TFL3' identifier): pass a .tflite file written by the TFLite converter",
        )
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception:  # the generated parser raises whatever struct/index error it hits
        raise ModelError(
            source,
            f"corrupt or truncated TFLite file ({len(data):,} bytes; its flatbuffer points past the end or "
            "into garbage): copy it again or re-export it",
        ) from None
    if not model.subgraphs:
        raise ModelError(source, "no subgraph: re-export it")
    return model


def parsed(model: "schema.ModelT | bytes", source: str = "model") -> "schema.ModelT":
    """The flatbuffer object tree: parsed here from bytes, or passed through when it already is."""
    return read_model(bytes(model), source) if isinstance(model, (bytes, bytearray)) else model


def analyze_tflite_bytes(
    data: bytes, name: str, source: str | None = None, model: "schema.ModelT | None" = None
) -> TfliteAnalysis:
    """Ops, tensors and per-layer costs; `model`: the already parsed tree of `data`."""
    source = source or name
    model = model if model is not None else read_model(data, source)
    graph = model.subgraphs[0]
    try:
        buffers = model.buffers or []

        def info(index: int) -> TensorInfo:
            return _tensor_info(model, graph, index)

        def optional_info(index: int) -> TensorInfo | None:
            return info(index) if index >= 0 else None  # an absent optional input (no bias)

        def is_constant(index: int) -> bool:
            buffer = graph.tensors[index].buffer if index >= 0 else 0
            return 0 < buffer < len(buffers) and buffers[buffer].data is not None and len(buffers[buffer].data) > 0

        layers, operators, custom, io = [], [], [], []
        computed: dict[int, TensorInfo] = {}  # activations the graph computes on (see below)
        graph_inputs, graph_outputs = set(graph.inputs), set(graph.outputs)
        for operator in graph.operators or []:
            code = model.operatorCodes[operator.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            op = BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")
            if op == "CUSTOM":
                op = f"CUSTOM:{code.customCode.decode() if code.customCode else '?'}"
                custom.append(op)
            ins = [optional_info(i) for i in operator.inputs]
            outs = [info(i) for i in operator.outputs]
            operators.append(op)
            # Float (or other) tensors at the edges are fine when only QUANTIZE reads them in and
            # DEQUANTIZE writes them out: the graph in between is what must be int8.
            for index in operator.inputs:
                if index >= 0 and not is_constant(index) and not (op == "QUANTIZE" and index in graph_inputs):
                    computed[int(index)] = info(index)
            for index in operator.outputs:
                if not (op == "DEQUANTIZE" and index in graph_outputs):
                    computed[int(index)] = info(index)
            layers.append(_layer_cost(op, _short_name(outs[0].name), ins, outs, operator.builtinOptions))
            io.append(_operator_io(op, ins, outs, [is_constant(i) for i in operator.inputs], operator.builtinOptions))
        constant = set()
        for index, tensor in enumerate(graph.tensors):
            buf = buffers[tensor.buffer] if tensor.buffer < len(buffers) else None
            if buf is not None and buf.data is not None and len(buf.data):
                constant.add(index)
        weights = sum(len(buffers[graph.tensors[i].buffer].data) for i in constant)
        inputs = tuple(info(i) for i in graph.inputs)
        outputs = tuple(info(i) for i in graph.outputs)
    except PipelineError:
        raise
    except Exception as exc:
        raise ModelError(
            source, f"corrupt or unsupported TFLite file ({type(exc).__name__}: {exc}): re-export it"
        ) from None
    return TfliteAnalysis(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        model_bytes=len(data),
        ops=tuple(dict.fromkeys(operators)),
        operators=tuple(operators),
        inputs=inputs,
        outputs=outputs,
        layers=tuple(layers),
        weights_bytes=weights,
        custom_ops=tuple(custom),
        operator_io=tuple(io),
        computed_tensors=tuple(computed[i] for i in sorted(computed)),
    )


def read_model_file(path: str | Path) -> bytes:
    """The bytes of a model file; a missing path, a directory or an unreadable file is refused."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(str(path), "is a directory: pass a .tflite file")
    if not path.exists():
        raise ModelError(str(path), "not found: pass the path of a .tflite file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelError(str(path), f"cannot be read ({exc.strerror}): pass a readable .tflite file") from None
