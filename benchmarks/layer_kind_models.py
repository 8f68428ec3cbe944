"""Small int8 Keras models, one per layer kind that modern nets use and the project's kernels are
measured on (issue 21): depthwise 5x5 and 7x7 (MobileNetV3, EfficientNet-lite, MCUNet), depthwise
with a channel multiplier, 1xK and Kx1 convolutions (1-D audio models), the standard 3x3
convolution, 1x1 layers above 256 input channels, strided 1x1 shortcuts and a 5x5 first layer.
Weights are seeded random (instruction counts and bit-exactness do not depend on training),
calibrated on seeded random inputs.

    python benchmarks/layer_kind_models.py OUT_DIR      # writes OUT_DIR/<kind>.tflite

benchmarks/kernels.py --layer-kinds OUT_DIR builds them when the folder is empty and measures them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _layers():
    """name -> (input shape, the layers after the input): shapes of the nets named above."""
    from keras import layers as L

    def relu6():
        return L.ReLU(6.0)

    def block(*items):
        return list(items)

    return {
        # MobileNetV3-Small-like 5x5 depthwise stages (expanded channels, stride 1 and 2).
        "dw5x5": ((24, 24, 48), block(
            L.DepthwiseConv2D(5, padding="same"), relu6(),
            L.DepthwiseConv2D(5, strides=2, padding="same"), relu6(),
            L.Conv2D(96, 1), relu6(), L.DepthwiseConv2D(5, padding="same"), relu6())),
        # MCUNet-like 7x7 depthwise.
        "dw7x7": ((12, 12, 96), block(
            L.DepthwiseConv2D(7, padding="same"), relu6(),
            L.DepthwiseConv2D(7, strides=2, padding="same"), relu6())),
        # Depthwise with a channel multiplier of 2 on a few channels (and 4 on fewer).
        "dw_multiplier": ((24, 24, 16), block(
            L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), relu6(),
            L.DepthwiseConv2D(3, depth_multiplier=4, padding="same"), relu6())),
        # A 1-D audio model: Conv1D layers export as CONV_2D with a 1xK filter.
        "conv_1xk": ((49, 40), block(
            L.Conv1D(64, 5, padding="same"), L.ReLU(), L.Conv1D(64, 9, padding="same"), L.ReLU(),
            L.Conv1D(32, 3, strides=2, padding="same"), L.ReLU())),
        # Kx1 convolutions (a time-frequency model's frequency filters).
        "conv_kx1": ((32, 16, 16), block(
            L.Conv2D(32, (5, 1), padding="same"), L.ReLU(), L.Conv2D(32, (3, 1), padding="same"), L.ReLU())),
        # Standard 3x3 convolutions (ResNet/VGG-like stages).
        "conv3x3": ((24, 24, 16), block(
            L.Conv2D(32, 3, padding="same"), L.ReLU(), L.Conv2D(32, 3, strides=2, padding="same"), L.ReLU(),
            L.Conv2D(64, 3, padding="same"), L.ReLU())),
        # 1x1 layers above 256 input channels (MobileNetV2's expansions at the end of the net).
        "pointwise_wide": ((6, 6, 384), block(L.Conv2D(96, 1), relu6(), L.Conv2D(320, 1), relu6(),
                                              L.Conv2D(64, 1))),
        # ResNet's strided 1x1 shortcut.
        "pointwise_strided": ((32, 32, 16), block(L.Conv2D(32, 1, strides=2), L.ReLU())),
        # A 5x5 first layer on RGB (75 taps).
        "first_5x5": ((64, 64, 3), block(L.Conv2D(16, 5, strides=2, padding="same"), L.ReLU())),
    }


def build(out_dir: Path) -> list[Path]:
    import keras
    import numpy as np

    from pipeline.model.quantize import convert_keras_int8

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, (name, (shape, layers)) in enumerate(_layers().items()):
        keras.utils.set_random_seed(index)
        model = keras.Sequential([keras.Input(shape), *layers])
        rng = np.random.default_rng(index)

        def representative(shape=shape, rng=rng):
            for _ in range(16):
                yield [rng.uniform(-1.0, 1.0, (1, *shape)).astype(np.float32)]

        path = out_dir / f"{name}.tflite"
        path.write_bytes(convert_keras_int8(model, representative))
        written.append(path)
        print(f"  {path}", file=sys.stderr)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        sys.exit(2)
    build(Path(sys.argv[1]))
