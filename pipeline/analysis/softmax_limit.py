"""A limit of TFLM's int8 Softmax that aborts the process instead of returning an error.

Softmax's Prepare (tensorflow/lite/micro/kernels/softmax_common.cc) calls PreprocessSoftmaxScaling
with 5 integer bits, which passes beta * input_scale * 2^(31 - 5) to
QuantizeMultiplierGreaterThanOne: TFLITE_CHECK_GT(multiplier, 1) aborts when the product is not
above 1, i.e. when the softmax input scale is at most 2^-26 / beta. That happens when the logits
hardly vary over the calibration data (an untrained network whose activations vanish)."""

from __future__ import annotations

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

INTEGER_BITS = 5
SMALLEST_SCALE = 2.0 ** -(31 - INTEGER_BITS)


def softmax_scale_problem(model: "schema.ModelT | bytes") -> str | None:
    """What TFLM would abort on, as a message, or None."""
    if isinstance(model, (bytes, bytearray)):
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    for graph in model.subgraphs or []:
        for op in graph.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            if builtin != schema.BuiltinOperator.SOFTMAX:
                continue
            tensor = graph.tensors[op.inputs[0]]
            if tensor.type != schema.TensorType.INT8 or tensor.quantization is None:
                continue
            scales = tensor.quantization.scale
            beta = op.builtinOptions.beta if op.builtinOptions is not None else 1.0
            if scales is not None and len(scales) and beta * float(scales[0]) <= SMALLEST_SCALE:
                return (
                    f"the softmax input scale is {float(scales[0]):.3g} (TFLM's int8 Softmax needs "
                    f"more than {SMALLEST_SCALE / beta:.3g} and aborts otherwise): the logits hardly "
                    "vary over the calibration data; train the model (more epochs) or check its data"
                )
    return None
