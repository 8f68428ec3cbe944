"""Model variants as data: parse and validate the zoo file (the default one is models/zoo.toml).

Validation is strict, not coercing: integers must be integers, numbers finite, booleans are no
numbers; every error of the file is reported at once, by model and field."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.project import models_dir
from pipeline.tomlcompat import tomllib


def default_zoo() -> Path:
    """models/zoo.toml of the project (installed with the package)."""
    return models_dir() / "zoo.toml"


# MobileNetV1 (Howard et al. 2017, table 1): (output channels at alpha=1, stride) of the 13 blocks
# that follow the first 3x3 stride-2 convolution (32 channels at alpha=1).
FIRST_CONV_CHANNELS = 32
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
CONV_KINDS = ("standard", "separable")
C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
DEFAULT_EPOCHS = 8


@dataclass(frozen=True)
class ModelSpec:
    name: str
    conv: str
    alpha: float
    resolution: int
    channels: int
    blocks: int
    classes: int | None = None  # None: as many as the data set has
    epochs: int = DEFAULT_EPOCHS

    @property
    def strides(self) -> list[int]:
        """Strides of every 3x3 layer: the first conv, then one per block."""
        return [2] + [s for _, s in MOBILENET_V1_BLOCKS[: self.blocks]]

    @property
    def final_feature_size(self) -> int:
        size = self.resolution
        for stride in self.strides:
            size = -(-size // stride)  # 'same' padding: ceil(size / stride)
        return size

    def block_channels(self) -> list[int]:
        return [scaled_channels(c, self.alpha) for c, _ in MOBILENET_V1_BLOCKS[: self.blocks]]

    def for_data(self, classes: int) -> "ModelSpec":
        """This spec with the data set's class count where the zoo left it open."""
        return self if self.classes is not None else replace(self, classes=classes)

    def digest(self) -> str:
        """Stable hash of the spec as written (part of the cache key)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def scaled_channels(channels: int, alpha: float) -> int:
    return max(1, int(channels * alpha))


# Upper bounds: past them a model cannot be deployed on any microcontroller and only exhausts the
# host's memory in training (TensorFlow's raw out-of-memory text instead of a line here).
# - A 1024x1024 gray input alone is 1 MiB of int8, more RAM than any Cortex-M board has (the
#   largest board file, the NUCLEO-L4R5ZI, has 640 KB); Keras' MobileNets stop at 224.
MAX_RESOLUTION = 1024
# - At alpha 4 the widest block has 4,096 channels: its pointwise layer alone holds 16.8 M int8
#   weights, eight times the largest flash (2 MB); MobileNetV1 is published up to alpha 1.
MAX_ALPHA = 4.0
# - More classes than ImageNet's 1,000 are not a TinyML classifier; the dense head grows with them.
MAX_CLASSES = 1000
# - Training epochs: the default is 8; 1,000 is hours per model on a laptop.
MAX_EPOCHS = 1000


# field -> (type check, what to write instead)
def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


FIELD_TYPES = {
    "name": (lambda v: isinstance(v, str), "a string"),
    "conv": (lambda v: isinstance(v, str), "a string"),
    "alpha": (_is_number, "a finite number"),
    "resolution": (_is_int, "an integer"),
    "channels": (_is_int, "an integer"),
    "blocks": (_is_int, "an integer"),
    "classes": (_is_int, "an integer"),
    "epochs": (_is_int, "an integer"),
}
OPTIONAL_FIELDS = {"classes", "epochs"}


def value_errors(values: dict) -> list[str]:
    """What is wrong with the well-typed fields of a spec (mistyped ones are left out of
    `values`), one 'field ...: what to do' per problem."""
    errors = []
    get = values.get
    if "name" in values and not C_IDENTIFIER.match(values["name"]):
        errors.append(
            f"name '{values['name']}' is not a safe file and C identifier: use letters, "
            "digits and '_', starting with a letter, at most 63 characters"
        )
    if "conv" in values and values["conv"] not in CONV_KINDS:
        errors.append(f"conv = '{values['conv']}': use 'standard' or 'separable'")
    if "alpha" in values and not 0 < values["alpha"] <= MAX_ALPHA:
        errors.append(f"alpha = {values['alpha']}: the width multiplier must be > 0 and at most {MAX_ALPHA:g}")
    if "resolution" in values and not 1 <= values["resolution"] <= MAX_RESOLUTION:
        errors.append(
            f"resolution = {values['resolution']}: use 1 to {MAX_RESOLUTION} (a larger input does not fit any "
            "microcontroller's RAM)"
        )
    blocks = get("blocks")
    if blocks is not None and not 1 <= blocks <= len(MOBILENET_V1_BLOCKS):
        errors.append(f"blocks = {blocks}: use 1 to {len(MOBILENET_V1_BLOCKS)}")
        blocks = None
    if "channels" in values and values["channels"] not in (1, 3):
        errors.append(f"channels = {values['channels']}: use 1 or 3")
    if get("classes") is not None and not 2 <= values["classes"] <= MAX_CLASSES:
        errors.append(f"classes = {values['classes']}: use 2 to {MAX_CLASSES} (or leave it out to follow the data)")
    if "epochs" in values and not 1 <= values["epochs"] <= MAX_EPOCHS:
        errors.append(f"epochs = {values['epochs']}: use 1 to {MAX_EPOCHS} (`tinyml run --epochs 0` skips training)")
    if blocks is not None and "resolution" in values:
        stride2 = 1 + sum(1 for _, s in MOBILENET_V1_BLOCKS[:blocks] if s == 2)
        if values["resolution"] < 2**stride2:
            errors.append(
                f"resolution {values['resolution']} is too small for {blocks} blocks "
                f"({stride2} stride-2 layers need at least {2**stride2}); "
                "raise it or use fewer blocks"
            )
    return errors


def spec_errors(entry, defaults: dict) -> tuple[ModelSpec | None, list[str]]:
    """(spec or None, errors) of one [[model]] table merged over [defaults]."""
    if not isinstance(entry, dict):
        return None, ["is not a table: write it as [[model]] with key = value lines"]
    merged = {**defaults, **entry}
    errors = []
    unknown = sorted(set(merged) - set(FIELD_TYPES))
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}: known fields are {', '.join(sorted(FIELD_TYPES))}")
    missing = sorted(f for f in FIELD_TYPES if f not in merged and f not in OPTIONAL_FIELDS)
    if missing:
        errors.append(f"missing field(s) {', '.join(missing)}")
    typed = {}
    for name, (ok, expected) in FIELD_TYPES.items():
        if name not in merged:
            continue
        if ok(merged[name]):
            typed[name] = merged[name]
        else:
            errors.append(f"{name} = {merged[name]!r} has the wrong type: use {expected}")
    errors += value_errors(typed)
    if errors:
        return None, errors
    return ModelSpec(**{**typed, "alpha": float(typed["alpha"])}), []


def validate(spec: ModelSpec, where: str) -> ModelSpec:
    """A spec built in code (tests, benchmarks) gets the same checks as one from a file."""
    errors = value_errors(asdict(spec))
    if errors:
        raise PipelineError(f"{where}: " + "; ".join(errors))
    return spec


def load_zoo(path: Path | None = None) -> list[ModelSpec]:
    path = Path(path) if path is not None else default_zoo()
    if not path.is_file():
        raise PipelineError(f"model zoo file {path} not found: pass an existing .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: not valid TOML ({exc}): fix the syntax") from None
    defaults = data.get("defaults", {})
    entries = data.get("model", [])
    problems = []
    if not isinstance(defaults, dict):
        problems.append("[defaults] is not a table")
        defaults = {}
    if not isinstance(entries, list) or not entries:
        raise PipelineError(f"{path}: no [[model]] entries: declare at least one model")
    specs = []
    for i, entry in enumerate(entries):
        spec, errors = spec_errors(entry, defaults)
        label = f"model #{i + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            label += f" '{entry['name']}'"
        problems += [f"{label}: {e}" for e in errors]
        if spec is not None:
            specs.append(spec)
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"duplicate model name(s) {', '.join(duplicates)}: names must be unique")
    if problems:
        count = f"{len(problems)} errors" if len(problems) > 1 else "1 error"
        raise PipelineError(f"{path}: {count}: " + "; ".join(problems))
    return specs
