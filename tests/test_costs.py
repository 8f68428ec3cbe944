"""The seed's formulas on hand-built layers."""
import pytest

from pipeline.analysis import costs


def test_standard_conv_formula():
    layer = costs.standard_conv("c", d_k=3, m=32, n=64, d_f=14)
    assert layer.macs == 3 * 3 * 32 * 64 * 14 * 14
    assert layer.params == 3 * 3 * 32 * 64
    assert layer.kind == "conv"
    assert costs.standard_conv("p", 1, 32, 64, 14).kind == "pointwise"


def test_separable_is_depthwise_plus_pointwise():
    dw = costs.depthwise_conv("dw", d_k=3, m=32, multiplier=1, d_f=14)
    pw = costs.standard_conv("pw", d_k=1, m=32, n=64, d_f=14)
    assert dw.macs + pw.macs == costs.separable_macs(3, 32, 64, 14) == 32 * 14 * 14 * (9 + 64)
    assert dw.params + pw.params == 32 * (9 + 64)


# (d_k, m, n, d_f) -> standard and separable MACs worked out by hand, and 1/N + 1/D_K^2 as a fraction
HAND = [
    ((3, 32, 64, 14), 3_612_672, 457_856, 73 / 576),      # 9*32*64*196; 32*196*(9+64); 1/64 + 1/9
    ((3, 8, 16, 48), 2_654_208, 460_800, 25 / 144),       # 9*8*16*2304; 8*2304*(9+16); 1/16 + 1/9
    ((5, 3, 10, 7), 36_750, 5_145, 7 / 50),               # 25*3*10*49; 3*49*(25+10); 1/10 + 1/25
    ((3, 256, 256, 3), 5_308_416, 610_560, 265 / 2304),   # 9*256*256*9; 256*9*(9+256); 1/256 + 1/9
]


@pytest.mark.parametrize("shape,standard,separable,ratio", HAND)
def test_formulas_against_hand_computed_values(shape, standard, separable, ratio):
    d_k, m, n, d_f = shape
    assert costs.standard_macs(d_k, m, n, d_f) == standard
    assert costs.separable_macs(d_k, m, n, d_f) == separable
    assert costs.separable_ratio(d_k, n) == pytest.approx(ratio, rel=1e-12)
    assert separable / standard == pytest.approx(ratio, rel=1e-12)


def test_fully_connected_and_other():
    fc = costs.fully_connected("fc", m=128, n=10)
    assert (fc.macs, fc.params, fc.kind) == (1280, 1280, "fully_connected")
    assert costs.other("pool", "AVERAGE_POOL_2D").macs == 0
