"""Stage 2: Keras model -> per-layer costs with the seed's formulas, and the check that the .tflite
holds exactly the same arithmetic (BatchNorm and ReLU fold into the convolutions on export)."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from pipeline.analysis import costs
from pipeline.analysis.costs import LayerCost
from pipeline.errors import PipelineError


def keras_layer_costs(model: keras.Model) -> list[LayerCost]:
    """Costs of the layers that multiply weights, in model order (any kernel shape, stride,
    padding, dilation, depth multiplier; Dense on inputs of any rank)."""
    found = []
    for layer in model.layers:
        out = layer.output.shape
        batch = out[0] or 1
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            k_h, k_w = layer.kernel_size
            m = layer.input.shape[-1]
            found.append(
                costs.depthwise(
                    layer.name,
                    k_h,
                    k_w,
                    m,
                    layer.depth_multiplier,
                    out[1],
                    out[2],
                    "DepthwiseConv2D",
                    m * layer.depth_multiplier if layer.use_bias else 0,
                    batch,
                )
            )
        elif isinstance(layer, keras.layers.Conv2D):
            k_h, k_w = layer.kernel_size
            n = layer.filters
            m = layer.input.shape[-1] // layer.groups
            found.append(
                costs.conv(layer.name, k_h, k_w, m, n, out[1], out[2], "Conv2D", n if layer.use_bias else 0, batch)
            )
        elif isinstance(layer, keras.layers.Dense):
            rows = 1
            for d in out[:-1]:
                rows *= d or 1
            found.append(
                costs.fully_connected(
                    layer.name,
                    layer.input.shape[-1],
                    layer.units,
                    "Dense",
                    layer.units if layer.use_bias else 0,
                    rows=rows,
                )
            )
    return found


@dataclass(frozen=True)
class LayerAgreement:
    keras: LayerCost
    tflite: LayerCost

    @property
    def agrees(self) -> bool:
        return self.keras.shape_key() == self.tflite.shape_key()


def match_layers(keras_costs: list[LayerCost], tflite_costs: list[LayerCost]) -> list[LayerAgreement]:
    """Pairs the layers that carry MACs in order and raises if any pair differs."""
    arithmetic = [c for c in tflite_costs if c.kind in costs.KINDS]
    if len(arithmetic) != len(keras_costs):
        raise PipelineError(
            f"the .tflite has {len(arithmetic)} layers with weights, the Keras model "
            f"{len(keras_costs)}: the export changed the network; re-export it"
        )
    pairs = [LayerAgreement(k, t) for k, t in zip(keras_costs, arithmetic)]
    for pair in pairs:
        if not pair.agrees:
            raise PipelineError(
                f"layer {pair.keras.name}: Keras counts {pair.keras.shape_key()}, the "
                f".tflite {pair.tflite.shape_key()}: the two must agree; report this as a bug"
            )
    return pairs
