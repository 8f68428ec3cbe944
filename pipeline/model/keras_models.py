"""Stage 1: model spec -> Keras 3 MobileNetV1-style model (standard or depthwise-separable)."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from pipeline.model.specs import FIRST_CONV_CHANNELS, ModelSpec, scaled_channels

# BatchNorm's default momentum (0.99) leaves the moving statistics far from the data after the few
# hundred steps of a brief training run, and the model then evaluates at chance: use 0.9.
BN_MOMENTUM = 0.9


@dataclass
class BuiltModel:
    spec: ModelSpec
    model: keras.Model  # batch dimension None: for training


def _conv_bn_relu(x, layer, name: str):
    x = layer(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)


def _layers(spec: ModelSpec, inputs):
    x = _conv_bn_relu(
        inputs,
        keras.layers.Conv2D(
            scaled_channels(FIRST_CONV_CHANNELS, spec.alpha), 3, strides=2, padding="same", use_bias=False, name="conv1"
        ),
        "conv1",
    )
    for index, (channels, stride) in enumerate(zip(spec.block_channels(), spec.strides[1:]), start=1):
        name = f"block{index}"
        if spec.conv == "separable":
            x = _conv_bn_relu(
                x,
                keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw"),
                f"{name}_dw",
            )
            x = _conv_bn_relu(x, keras.layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_pw"), f"{name}_pw")
        else:
            x = _conv_bn_relu(
                x,
                keras.layers.Conv2D(channels, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"),
                f"{name}_conv",
            )
    # Pooling over the whole map exports AVERAGE_POOL_2D (CMSIS-NN has a kernel for it);
    # GlobalAveragePooling2D would export MEAN, which it has not.
    size = spec.final_feature_size
    x = keras.layers.AveragePooling2D(pool_size=size, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(spec.classes, name="classifier")(x)
    return keras.layers.Softmax(name="softmax")(x)


def build_keras_model(spec: ModelSpec, batch_size: int | None = None) -> keras.Model:
    """A fixed batch_size (1 for export) keeps SHAPE/STRIDED_SLICE/PACK out of the .tflite."""
    inputs = keras.Input((spec.resolution, spec.resolution, spec.channels), batch_size=batch_size, name="input")
    return keras.Model(inputs, _layers(spec, inputs), name=spec.name)


def export_model(trained: keras.Model, spec: ModelSpec) -> keras.Model:
    """The same network with batch size 1 and the trained weights, for conversion."""
    fixed = build_keras_model(spec, batch_size=1)
    fixed.set_weights(trained.get_weights())
    return fixed
