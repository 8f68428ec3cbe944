"""Model variants as data: parse and validate the zoo file (models/*.toml)."""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from pipeline.errors import PipelineError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ZOO = REPO_ROOT / "models" / "zoo.toml"

# MobileNetV1 (Howard et al. 2017, table 1): (output channels at alpha=1, stride) of the 13 blocks
# that follow the first 3x3 stride-2 convolution (32 channels at alpha=1).
FIRST_CONV_CHANNELS = 32
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)
CONV_KINDS = ("standard", "separable")
C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    conv: str
    alpha: float
    resolution: int
    channels: int
    blocks: int
    classes: int
    epochs: int = 8

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

    def digest(self) -> str:
        """Stable hash of everything that changes the trained model (cache key)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def scaled_channels(channels: int, alpha: float) -> int:
    return max(1, int(channels * alpha))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise PipelineError(message)


def validate(spec: ModelSpec, where: str) -> ModelSpec:
    _check(bool(C_IDENTIFIER.match(spec.name)),
           f"{where}: name '{spec.name}' is not a safe file and C identifier: use letters, digits "
           "and '_', starting with a letter, at most 63 characters")
    _check(spec.conv in CONV_KINDS, f"{where}: conv = '{spec.conv}': use 'standard' or 'separable'")
    _check(spec.alpha > 0, f"{where}: alpha = {spec.alpha}: the width multiplier must be > 0")
    _check(1 <= spec.blocks <= len(MOBILENET_V1_BLOCKS),
           f"{where}: blocks = {spec.blocks}: use 1 to {len(MOBILENET_V1_BLOCKS)}")
    _check(spec.channels in (1, 3), f"{where}: channels = {spec.channels}: use 1 or 3")
    _check(spec.classes >= 2, f"{where}: classes = {spec.classes}: use at least 2")
    _check(spec.epochs >= 1, f"{where}: epochs = {spec.epochs}: use at least 1")
    reductions = 2 ** spec.strides.count(2)
    _check(spec.resolution >= reductions,
           f"{where}: resolution {spec.resolution} is too small for {spec.blocks} blocks "
           f"({spec.strides.count(2)} stride-2 layers need at least {reductions}); raise it or use fewer blocks")
    return spec


def parse_spec(entry: dict, defaults: dict, where: str) -> ModelSpec:
    known = {f.name for f in fields(ModelSpec)}
    merged = {**defaults, **entry}
    unknown = sorted(set(merged) - known)
    _check(not unknown, f"{where}: unknown field(s) {', '.join(unknown)}: known fields are "
                        f"{', '.join(sorted(known))}")
    missing = sorted(f.name for f in fields(ModelSpec)
                     if f.name not in merged and f.name != "epochs")
    _check(not missing, f"{where}: missing field(s) {', '.join(missing)}")
    try:
        spec = ModelSpec(
            name=str(merged["name"]), conv=str(merged["conv"]), alpha=float(merged["alpha"]),
            resolution=int(merged["resolution"]), channels=int(merged["channels"]),
            blocks=int(merged["blocks"]), classes=int(merged["classes"]),
            epochs=int(merged.get("epochs", 8)))
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"{where}: a field has the wrong type ({exc}): numbers must be numbers") from None
    return validate(spec, where)


def load_zoo(path: Path = DEFAULT_ZOO) -> list[ModelSpec]:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"model zoo file {path} not found: pass an existing .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{path}: not valid TOML ({exc}): fix the syntax") from None
    defaults = data.get("defaults", {})
    entries = data.get("model", [])
    _check(bool(entries), f"{path}: no [[model]] entries: declare at least one model")
    specs = [parse_spec(e, defaults, f"{path.name} model #{i + 1}") for i, e in enumerate(entries)]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    _check(not duplicates, f"{path}: duplicate model name(s) {', '.join(duplicates)}: names must be unique")
    return specs
