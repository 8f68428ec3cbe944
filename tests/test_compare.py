"""The measured-vs-predicted comparison on hand-built results."""
import pytest

from pipeline.report.compare import compare, fit_latency


def model(name, conv, macs, ticks, source="emulated"):
    layers = [{"name": "conv1", "kind": "conv", "d_k": 3, "macs": macs // 2},
              {"name": "block1_conv", "kind": "conv", "d_k": 3, "macs": macs - macs // 2}]
    timing = {"instructions": ticks, "layers": [{"op": "CONV_2D", "instructions": ticks // 4},
                                                 {"op": "CONV_2D", "instructions": ticks - ticks // 4},
                                                 {"op": "SOFTMAX", "instructions": 10}]}
    if source == "measured":
        timing = {"cycles": ticks, "layers": [{"op": l["op"], "ticks": l["instructions"]} for l in timing["layers"]]}
    return {"name": name, "conv": conv, "status": "ok", "alpha": 0.25, "resolution": 32, "channels": 1,
            "blocks": 1, "classes": 10, "macs": macs, "layers": layers, source: timing}


def test_fit_recovers_a_line():
    fit = fit_latency([1_000, 2_000, 4_000], [3_500, 6_500, 12_500])
    assert fit.slope == pytest.approx(3.0) and fit.intercept == pytest.approx(500) and fit.r2 == pytest.approx(1.0)
    assert fit_latency([1_000], [5]) is None


def test_pairs_layers_and_kinds():
    result = compare([model("std", "standard", 10_000, 40_000), model("sep", "separable", 2_000, 12_000)])
    pair = result["pairs"][0]
    assert pair["predicted_ratio"] == pytest.approx(0.2) and pair["measured_ratio"] == pytest.approx(0.3)
    std = next(r for r in result["models"] if r["name"] == "std")
    assert std["unit"] == "instructions" and std["ticks_per_mac"] == pytest.approx(4.0)
    assert [r["kind"] for r in std["layers"]] == ["first conv", "conv 3x3", "other"]
    assert std["kinds"]["first conv"]["ticks_per_mac"] == pytest.approx(10_000 / 5_000)
    assert result["fit"]["unit"] == "instructions"


def test_board_cycles_win_over_emulator_and_units_do_not_mix():
    board = model("std", "standard", 10_000, 50_000, source="measured")
    result = compare([board, model("sep", "separable", 2_000, 12_000)])
    assert {r["name"]: r["unit"] for r in result["models"]} == {"std": "cycles", "sep": "instructions"}
    assert result["fit"] is None and result["pairs"] == []
