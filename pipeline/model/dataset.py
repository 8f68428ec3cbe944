"""Real data for training and int8 calibration: scikit-learn's 8x8 digits (shipped inside its
wheel, no download) or a user's folder of images (one subfolder per class) or .npz file.

Folders are taken as users have them: images of any size and colour mode; each is resized and
converted (gray <-> RGB) to a model's input when that model is built. The data's identity for the
cache is a digest of its contents, not its path."""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pipeline.errors import PipelineError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}
TEST_FRACTION = 0.2
SPLIT_SEED = 0
# Below these counts per class an accuracy says little: one test image of 5 per class moves it
# by 1/(5 * classes), and a class seen fewer than 10 times in training is hardly learned.
MIN_TEST_PER_CLASS = 5
MIN_TRAIN_PER_CLASS = 10
# int8 calibration draws this many training samples (pipeline.model.quantize): random inputs
# instead of real ones make TFLM abort.
CALIBRATION_SAMPLES = 200
DIGITS_SOURCE = "scikit-learn digits (8x8)"  # Dataset.source of the default data
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


@dataclass(frozen=True)
class Dataset:
    """Images as float32 in [0, 1], each (height, width, channels); labels int. x_* is one stacked
    array when all images share a shape, else an object array of per-image arrays."""

    source: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    digest: str = ""  # of the contents (files or arrays), for the cache key
    notes: tuple[str, ...] = field(default=())  # what was converted on loading (sizes, modes)

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def resized(self, resolution: int, channels: int) -> "Dataset":
        return Dataset(
            self.source,
            self.class_names,
            resize_images(self.x_train, resolution, channels),
            self.y_train,
            resize_images(self.x_test, resolution, channels),
            self.y_test,
            self.digest,
            self.notes,
        )

    def warnings(self) -> list[str]:
        """Splits too small for the accuracy to mean much (printed and put in the report)."""
        found = []
        for split, labels, least, meaning in (
            ("test", self.y_test, MIN_TEST_PER_CLASS, "the accuracy measured on it is coarse"),
            ("training", self.y_train, MIN_TRAIN_PER_CLASS, "too few to learn from"),
        ):
            counts = np.bincount(labels, minlength=self.classes)
            few = [f"{self.class_names[i]} {int(c)}" for i, c in enumerate(counts) if c < least]
            if few:
                found.append(
                    f"the {split} split has fewer than {least} samples for class(es) "
                    f"{', '.join(few)} ({len(labels)} in all): {meaning}; add images to "
                    "those classes"
                )
        return found

    def provenance(self) -> dict:
        """Which data, how much of it per split and class: the report's provenance section."""
        return {
            "source": self.source,
            "digest": self.digest,
            "class_names": list(self.class_names),
            "train_samples": int(len(self.y_train)),
            "test_samples": int(len(self.y_test)),
            "train_per_class": np.bincount(self.y_train, minlength=self.classes).tolist(),
            "test_per_class": np.bincount(self.y_test, minlength=self.classes).tolist(),
            "split": f"stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%}, seed {SPLIT_SEED}",
            "notes": list(self.notes),
            "warnings": self.warnings(),
        }


def _resize_one(image: np.ndarray, resolution: int, channels: int) -> np.ndarray:
    planes = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[..., c], np.float32)).resize(
                (resolution, resolution), Image.Resampling.BILINEAR
            )
        )
        for c in range(image.shape[-1])
    ]
    stacked = np.stack(planes, axis=-1)
    if channels != stacked.shape[-1]:  # gray <-> RGB
        stacked = (
            np.repeat(stacked, channels, axis=-1) if stacked.shape[-1] == 1 else stacked.mean(axis=-1, keepdims=True)
        )
    return stacked


def resize_images(images, resolution: int, channels: int) -> np.ndarray:
    out = np.empty((len(images), resolution, resolution, channels), np.float32)
    for i, image in enumerate(images):
        out[i] = _resize_one(image, resolution, channels)
    return np.clip(out, 0.0, 1.0)


def _stack(images: list[np.ndarray]) -> np.ndarray:
    if len({im.shape for im in images}) == 1:
        return np.stack(images)
    stacked = np.empty(len(images), dtype=object)
    stacked[:] = images
    return stacked


def _split(source: str, names: tuple[str, ...], x, y: np.ndarray, digest: str, notes: tuple[str, ...] = ()) -> Dataset:
    counts = np.bincount(y, minlength=len(names))
    if len(names) < 2:
        raise PipelineError(
            f"{source}: only one class ({names[0] if names else 'none'}): a classifier needs at least two classes"
        )
    if counts.min() < 2:
        raise PipelineError(
            f"{source}: class '{names[int(counts.argmin())]}' has {counts.min()} "
            "sample(s): give every class at least two (one to train, one to test)"
        )
    rng = np.random.default_rng(SPLIT_SEED)
    train: list[int] = []
    test: list[int] = []
    for label in range(len(names)):  # stratified: every class in both splits
        idx = rng.permutation(np.flatnonzero(y == label))
        cut = max(1, int(round(len(idx) * TEST_FRACTION)))
        test.extend(idx[:cut])
        train.extend(idx[cut:])
    train_order, test_order = rng.permutation(train), rng.permutation(test)
    return Dataset(source, names, x[train_order], y[train_order], x[test_order], y[test_order], digest, notes)


def _array_digest(names, x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256(repr(tuple(names)).encode())
    h.update(repr(x.shape).encode() + np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()[:16]


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    names = tuple(str(n) for n in digits.target_names)
    y = digits.target.astype(np.int64)
    return _split(DIGITS_SOURCE, names, x, y, _array_digest(names, x, y))


def image_array(img: Image.Image) -> np.ndarray:
    """(height, width, 1 or 3) float32 in [0, 1] from an image of any mode, upright per EXIF."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        array = np.asarray(img, np.float32)
        top = (
            65535.0
            if img.mode.startswith("I;16") or array.max() > 255
            else (1.0 if img.mode == "F" and array.max() <= 1.0 else 255.0)
        )
        return np.clip(array / top, 0.0, 1.0)[..., None]
    if img.mode in GRAY_MODES:
        return (np.asarray(img.convert("L"), np.float32) / 255.0)[..., None]
    if img.mode == "P":  # palette (GIF, some PNGs), maybe with transparency
        img = img.convert("RGBA")
    return np.asarray(img.convert("RGB"), np.float32) / 255.0


def load_folder(folder: Path) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"data folder {folder} not found: pass a folder with one subfolder per class")
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    images, labels, sizes, modes = [], [], set(), set()
    digest = hashlib.sha256()
    for label, class_dir in enumerate(class_dirs):
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
                continue
            try:
                content = path.read_bytes()
                with warnings.catch_warnings(), Image.open(path) as img:
                    warnings.simplefilter("ignore")  # e.g. palette transparency notes
                    modes.add(img.mode)
                    array = image_array(img)
            except OSError as exc:
                raise PipelineError(f"{path}: not a readable image ({exc}): remove or replace it") from None
            digest.update(f"{class_dir.name}/{path.name}\0{len(content)}\0".encode())
            digest.update(content)
            sizes.add(array.shape[:2])
            images.append(array)
            labels.append(label)
    if not images:
        raise PipelineError(f"data folder {folder} holds no images: put images in one subfolder per class")
    empty = [d.name for i, d in enumerate(class_dirs) if i not in set(labels)]
    if empty:
        raise PipelineError(
            f"data folder {folder}: class folder(s) {', '.join(empty)} hold no images "
            f"(readable: {', '.join(sorted(IMAGE_SUFFIXES))}): add images or remove the folder(s)"
        )
    used = sorted(set(labels))
    names = tuple(class_dirs[i].name for i in used)
    remap = {old: new for new, old in enumerate(used)}
    notes = []
    if len(sizes) > 1:
        notes.append(
            f"{len(sizes)} image sizes (from {min(sizes)[1]}x{min(sizes)[0]} to "
            f"{max(sizes)[1]}x{max(sizes)[0]}), each resized to the model input"
        )
    if len(modes) > 1:
        notes.append(f"colour modes {', '.join(sorted(modes))}, each converted to the model's channels")
    return _split(
        str(folder),
        names,
        _stack(images),
        np.array([remap[label] for label in labels]),
        digest.hexdigest()[:16],
        tuple(notes),
    )


def load_npz(path: Path) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: no such .npz file: pass a .npz with arrays 'x' and 'y', or a folder")
    try:
        # allow_pickle stays off: a .npz of object arrays could run code; say what to save instead.
        with np.load(path, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except KeyError:
        raise PipelineError(f"{path}: needs arrays 'x' (images N,H,W[,C]) and 'y' (integer labels)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = "holds object arrays" if "allow_pickle" in str(exc) else type(exc).__name__
        raise PipelineError(
            f"{path}: not a readable .npz ({reason}): save numeric arrays 'x' and 'y' with numpy.savez"
        ) from None
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
        raise PipelineError(f"{path}: 'x' must be N,H,W[,C] and 'y' N labels; got {x.shape} and {y.shape}")
    if x.shape[-1] not in (1, 3):
        raise PipelineError(f"{path}: 'x' has {x.shape[-1]} channels: use 1 (gray) or 3 (RGB)")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise PipelineError(f"{path}: 'x' is {x.dtype}: save the images as integers (0-255) or floats (0-1)")
    bad = int(np.count_nonzero(~np.isfinite(x))) if np.issubdtype(x.dtype, np.floating) else 0
    if bad:
        raise PipelineError(f"{path}: 'x' holds {bad:,} NaN or infinite values: clean or drop those images")
    if np.issubdtype(y.dtype, np.floating):  # 3.0 is class 3; 0.5 is no class (string labels are names)
        fractional = ~np.isfinite(y) | (y != np.round(y))
        if fractional.any():
            raise PipelineError(
                f"{path}: 'y' holds {int(fractional.sum())} labels that are not whole numbers (e.g. "
                f"{y[fractional][0]}): save integer class labels (0, 1, 2, ...)"
            )
        y = y.astype(np.int64)
    digest = _array_digest((), x, y)
    x = x.astype(np.float32)
    if x.max() > 1.0:
        x = x / 255.0
    labels, y = np.unique(y, return_inverse=True)
    return _split(str(path), tuple(str(v) for v in labels), x, y.astype(np.int64), digest)


def load_dataset(source: str | None) -> Dataset:
    """`--data` as `tinyml run` takes it, or a Dataset.source a run recorded."""
    if source is None or source in ("digits", DIGITS_SOURCE):
        return load_digits()
    path = Path(source)
    return load_npz(path) if path.suffix == ".npz" else load_folder(path)
