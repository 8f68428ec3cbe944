"""Real data for training and int8 calibration: scikit-learn's 8x8 digits (shipped inside its
wheel, no download) or a user's folder of images (one subfolder per class) or .npz file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.errors import PipelineError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm"}
TEST_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass(frozen=True)
class Dataset:
    """Images as float32 in [0, 1], shape (count, height, width, channels); labels int."""
    source: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def resized(self, resolution: int, channels: int) -> "Dataset":
        return Dataset(self.source, self.class_names, resize_images(self.x_train, resolution, channels),
                       self.y_train, resize_images(self.x_test, resolution, channels), self.y_test)


def resize_images(images: np.ndarray, resolution: int, channels: int) -> np.ndarray:
    out = np.empty((len(images), resolution, resolution, channels), np.float32)
    for i, image in enumerate(images):
        planes = [np.asarray(Image.fromarray(image[..., c], mode="F").resize(
            (resolution, resolution), Image.BILINEAR)) for c in range(image.shape[-1])]
        stacked = np.stack(planes, axis=-1)
        if channels != stacked.shape[-1]:  # gray <-> RGB
            stacked = (np.repeat(stacked, channels, axis=-1) if stacked.shape[-1] == 1
                       else stacked.mean(axis=-1, keepdims=True))
        out[i] = stacked
    return np.clip(out, 0.0, 1.0)


def _split(source: str, names: tuple[str, ...], x: np.ndarray, y: np.ndarray) -> Dataset:
    counts = np.bincount(y, minlength=len(names))
    if len(names) < 2:
        raise PipelineError(f"{source}: only one class ({names[0] if names else 'none'}): "
                            "a classifier needs at least two classes")
    if counts.min() < 2:
        raise PipelineError(f"{source}: class '{names[int(counts.argmin())]}' has {counts.min()} "
                            "sample(s): give every class at least two (one to train, one to test)")
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for label in range(len(names)):  # stratified: every class in both splits
        idx = rng.permutation(np.flatnonzero(y == label))
        cut = max(1, int(round(len(idx) * TEST_FRACTION)))
        test.extend(idx[:cut])
        train.extend(idx[cut:])
    train, test = rng.permutation(train), rng.permutation(test)
    return Dataset(source, names, x[train], y[train], x[test], y[test])


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    names = tuple(str(n) for n in digits.target_names)
    return _split("scikit-learn digits (8x8)", names, x, digits.target.astype(np.int64))


def load_folder(folder: Path) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"data folder {folder} not found: pass a folder with one subfolder per class")
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir())
    images, labels, size = [], [], None
    for label, class_dir in enumerate(class_dirs):
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(path) as img:
                    gray = img.mode in ("L", "I", "F", "1", "I;16")
                    array = np.asarray(img.convert("L" if gray else "RGB"), np.float32) / 255.0
            except OSError as exc:
                raise PipelineError(f"{path}: not a readable image ({exc}): remove or replace it") from None
            if size is None:
                size = array.shape
            elif array.shape != size:
                raise PipelineError(f"{path}: size {array.shape} differs from {size} of the first image: "
                                    "use images of one size and one color mode")
            images.append(array if array.ndim == 3 else array[..., None])
            labels.append(label)
    if not images:
        raise PipelineError(f"data folder {folder} holds no images: put images in one subfolder per class")
    used = sorted(set(labels))
    names = tuple(class_dirs[i].name for i in used)
    remap = {old: new for new, old in enumerate(used)}
    return _split(str(folder), names, np.stack(images), np.array([remap[l] for l in labels]))


def load_npz(path: Path) -> Dataset:
    path = Path(path)
    try:
        with np.load(path) as data:
            x, y = data["x"], data["y"]
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: not a readable .npz ({exc}): save arrays 'x' and 'y' with numpy.savez") from None
    except KeyError:
        raise PipelineError(f"{path}: needs arrays 'x' (images N,H,W[,C]) and 'y' (integer labels)") from None
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or len(x) != len(y):
        raise PipelineError(f"{path}: 'x' must be N,H,W[,C] and 'y' N labels; got {x.shape} and {y.shape}")
    x = x.astype(np.float32)
    if x.max() > 1.0:
        x = x / 255.0
    labels, y = np.unique(y, return_inverse=True)
    return _split(str(path), tuple(str(v) for v in labels), x, y.astype(np.int64))


def load_dataset(source: str | None) -> Dataset:
    if source is None or source == "digits":
        return load_digits()
    path = Path(source)
    return load_npz(path) if path.suffix == ".npz" else load_folder(path)
