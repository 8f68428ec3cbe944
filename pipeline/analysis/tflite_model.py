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
from pipeline.errors import PipelineError

BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
TENSOR_TYPES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None


DTYPE_BYTES = {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "float16": 2, "int32": 4, "float32": 4,
               "int64": 8, "float64": 8}


@dataclass(frozen=True)
class OperatorIO:
    """What one operator reads and writes at run time (for arena planning)."""
    op: str
    activation_bytes: int          # non-constant inputs + outputs
    input_shape: tuple[int, ...]   # first input
    filter_shape: tuple[int, ...]  # second input when constant (weights), else ()
    output_shape: tuple[int, ...]
    stride: tuple[int, int]        # (h, w); (1, 1) for ops without strides


@dataclass(frozen=True)
class TfliteAnalysis:
    name: str                      # file stem
    sha256: str
    model_bytes: int               # flash the model data takes
    ops: tuple[str, ...]           # distinct builtin ops in order of first use
    operators: tuple[str, ...]     # every operator in execution order
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    layers: tuple[LayerCost, ...]  # one per operator
    weights_bytes: int             # bytes of constant tensors (weights, biases)
    custom_ops: tuple[str, ...] = field(default=())
    operator_io: tuple[OperatorIO, ...] = field(default=())

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
        return all(t.dtype == "int8" for t in self.inputs + self.outputs)


def _tensor_info(model: schema.ModelT, graph, index: int) -> TensorInfo:
    tensor = graph.tensors[index]
    quant = tensor.quantization
    scale = float(quant.scale[0]) if quant is not None and quant.scale is not None and len(quant.scale) else None
    zero = int(quant.zeroPoint[0]) if quant is not None and quant.zeroPoint is not None and len(quant.zeroPoint) else None
    name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
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


def _layer_cost(op: str, name: str, inputs: list[TensorInfo], outputs: list[TensorInfo],
                options) -> LayerCost:
    out = outputs[0].shape
    bias = int(np.prod(inputs[2].shape)) if len(inputs) > 2 and inputs[2] is not None else 0
    if op == "CONV_2D":
        n, k_h, k_w, m = inputs[1].shape
        _check_square(name, k_h, k_w)
        return costs.standard_conv(name, k_h, m, n, out[1], op, bias, d_f_w=out[2])
    if op == "DEPTHWISE_CONV_2D":
        _, k_h, k_w, channels = inputs[1].shape
        _check_square(name, k_h, k_w)
        m = inputs[0].shape[3]
        return costs.depthwise_conv(name, k_h, m, channels // m, out[1], op, bias, d_f_w=out[2])
    if op == "FULLY_CONNECTED":
        n, m = inputs[1].shape
        return costs.fully_connected(name, m, n, op, bias)
    return costs.other(name, op)


def _check_square(name: str, k_h: int, k_w: int) -> None:
    if k_h != k_w:
        raise PipelineError(f"layer {name} has a {k_h}x{k_w} kernel: the cost model covers square kernels only")


def _tensor_bytes(tensor: TensorInfo) -> int:
    return int(np.prod(tensor.shape, dtype=np.int64)) * DTYPE_BYTES.get(tensor.dtype, 4)


def _operator_io(op: str, ins: list, outs: list, constant: list[bool], options) -> OperatorIO:
    activation = sum(_tensor_bytes(t) for t, c in zip(ins, constant) if t is not None and not c)
    activation += sum(_tensor_bytes(t) for t in outs if t is not None)
    stride = (getattr(options, "strideH", 1) or 1, getattr(options, "strideW", 1) or 1)
    weights = ins[1].shape if len(ins) > 1 and ins[1] is not None and constant[1] else ()
    return OperatorIO(op, activation, ins[0].shape if ins and ins[0] is not None else (), weights,
                      outs[0].shape, stride)


def read_model(data: bytes, source: str) -> schema.ModelT:
    # A .tflite carries the file identifier "TFL3" at bytes 4..8.
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise PipelineError(f"{source} is not a TFLite flatbuffer (no 'TFL3' identifier): "
                            "pass a .tflite file written by the TFLite converter")
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # the generated parser raises whatever struct/index error it hits
        raise PipelineError(f"{source} is a corrupt TFLite file ({type(exc).__name__}): "
                            "re-export it") from None
    if not model.subgraphs:
        raise PipelineError(f"{source} has no subgraph: re-export it")
    return model


def analyze_tflite_bytes(data: bytes, name: str, source: str | None = None) -> TfliteAnalysis:
    source = source or name
    model = read_model(data, source)
    graph = model.subgraphs[0]
    try:
        buffers = model.buffers or []
        info = lambda i: _tensor_info(model, graph, i) if i >= 0 else None  # noqa: E731
        def is_constant(index: int) -> bool:
            buffer = graph.tensors[index].buffer if index >= 0 else 0
            return 0 < buffer < len(buffers) and buffers[buffer].data is not None and len(buffers[buffer].data) > 0

        layers, operators, custom, io = [], [], [], []
        for operator in graph.operators or []:
            code = model.operatorCodes[operator.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            op = BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")
            if op == "CUSTOM":
                op = f"CUSTOM:{code.customCode.decode() if code.customCode else '?'}"
                custom.append(op)
            ins = [info(i) for i in operator.inputs]
            outs = [info(i) for i in operator.outputs]
            operators.append(op)
            layers.append(_layer_cost(op, _short_name(outs[0].name), ins, outs, operator.builtinOptions))
            io.append(_operator_io(op, ins, outs, [is_constant(i) for i in operator.inputs],
                                   operator.builtinOptions))
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
        raise PipelineError(f"{source} is a corrupt or unsupported TFLite file "
                            f"({type(exc).__name__}: {exc}): re-export it") from None
    return TfliteAnalysis(
        name=name, sha256=hashlib.sha256(data).hexdigest(), model_bytes=len(data),
        ops=tuple(dict.fromkeys(operators)), operators=tuple(operators), inputs=inputs,
        outputs=outputs, layers=tuple(layers), weights_bytes=weights, custom_ops=tuple(custom),
        operator_io=tuple(io))


def analyze_tflite(path: str | Path) -> TfliteAnalysis:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path} not found: pass the path of a .tflite file")
    return analyze_tflite_bytes(path.read_bytes(), path.stem, str(path))
