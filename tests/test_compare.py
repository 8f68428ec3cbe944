"""Instructions against MACs: a line per network kind, fitted apart (standard and separable nets
run different kernels at different costs per MAC), and only with enough points to mean anything."""
import pytest

from pipeline.records import ModelResults
from pipeline.report.compare import fit_line, instruction_fits
from results_fixtures import emulated, result


def test_fit_recovers_a_line_and_needs_three_points():
    fit = fit_line([1_000, 2_000, 4_000], [3_500, 6_500, 12_500])
    assert fit.slope == pytest.approx(3.0) and fit.intercept == pytest.approx(500) and fit.r2 == pytest.approx(1.0)
    assert fit_line([1_000, 2_000], [5, 7]) is None and fit_line([1_000] * 3, [1, 2, 3]) is None


def test_each_kind_gets_its_own_line():
    models = []
    for i, macs in enumerate((1_000, 2_000, 4_000)):
        for conv, per_mac in (("standard", 2), ("separable", 4)):
            host = result(f"{conv}{i}", conv)
            host = type(host)(**{**vars(host), "macs": macs})
            models.append(ModelResults(host.name, host=host,
                                       emulated={"cmsis-nn": emulated(host.name, ["CONV_2D"], [per_mac * macs])}))
    fits = instruction_fits(models, "cmsis-nn")
    assert fits["standard"].slope == pytest.approx(2.0) and fits["separable"].slope == pytest.approx(4.0)
    assert fits["standard"].intercept == pytest.approx(0.0, abs=1e-6)
