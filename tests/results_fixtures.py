"""Hand-written results of a small standard/separable pair (16x16x1, alpha 0.25, 3 blocks, 10
classes), for report and cache tests that must not train. Every MAC count is computed by hand
from the layer shapes: standard D_K^2*M*N*D_F^2, depthwise D_K^2*M*D_F^2, pointwise M*N*D_F^2."""
from __future__ import annotations


def layer(name, kind, op, d_k, m, n, d_f, macs, params):
    return {"name": name, "kind": kind, "op": op, "d_k": d_k, "m": m, "n": n, "d_f": d_f,
            "macs": macs, "params": params, "bias": n}


SEP_LAYERS = [
    layer("conv1", "conv", "CONV_2D", 3, 1, 8, 8, 9 * 1 * 8 * 64, 72),              # 4,608
    layer("block1_dw", "depthwise", "DEPTHWISE_CONV_2D", 3, 8, 8, 8, 9 * 8 * 64, 72),  # 4,608
    layer("block1_pw", "pointwise", "CONV_2D", 1, 8, 16, 8, 8 * 16 * 64, 128),       # 8,192
    layer("block2_dw", "depthwise", "DEPTHWISE_CONV_2D", 3, 16, 16, 4, 9 * 16 * 16, 144),  # 2,304
    layer("block2_pw", "pointwise", "CONV_2D", 1, 16, 32, 4, 16 * 32 * 16, 512),     # 8,192
    layer("block3_dw", "depthwise", "DEPTHWISE_CONV_2D", 3, 32, 32, 4, 9 * 32 * 16, 288),  # 4,608
    layer("block3_pw", "pointwise", "CONV_2D", 1, 32, 32, 4, 32 * 32 * 16, 1024),    # 16,384
    layer("classifier", "fully_connected", "FULLY_CONNECTED", 1, 32, 10, 1, 320, 320),
]
STD_LAYERS = [
    SEP_LAYERS[0],
    layer("block1_conv", "conv", "CONV_2D", 3, 8, 16, 8, 9 * 8 * 16 * 64, 1152),     # 73,728
    layer("block2_conv", "conv", "CONV_2D", 3, 16, 32, 4, 9 * 16 * 32 * 16, 4608),   # 73,728
    layer("block3_conv", "conv", "CONV_2D", 3, 32, 32, 4, 9 * 32 * 32 * 16, 9216),   # 147,456
    SEP_LAYERS[-1],
]
SEP_MACS = 49_216   # 4,608 + 44,288 in the blocks + 320
STD_MACS = 299_840  # 4,608 + 294,912 in the blocks + 320


def result(name: str, conv: str, *, fits: bool = True, epochs: int = 3) -> dict:
    layers = SEP_LAYERS if conv == "separable" else STD_LAYERS
    macs = sum(r["macs"] for r in layers)
    params = sum(r["params"] for r in layers)
    return {"name": name, "conv": conv, "alpha": 0.25, "resolution": 16, "channels": 1, "blocks": 3,
            "classes": 10, "epochs": epochs, "status": "ok", "board": "nano33ble", "macs": macs,
            "params": params, "bias_params": 0, "flash_bytes": 10 * params, "weights_bytes": params,
            "arena_bytes_host": 5000, "arena_bytes_predicted": 4800, "accuracy_float": 0.9,
            "accuracy_int8": 0.9, "tflm_agreement": 1.0, "test_samples": 359, "fits": fits,
            "fit_reasons": [] if fits else ["model 2,000,000 B > flash budget 783,040 B"],
            "ops": ["CONV_2D"], "standard_equivalent_macs": STD_MACS, "network_ratio": macs / STD_MACS,
            "tflite": f"models/{name}/{name}.tflite", "layers": layers, "data": "test", "data_digest": "d"}
