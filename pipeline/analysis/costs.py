"""The seed's cost model: multiplications (MACs) and weights of each convolution kind.

A standard convolution with a D_K x D_K kernel, M input and N output channels on a D_F x D_F output
map costs D_K^2 * M * N * D_F^2 MACs and D_K^2 * M * N weights. A depthwise-separable one (depthwise
D_K x D_K, then pointwise 1x1) costs M * D_F^2 * (D_K^2 + N) MACs and M * (D_K^2 + N) weights:
the ratio separable / standard is 1/N + 1/D_K^2 for both. Each function takes one layer's shape and
returns a cost that adds up, so the same code serves the Keras model, the .tflite and the report.

Those are the square case of the general count the layers use: a K_h x K_w kernel (any stride,
padding or dilation: they change the output size, not the work per output) with M input and N
output channels on an H_out x W_out map costs K_h*K_w*M*H_out*W_out*N MACs per batch item; a
depthwise one with multiplier `mult` K_h*K_w*M*mult*H_out*W_out; a fully connected one
M*N per row of its input (rows = every leading dimension of any input rank).

Ops without weights have no MACs; their `element_ops` column counts the elements they compute:
the output elements of element-wise ops, copies and activations (ADD, MUL, QUANTIZE, SOFTMAX,
RESHAPE, PAD, CONCATENATION, ...), window reads of pooling (K_h*K_w*H_out*W_out*C) and the input
elements a reduction (MEAN) folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# Layer kinds that carry MACs. Everything else (pooling, softmax, reshape) is counted as 0 MACs:
# the seed's formulas cover multiplications of weights, and those ops have none.
KINDS = ("conv", "depthwise", "pointwise", "fully_connected")


@dataclass(frozen=True)
class LayerCost:
    name: str
    kind: str  # conv | depthwise | pointwise | fully_connected | other
    op: str  # TFLite builtin name (CONV_2D, ...) or Keras class name
    d_k: int  # kernel side (1 for pointwise and fully connected)
    m: int  # input channels (features for fully connected)
    n: int  # output channels (depthwise: channels x multiplier)
    d_f: int  # output feature map side (1 for fully connected)
    macs: int
    params: int  # weights of the kernel per the seed's formulas (biases counted apart)
    bias: int = 0
    k_h: int = 0  # kernel height and width (0 for ops without a kernel)
    k_w: int = 0
    h_out: int = 0  # output map height and width (1 for fully connected)
    w_out: int = 0
    element_ops: int = 0  # elements an op without weights computes (see the module docstring)

    def shape_key(self) -> tuple:
        return (self.kind, self.k_h, self.k_w, self.m, self.n, self.h_out, self.w_out, self.macs, self.params)


def conv(
    name: str,
    k_h: int,
    k_w: int,
    m: int,
    n: int,
    h_out: int,
    w_out: int,
    op: str = "CONV_2D",
    bias: int = 0,
    batch: int = 1,
) -> LayerCost:
    """General convolution: K_h*K_w*M*H_out*W_out*N MACs (per batch item), K_h*K_w*M*N weights.
    `d_k` is the kernel side when it is square, else 0 (no seed formula applies)."""
    kind = "pointwise" if (k_h, k_w) == (1, 1) else "conv"
    return LayerCost(
        name,
        kind,
        op,
        k_h if k_h == k_w else 0,
        m,
        n,
        h_out,
        k_h * k_w * m * h_out * w_out * n * batch,
        k_h * k_w * m * n,
        bias,
        k_h,
        k_w,
        h_out,
        w_out,
    )


def depthwise(
    name: str,
    k_h: int,
    k_w: int,
    m: int,
    multiplier: int,
    h_out: int,
    w_out: int,
    op: str = "DEPTHWISE_CONV_2D",
    bias: int = 0,
    batch: int = 1,
) -> LayerCost:
    """General depthwise convolution: K_h*K_w*M*mult*H_out*W_out MACs, K_h*K_w*M*mult weights."""
    n = m * multiplier
    return LayerCost(
        name,
        "depthwise",
        op,
        k_h if k_h == k_w else 0,
        m,
        n,
        h_out,
        k_h * k_w * n * h_out * w_out * batch,
        k_h * k_w * n,
        bias,
        k_h,
        k_w,
        h_out,
        w_out,
    )


def standard_conv(
    name: str, d_k: int, m: int, n: int, d_f: int, op: str = "CONV_2D", bias: int = 0, d_f_w: int | None = None
) -> LayerCost:
    """The seed's square case: D_K^2*M*N*D_F^2."""
    return conv(name, d_k, d_k, m, n, d_f, d_f if d_f_w is None else d_f_w, op, bias)


def depthwise_conv(
    name: str,
    d_k: int,
    m: int,
    multiplier: int,
    d_f: int,
    op: str = "DEPTHWISE_CONV_2D",
    bias: int = 0,
    d_f_w: int | None = None,
) -> LayerCost:
    return depthwise(name, d_k, d_k, m, multiplier, d_f, d_f if d_f_w is None else d_f_w, op, bias)


def fully_connected(name: str, m: int, n: int, op: str = "FULLY_CONNECTED", bias: int = 0, rows: int = 1) -> LayerCost:
    """M*N MACs per input row; `rows` = product of the input's leading dimensions."""
    return LayerCost(name, "fully_connected", op, 1, m, n, 1, m * n * rows, m * n, bias, 1, 1, 1, 1)


def other(name: str, op: str, element_ops: int = 0) -> LayerCost:
    return LayerCost(name, "other", op, 0, 0, 0, 0, 0, 0, element_ops=element_ops)


def standard_macs(d_k: int, m: int, n: int, d_f: int) -> int:
    return d_k * d_k * m * d_f * d_f * n


def separable_macs(d_k: int, m: int, n: int, d_f: int) -> int:
    return m * d_f * d_f * (d_k * d_k + n)


def separable_ratio(d_k: int, n: int) -> float:
    """Separable / standard cost for the same layer: 1/N + 1/D_K^2 (MACs and weights alike)."""
    return 1.0 / n + 1.0 / (d_k * d_k)


@dataclass(frozen=True)
class BlockFormula:
    """The seed's formulas for one depthwise-separable block (depthwise D_K x D_K, pointwise 1x1)."""

    standard_equivalent_macs: int  # D_K^2 * M * N * D_F^2: the standard conv it replaces
    separable_formula_macs: int  # M * D_F^2 * (D_K^2 + N)
    ratio_formula: float  # 1/N + 1/D_K^2


def block_formulas(layers: Sequence[LayerCost]) -> list[BlockFormula | None]:
    """Per layer: on the pointwise half of a (square-kernel) depthwise + pointwise pair, the
    block's formulas; None on every other layer."""
    found: list[BlockFormula | None] = []
    for i, layer in enumerate(layers):
        previous = layers[i - 1] if i else None
        if layer.kind == "pointwise" and previous is not None and previous.kind == "depthwise" and previous.d_k:
            d_k, m, n, d_f = previous.d_k, previous.m, layer.n, layer.d_f
            found.append(
                BlockFormula(standard_macs(d_k, m, n, d_f), separable_macs(d_k, m, n, d_f), separable_ratio(d_k, n))
            )
        else:
            found.append(None)
    return found


def standard_equivalent_macs(layers: Sequence[LayerCost], formulas: Sequence[BlockFormula | None]) -> int:
    """The network's MACs if every separable block were a standard conv (the seed's formula)."""
    total = 0
    for layer, formula in zip(layers, formulas):
        if formula is not None:
            total += formula.standard_equivalent_macs
        elif layer.kind != "depthwise":
            total += layer.macs
    return total


def blocks_formula_ratio(formulas: Sequence[BlockFormula | None]) -> float | None:
    """The seed's formula over the separable blocks only: sum M*D_F^2*(D_K^2+N) / sum D_K^2*M*N*D_F^2."""
    blocks = [f for f in formulas if f is not None]
    if not blocks:
        return None
    return sum(f.separable_formula_macs for f in blocks) / sum(f.standard_equivalent_macs for f in blocks)
