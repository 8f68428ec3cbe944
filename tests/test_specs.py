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
    (("resolution = 32", "resolution = 32.7"), "resolution = 32.7 has the wrong type: use an integer"),
    (("blocks = 3", "blocks = 3.9"), "blocks = 3.9 has the wrong type: use an integer"),
    (("blocks = 3", "blocks = 3.0"), "blocks = 3.0 has the wrong type: use an integer"),
    (("alpha = 0.25", "alpha = true"), "alpha = True has the wrong type: use a finite number"),
    (("alpha = 0.25", "alpha = inf"), "alpha = inf has the wrong type: use a finite number"),
    (("alpha = 0.25", "alpha = nan"), "alpha = nan has the wrong type: use a finite number"),
    (("classes = 10", "classes = true"), "classes = True has the wrong type: use an integer"),
    (("classes = 10", "classes = 1"), "classes = 1: use 2 to 1000"),
    (("alpha = 0.25", "alpha = 8"), "at most 4"),
    (("resolution = 32", "resolution = 4096"), "resolution = 4096: use 1 to 1024"),
    (("classes = 10", "classes = 20000"), "use 2 to 1000"),
])
def test_bad_spec_is_one_clear_error(tmp_path, change, message):
    with pytest.raises(PipelineError) as err:
        load_zoo(write(tmp_path, GOOD.replace(*change)))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_every_error_is_listed_at_once_by_model_and_field(tmp_path):
    second = GOOD.split("[defaults]")[1].split("[[model]]", 1)[1].replace("ok_model", "second")
    text = GOOD.replace("resolution = 32", "resolution = 32.7").replace("alpha = 0.25", "alpha = inf")
    text += "[[model]]" + second.replace("blocks = 3", "blocks = true").replace('"separable"', '"seperable"')
    with pytest.raises(PipelineError) as err:
        load_zoo(write(tmp_path, text))
    message = str(err.value)
    assert "\n" not in message and "4 errors" in message
    for part in ("model #1 'ok_model': alpha = inf", "model #1 'ok_model': resolution = 32.7",
                 "model #2 'second': blocks = True", "model #2 'second': conv = 'seperable'"):
        assert part in message


def test_classes_are_optional_and_follow_the_data(tmp_path):
    (spec,) = load_zoo(write(tmp_path, GOOD.replace("classes = 10\n", "")))
    assert spec.classes is None and spec.for_data(2).classes == 2
    (pinned,) = load_zoo(write(tmp_path, GOOD))
    assert pinned.for_data(2).classes == 10
    # the default zoo pins nothing: it runs on a 2-class folder
    assert all(s.classes is None for s in load_zoo())


def test_default_zoo_is_models_zoo_and_ships_with_the_package():
    from pathlib import Path

    from pipeline.model import specs
    from pipeline.tomlcompat import tomllib

    repo = Path(__file__).resolve().parents[1]
    assert specs.default_zoo() == repo / "models" / "zoo.toml" and specs.default_zoo().is_file()
    setuptools = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["pipeline.bundled.models"] == "models"
    assert "*.toml" in setuptools["package-data"]["pipeline.bundled.models"]


def test_duplicate_names_and_bad_toml(tmp_path):
    with pytest.raises(PipelineError, match="duplicate model name"):
        load_zoo(write(tmp_path, GOOD + GOOD.split("[defaults]")[1].split("[[model]]", 1)[1].join(["[[model]]", ""])))
    with pytest.raises(PipelineError, match="not valid TOML"):
        load_zoo(write(tmp_path, "[[model]\nname="))
