"""Small seeded Keras models converted to full-int8 .tflite the way the project converts them
(pipeline/model/quantize.py: optimizations DEFAULT, a representative dataset, TFLITE_BUILTINS_INT8,
int8 input and output), and what tests/test_ref_ops.py reads from and edits in the flatbuffer: each
operator with the builtin options the kernels need, and re-packed copies with other quantization
parameters (scale/zero-point combinations the converter rarely writes).

Builders take a numpy Generator for shapes and biases; call keras.utils.set_random_seed first for
reproducible weights. Keras initializes biases to zero and the converter then drops them, so every
bias is made random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def convert(model, input_shape, *, seed=0, calib_range=1.0, per_tensor_dense=False) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [rng.uniform(-calib_range, calib_range, size=input_shape).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if per_tensor_dense:
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    return converter.convert()


@dataclass
class Op:
    name: str
    inputs: list[int]
    outputs: list[int]
    activation: str = "NONE"
    keep_dims: bool = False


def operators(buf: bytes) -> list[Op]:
    """Subgraph 0's operators with their fused activation (FULLY_CONNECTED, MUL) and keep_dims (MEAN)."""
    S = _schema()
    names = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    model = S.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        rec = Op(
            names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())],
            [op.Inputs(j) for j in range(op.InputsLength())],
            [op.Outputs(j) for j in range(op.OutputsLength())],
        )
        options = {"FULLY_CONNECTED": S.FullyConnectedOptions, "MUL": S.MulOptions, "MEAN": S.ReducerOptions}
        table = op.BuiltinOptions()
        if rec.name in options and table is not None:
            o = options[rec.name]()
            o.Init(table.Bytes, table.Pos)
            if rec.name == "MEAN":
                rec.keep_dims = bool(o.KeepDims())
            else:
                rec.activation = ACTIVATIONS.get(o.FusedActivationFunction(), "UNSUPPORTED")
        ops.append(rec)
    return ops


def interpreter(buf: bytes):
    """TFLite's builtin reference kernels, every intermediate tensor kept for reading."""
    import tensorflow as tf

    it = tf.lite.Interpreter(
        model_content=buf,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    it.allocate_tensors()
    return it


def quantization(it) -> dict[int, tuple[list[float], list[int]]]:
    """Tensor index -> (scales, zero points)."""
    out = {}
    for d in it.get_tensor_details():
        q = d["quantization_parameters"]
        out[d["index"]] = ([float(s) for s in q["scales"]], [int(z) for z in q["zero_points"]])
    return out


def edit_quantization(buf: bytes, changes: dict[int, tuple[list[float], list[int]]]) -> bytes:
    """The model with the (scales, zero points) of some tensors replaced, re-packed."""
    import flatbuffers

    S = _schema()
    model = S.ModelT.InitFromPackedBuf(buf, 0)
    for index, (scales, zero_points) in changes.items():
        q = model.subgraphs[0].tensors[index].quantization
        q.scale = [float(s) for s in scales]
        q.zeroPoint = [int(z) for z in zero_points]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# --- builders: (model, input shape) ---------------------------------------------------------------


def _randomize_bias(model, rng, sd=0.3):
    for layer in model.layers:
        if getattr(layer, "use_bias", False) and layer.weights:
            w = layer.get_weights()
            w[-1] = rng.normal(0, sd, w[-1].shape).astype(np.float32)
            layer.set_weights(w)
    return model


def dense(rng, activation=None, rows=None):
    """Dense on a [rows, K] input: FULLY_CONNECTED, batch dimension fixed."""
    import keras

    rows = int(rng.integers(1, 5)) if rows is None else rows
    k, n = int(rng.integers(8, 64)), int(rng.integers(8, 33))
    inp = keras.Input((k,), batch_size=rows)
    model = keras.Model(inp, keras.layers.Dense(n, activation=activation)(inp))
    return _randomize_bias(model, rng), (rows, k)


def dense_4d(rng, activation=None):
    """Dense on [1, H, W, C] (squeeze-excite style): FULLY_CONNECTED with a 4-D output."""
    import keras

    h, w, c, n = int(rng.integers(1, 4)), int(rng.integers(1, 4)), 4 * int(rng.integers(2, 8)), int(rng.integers(4, 20))
    inp = keras.Input((h, w, c), batch_size=1)
    model = keras.Model(inp, keras.layers.Dense(n, activation=activation)(inp))
    return _randomize_bias(model, rng), (1, h, w, c)


def global_average_pool(rng, keep_dims, conv_in_front):
    """GlobalAveragePooling2D: MEAN over axes [1, 2]."""
    import keras

    # w >= 2: over a 1x1 map the converter removes the MEAN.
    h, w, c = int(rng.integers(2, 12)), int(rng.integers(2, 12)), int(rng.integers(3, 24))
    inp = keras.Input((h, w, c), batch_size=1)
    x = keras.layers.Conv2D(c, 3, padding="same")(inp) if conv_in_front else inp
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D(keepdims=keep_dims)(x))
    return _randomize_bias(model, rng), (1, h, w, c)


def mean_over(rng, axes, keep_dims):
    """keras.ops.mean over other axes of a 1x1 convolution's output."""
    import keras

    h, w, c = int(rng.integers(2, 9)), int(rng.integers(2, 9)), int(rng.integers(3, 12))
    inp = keras.Input((h, w, c), batch_size=1)
    x = keras.layers.Conv2D(c, 1)(inp)
    model = keras.Model(inp, keras.ops.mean(x, axis=axes, keepdims=keep_dims))
    return _randomize_bias(model, rng), (1, h, w, c)


def squeeze_excite(rng, relu_after=False):
    """conv -> GAP(keepdims) -> Dense relu -> Dense sigmoid -> Multiply: MUL [1,H,W,C] * [1,1,1,C]."""
    import keras

    L = keras.layers
    h, w, c = int(rng.integers(2, 10)), int(rng.integers(2, 10)), int(rng.integers(4, 24))
    inp = keras.Input((h, w, c), batch_size=1)
    x = L.Conv2D(c, 3, padding="same")(inp)
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = L.Dense(max(2, c // 4), activation="relu")(s)
    s = L.Dense(c, activation="sigmoid")(s)
    y = L.Multiply()([x, s])
    if relu_after:  # fused into the MUL
        y = L.ReLU()(y)
    return _randomize_bias(keras.Model(inp, y), rng), (1, h, w, c)


def equal_shape_mul(rng, relu_after=False):
    """Two 1x1 convolutions of the input multiplied: MUL [1,H,W,C] * [1,H,W,C]."""
    import keras

    L = keras.layers
    h, w, c = int(rng.integers(2, 10)), int(rng.integers(2, 10)), int(rng.integers(2, 16))
    inp = keras.Input((h, w, c), batch_size=1)
    y = L.Multiply()([L.Conv2D(c, 1)(inp), L.Conv2D(c, 1, activation="tanh")(inp)])
    if relu_after:
        y = L.ReLU()(y)
    return _randomize_bias(keras.Model(inp, y), rng), (1, h, w, c)


def conv_relu6(rng):
    """keras.layers.ReLU(6.0) on a convolution whose output is also a model output, so the converter
    cannot fuse it: a standalone RELU6 whose input is the conv's scale and whose output is [0, 6]'s."""
    import keras

    L = keras.layers
    h, w, c = int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(2, 12))
    inp = keras.Input((h, w, c), batch_size=1)
    x = L.Conv2D(c, 3, padding="same")(inp)
    return _randomize_bias(keras.Model(inp, [x, L.ReLU(6.0)(x)]), rng), (1, h, w, c)


def square(n=4):
    """Multiply()([x, x]): one MUL whose two inputs are the model input."""
    import keras

    inp = keras.Input((n,), batch_size=1)
    return keras.Model(inp, keras.layers.Multiply()([inp, inp])), (1, n)
