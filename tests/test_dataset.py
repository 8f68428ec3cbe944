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
    ({"a": [8, 8], "b": [8, 9]}, "differs from"),
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
