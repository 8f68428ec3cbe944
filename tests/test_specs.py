"""Variant specs: the default zoo loads; typos and impossible values get one clear error."""
import pytest

from pipeline.errors import PipelineError
from pipeline.model.specs import load_zoo

GOOD = '''
[defaults]
channels = 1
classes = 10
[[model]]
name = "ok_model"
conv = "separable"
alpha = 0.25
resolution = 32
blocks = 3
'''


def write(tmp_path, text):
    path = tmp_path / "zoo.toml"
    path.write_text(text)
    return path


def test_default_zoo_pairs_standard_and_separable():
    specs = load_zoo()
    kinds = {(s.alpha, s.resolution, s.blocks): set() for s in specs}
    for s in specs:
        kinds[(s.alpha, s.resolution, s.blocks)].add(s.conv)
    assert all(v == {"standard", "separable"} for v in kinds.values())


def test_good_spec(tmp_path):
    (spec,) = load_zoo(write(tmp_path, GOOD))
    assert spec.strides == [2, 1, 2, 1] and spec.final_feature_size == 8


@pytest.mark.parametrize("change,message", [
    (("alpha = 0.25", "alpha = 0"), "width multiplier must be > 0"),
    (("alpha = 0.25", "alpha = -1.0"), "width multiplier must be > 0"),
    (("resolution = 32", "resolution = 2"), "too small for 3 blocks"),
    (('conv = "separable"', 'conv = "seperable"'), "use 'standard' or 'separable'"),
    (("blocks = 3", "blokcs = 3"), "unknown field(s) blokcs"),
    (('name = "ok_model"', 'name = "../evil"'), "not a safe file and C identifier"),
    (('name = "ok_model"', 'name = "has space"'), "not a safe file and C identifier"),
    (("blocks = 3", "blocks = 14"), "use 1 to 13"),
    (("alpha = 0.25", 'alpha = "wide"'), "wrong type"),
])
def test_bad_spec_is_one_clear_error(tmp_path, change, message):
    with pytest.raises(PipelineError) as err:
        load_zoo(write(tmp_path, GOOD.replace(*change)))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_names_and_bad_toml(tmp_path):
    with pytest.raises(PipelineError, match="duplicate model name"):
        load_zoo(write(tmp_path, GOOD + GOOD.split("[defaults]")[1].split("[[model]]", 1)[1].join(["[[model]]", ""])))
    with pytest.raises(PipelineError, match="not valid TOML"):
        load_zoo(write(tmp_path, "[[model]\nname="))
