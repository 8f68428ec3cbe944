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


@pytest.mark.parametrize("d_k,m,n,d_f", [(3, 32, 64, 14), (3, 8, 16, 48), (5, 3, 10, 7), (3, 256, 256, 3)])
def test_ratio_is_one_over_n_plus_one_over_dk_squared(d_k, m, n, d_f):
    ratio = costs.separable_macs(d_k, m, n, d_f) / costs.standard_macs(d_k, m, n, d_f)
    assert ratio == pytest.approx(1 / n + 1 / d_k**2)
    assert costs.separable_ratio(d_k, n) == pytest.approx(ratio)


def test_fully_connected_and_other():
    fc = costs.fully_connected("fc", m=128, n=10)
    assert (fc.macs, fc.params, fc.kind) == (1280, 1280, "fully_connected")
    assert costs.other("pool", "AVERAGE_POOL_2D").macs == 0
