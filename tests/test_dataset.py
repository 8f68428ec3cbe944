"""Real data: the digits ship with scikit-learn; user folders and .npz files are checked."""
import numpy as np
import pytest
from PIL import Image

from pipeline.model.dataset import load_dataset, load_digits
from pipeline.errors import PipelineError


def test_digits_split_is_stratified_and_resizes():
    data = load_digits()
    assert data.classes == 10
    assert len(data.x_train) + len(data.x_test) == 1797
    assert set(data.y_test) == set(range(10))
    resized = data.resized(24, 3)
    assert resized.x_train.shape[1:] == (24, 24, 3)
    assert 0.0 <= resized.x_train.min() and resized.x_train.max() <= 1.0


def make_folder(root, sizes_by_class):
    for name, sizes in sizes_by_class.items():
        (root / name).mkdir(parents=True)
        for i, size in enumerate(sizes):
            Image.fromarray(np.full((size, size), 40 * i, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_folder_loads(tmp_path):
    data = load_dataset(str(make_folder(tmp_path / "d", {"cat": [8] * 5, "dog": [8] * 5})))
    assert data.class_names == ("cat", "dog") and data.x_train.shape[1:] == (8, 8, 1)


@pytest.mark.parametrize("layout,message", [
    ({}, "holds no images"),
    ({"only": [8, 8, 8]}, "only one class"),
])
def test_bad_folders(tmp_path, layout, message):
    folder = make_folder(tmp_path / "d", layout)
    folder.mkdir(exist_ok=True)
    with pytest.raises(PipelineError, match=message):
        load_dataset(str(folder))


def test_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.random.default_rng(0).integers(0, 255, (20, 8, 8)), y=np.arange(20) % 2)
    assert load_dataset(str(path)).classes == 2
    np.savez(path, images=np.zeros((2, 8, 8)))
    with pytest.raises(PipelineError, match="needs arrays 'x'"):
        load_dataset(str(path))


def test_mixed_sizes_and_colour_modes_are_converted_to_the_model_input(tmp_path):
    root = tmp_path / "d"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 30), np.uint8)).save(root / "cat" / "gray.png")
    Image.fromarray(rng.integers(0, 255, (12, 20, 3), np.uint8)).save(root / "cat" / "rgb.jpg")
    Image.fromarray(rng.integers(0, 255, (9, 9, 4), np.uint8), "RGBA").save(root / "cat" / "rgba.png")
    Image.fromarray(rng.integers(0, 255, (64, 64), np.uint8)).convert("P").save(root / "dog" / "pal.gif")
    Image.fromarray(rng.integers(0, 65535, (16, 16), np.uint16)).save(root / "dog" / "deep.png")
    Image.fromarray(rng.integers(0, 255, (5, 7), np.uint8)).convert("1").save(root / "dog" / "bw.bmp")
    data = load_dataset(str(root))
    assert data.class_names == ("cat", "dog") and len(data.y_train) + len(data.y_test) == 6
    assert any("image sizes" in n for n in data.notes) and any("colour modes" in n for n in data.notes)
    for channels in (1, 3):
        resized = data.resized(24, channels)
        assert resized.x_train.shape[1:] == (24, 24, channels) and resized.x_train.dtype == np.float32
        assert 0.0 <= resized.x_train.min() and resized.x_train.max() <= 1.0


def test_a_gray_image_becomes_three_equal_planes(tmp_path):
    root = make_folder(tmp_path / "d", {"a": [8] * 3, "b": [8] * 3})
    rgb = load_dataset(str(root)).resized(8, 3)
    assert np.array_equal(rgb.x_train[..., 0], rgb.x_train[..., 2])


def test_small_splits_warn_and_the_digest_follows_the_contents(tmp_path):
    root = make_folder(tmp_path / "d", {"a": [8] * 3, "b": [8] * 3})
    small = load_dataset(str(root))
    assert len(small.y_test) == 2
    warnings = small.warnings()
    assert any("test split has fewer than 5 samples" in w and "a 1" in w for w in warnings)
    assert small.provenance()["test_samples"] == 2 and small.provenance()["warnings"] == warnings
    assert not load_digits().warnings()
    digest = small.digest
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(root / "a" / "extra.png")
    assert load_dataset(str(root)).digest != digest  # a new image: new data, new cache key
    (root / "a" / "extra.png").unlink()
    assert load_dataset(str(root)).digest == digest
    Image.fromarray(np.full((8, 8), 99, np.uint8)).save(root / "a" / "0.png")  # same name, new pixels
    assert load_dataset(str(root)).digest != digest
