"""The seed's cost model: multiplications (MACs) and weights of each convolution kind.

A standard convolution with a D_K x D_K kernel, M input and N output channels on a D_F x D_F output
map costs D_K^2 * M * N * D_F^2 MACs and D_K^2 * M * N weights. A depthwise-separable one (depthwise
D_K x D_K, then pointwise 1x1) costs M * D_F^2 * (D_K^2 + N) MACs and M * (D_K^2 + N) weights:
the ratio separable / standard is 1/N + 1/D_K^2 for both. Each function takes one layer's shape and
returns a cost that adds up, so the same code serves the Keras model, the .tflite and the report.
"""
from __future__ import annotations

from dataclasses import dataclass

# Layer kinds that carry MACs. Everything else (pooling, softmax, reshape) is counted as 0 MACs:
# the seed's formulas cover multiplications of weights, and those ops have none.
KINDS = ("conv", "depthwise", "pointwise", "fully_connected")


@dataclass(frozen=True)
class LayerCost:
    name: str
    kind: str          # conv | depthwise | pointwise | fully_connected | other
    op: str            # TFLite builtin name (CONV_2D, ...) or Keras class name
    d_k: int           # kernel side (1 for pointwise and fully connected)
    m: int             # input channels (features for fully connected)
    n: int             # output channels (depthwise: channels x multiplier)
    d_f: int           # output feature map side (1 for fully connected)
    macs: int
    params: int        # weights of the kernel per the seed's formulas (biases counted apart)
    bias: int = 0

    def shape_key(self) -> tuple:
        return (self.kind, self.d_k, self.m, self.n, self.d_f, self.macs, self.params)


def standard_conv(name: str, d_k: int, m: int, n: int, d_f: int, op: str = "CONV_2D",
                  bias: int = 0, d_f_w: int | None = None) -> LayerCost:
    area = d_f * (d_f if d_f_w is None else d_f_w)
    kind = "pointwise" if d_k == 1 else "conv"
    return LayerCost(name, kind, op, d_k, m, n, d_f, d_k * d_k * m * n * area, d_k * d_k * m * n, bias)


def depthwise_conv(name: str, d_k: int, m: int, multiplier: int, d_f: int,
                   op: str = "DEPTHWISE_CONV_2D", bias: int = 0, d_f_w: int | None = None) -> LayerCost:
    area = d_f * (d_f if d_f_w is None else d_f_w)
    n = m * multiplier
    return LayerCost(name, "depthwise", op, d_k, m, n, d_f, d_k * d_k * n * area, d_k * d_k * n, bias)


def fully_connected(name: str, m: int, n: int, op: str = "FULLY_CONNECTED", bias: int = 0) -> LayerCost:
    return LayerCost(name, "fully_connected", op, 1, m, n, 1, m * n, m * n, bias)


def other(name: str, op: str) -> LayerCost:
    return LayerCost(name, "other", op, 0, 0, 0, 0, 0, 0)


def standard_macs(d_k: int, m: int, n: int, d_f: int) -> int:
    return d_k * d_k * m * d_f * d_f * n


def separable_macs(d_k: int, m: int, n: int, d_f: int) -> int:
    return m * d_f * d_f * (d_k * d_k + n)


def separable_ratio(d_k: int, n: int) -> float:
    """Separable / standard cost for the same layer: 1/N + 1/D_K^2 (MACs and weights alike)."""
    return 1.0 / n + 1.0 / (d_k * d_k)
