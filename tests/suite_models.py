"""Keras look-alikes of models nobody here tuned to, for the validation suite (CI has no MLPerf
files): MLPerf Tiny's four reference architectures, built as their training scripts in
github mlcommons/tiny describe them, and toys with the shapes the default zoo never has
(rectangular and dilated kernels, depth multipliers, strides (2, 1), PAD, CONCATENATION, MUL,
MEAN, MAX_POOL_2D, LOGISTIC, float input/output around an int8 graph).

Untrained (He initialisation, depthwise per channel, seeded, so activations keep their scale through the ReLUs; Keras'
default Glorot halves them per layer and leaves the softmax input scale of a 27-layer MobileNet
near 1e-8, which TFLM's softmax refuses by aborting) and calibrated on deterministic synthetic data
of unit scale. MACs are counted here
from the Keras layer configs (`independent_macs`), not with pipeline.analysis.costs.
"""
from __future__ import annotations

import numpy as np

CALIBRATION_SAMPLES = 4


def _keras():
    import keras

    keras.utils.set_random_seed(0)
    return keras


def _depthwise_he(k: int):
    """He initialisation per channel (fan in k*k): Keras counts every channel in the fan in."""
    return _keras().initializers.RandomNormal(stddev=(2.0 / (k * k)) ** 0.5, seed=0)


def _conv_bn_relu(x, filters, kernel, strides=1, name=None):
    keras = _keras()
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name,
                            kernel_initializer="he_normal")(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def vww_mobilenet_v1_025():
    """MLPerf Tiny VWW: MobileNetV1 alpha 0.25 on 96x96x3, 2 classes (vww/train_vww.py)."""
    keras = _keras()
    inp = keras.Input((96, 96, 3), batch_size=1)
    x = _conv_bn_relu(inp, 8, 3, 2)
    for filters, stride in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1),
                            (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]:
        x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                                         depthwise_initializer=_depthwise_he(3))(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = _conv_bn_relu(x, filters, 1)
    x = keras.layers.AveragePooling2D(3)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out, name="vww_mobilenet_v1_025")


def kws_ds_cnn():
    """MLPerf Tiny KWS: DS-CNN on 49x10x1 MFCCs, first conv 10x4 stride 2, 12 classes
    (keyword_spotting/keras_model.py)."""
    keras = _keras()
    inp = keras.Input((49, 10, 1), batch_size=1)
    x = _conv_bn_relu(inp, 64, (10, 4), 2)
    for _ in range(4):
        x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False,
                                         depthwise_initializer=_depthwise_he(3))(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = _conv_bn_relu(x, 64, 1)
    x = keras.layers.AveragePooling2D((25, 5))(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(12, activation="softmax")(x)
    return keras.Model(inp, out, name="kws_ds_cnn")


def resnet8_cifar10():
    """MLPerf Tiny IC: ResNet-8 on 32x32x3 with ADD shortcuts, 10 classes
    (image_classification/keras_model.py)."""
    keras = _keras()
    inp = keras.Input((32, 32, 3), batch_size=1)
    x = _conv_bn_relu(inp, 16, 3)
    for filters, stride in [(16, 1), (32, 2), (64, 2)]:
        y = _conv_bn_relu(x, filters, 3, stride)
        y = keras.layers.BatchNormalization()(keras.layers.Conv2D(filters, 3, padding="same")(y))
        if stride != 1:
            x = keras.layers.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = keras.layers.ReLU()(keras.layers.Add()([x, y]))
    x = keras.layers.AveragePooling2D(8)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out, name="resnet8_cifar10")


def ad_autoencoder():
    """MLPerf Tiny AD: the fully connected autoencoder on 640 inputs (anomaly_detection/keras_model.py)."""
    keras = _keras()
    inp = keras.Input((640,), batch_size=1)
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(keras.layers.Dense(units)(x)))
    out = keras.layers.Dense(640)(x)
    return keras.Model(inp, out, name="ad_autoencoder")


def toy_rect_dilated():
    """Rectangular kernels, strides (2, 1), dilation 2, depth multiplier 2, valid padding, PAD,
    MAX_POOL_2D, MEAN, a Dense on a rank-3 input, LOGISTIC."""
    keras = _keras()
    inp = keras.Input((40, 12, 2), batch_size=1)
    x = keras.layers.Conv2D(8, (5, 3), strides=(2, 1), padding="valid", activation="relu")(inp)
    x = keras.layers.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = keras.layers.DepthwiseConv2D((3, 1), depth_multiplier=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(12, (1, 5), dilation_rate=(1, 2), padding="same", activation="relu")(x)
    x = keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same")(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Dense(6)(x)                      # FULLY_CONNECTED on a rank-4 input
    x = keras.layers.GlobalAveragePooling2D()(x)      # MEAN
    out = keras.layers.Dense(3, activation="sigmoid")(x)
    return keras.Model(inp, out, name="toy_rect_dilated")


def toy_branches():
    """CONCATENATION, MUL, ADD of two branches, depth multiplier 3 on one input channel."""
    keras = _keras()
    inp = keras.Input((16, 16, 1), batch_size=1)
    a = keras.layers.DepthwiseConv2D(3, depth_multiplier=3, padding="same", activation="relu")(inp)
    b = keras.layers.Conv2D(3, (1, 7), padding="same", activation="relu")(inp)
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.Multiply()([x, x])
    x = keras.layers.Add()([x, keras.layers.Conv2D(6, 1)(x)])
    x = keras.layers.AveragePooling2D(16)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out, name="toy_branches")


# name -> (builder, float input/output around the int8 graph?)
SUITE = {
    "vww_mobilenet_v1_025": (vww_mobilenet_v1_025, False),
    "kws_ds_cnn": (kws_ds_cnn, False),
    "resnet8_cifar10": (resnet8_cifar10, False),
    "ad_autoencoder": (ad_autoencoder, True),   # MLPerf ships it with float input and output
    "toy_rect_dilated": (toy_rect_dilated, False),
    "toy_branches": (toy_branches, True),
}


def calibration(model):
    rng = np.random.default_rng(0)
    shape = (1, *model.input_shape[1:])

    def representative():
        for _ in range(CALIBRATION_SAMPLES):
            yield [rng.uniform(-1.0, 1.0, shape).astype(np.float32)]

    return representative


def convert(model, float_io: bool) -> bytes:
    """int8 .tflite; with float_io the converter's default float32 input and output (QUANTIZE and
    DEQUANTIZE at the edges)."""
    import tensorflow as tf

    from pipeline.native_output import quiet_native_output

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with quiet_native_output():
        return converter.convert()


def independent_macs(model) -> int:
    """MACs from each layer's config and Keras' own shapes: Conv2D k_h*k_w*(C_in/groups)*filters
    per output pixel, DepthwiseConv2D k_h*k_w*C_in*multiplier per output pixel, Dense
    in*units per input row."""
    import keras

    total = 0
    for layer in model.layers:
        config = layer.get_config()
        out = layer.output.shape
        pixels = int(np.prod([d for d in out[:-1] if d]))
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            k_h, k_w = config["kernel_size"]
            total += k_h * k_w * layer.input.shape[-1] * config["depth_multiplier"] * pixels
        elif isinstance(layer, keras.layers.Conv2D):
            k_h, k_w = config["kernel_size"]
            total += k_h * k_w * layer.input.shape[-1] // config.get("groups", 1) * config["filters"] * pixels
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * config["units"] * pixels
    return total


def build(name: str) -> tuple[bytes, int]:
    """(.tflite bytes, independent MAC count) of one suite model."""
    builder, float_io = SUITE[name]
    model = builder()
    return convert(model, float_io), independent_macs(model)
