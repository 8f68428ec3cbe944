"""The space file of `tinyml sweep` (the default one is models/space.toml).

    boards = ["nano33ble"]        # optional: board keys or board files (--board replaces them)
    strategy = "grid"             # optional: grid (default) | random
    budget = 50                   # optional: points, or time ("45m", "2h"); --budget overrides
    seed = 0                      # optional: the random strategy's draw

    [space]                       # the zoo's fields, each a value, a list or a range
    conv = ["standard", "separable"]
    alpha = [0.25, 0.5]
    resolution = { from = 32, to = 96, step = 32 }
    blocks = [3, 5, 7]
    channels = 1                  # optional, default 1
    epochs = 8                    # optional, default 8 (--epochs overrides)
    # classes                     # optional: left out, the data's

    [constraints]                 # optional, each optional
    max_ms = 500                  # estimated ms on the board (cache on)
    max_flash_bytes = 400_000     # the model's flash (.tflite bytes)
    max_arena_bytes = 100_000     # the tensor arena (32-bit, exact)
    min_accuracy = 0.9            # int8 accuracy on the test split, 0-1

Validation is the zoo's: strict types, every error of the file at once. A combination of valid
values that makes no network (a resolution too small for the blocks' strides) is a point of the
space all the same: the sweep records it as infeasible with that reason."""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.model.specs import DEFAULT_EPOCHS, FIELD_TYPES, ModelSpec, value_errors
from pipeline.project import models_dir
from pipeline.tomlcompat import tomllib

SPACE_FIELDS = ("conv", "alpha", "resolution", "channels", "blocks", "classes", "epochs")
REQUIRED_FIELDS = ("conv", "alpha", "resolution", "blocks")
FIELD_DEFAULTS: dict[str, object] = {"channels": 1, "epochs": DEFAULT_EPOCHS, "classes": None}
STRATEGIES = ("grid", "random")
SETTINGS = ("boards", "strategy", "budget", "seed")  # top-level keys (also accepted inside [space])
CONSTRAINTS = ("max_ms", "max_flash_bytes", "max_arena_bytes", "min_accuracy")
MAX_RANGE_VALUES = 1000
MAX_SHUFFLED_POINTS = 1_000_000  # random without a point budget shuffles the whole space
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh])\s*$")


def default_space() -> Path:
    """models/space.toml of the project (installed with the package)."""
    return models_dir() / "space.toml"


@dataclass(frozen=True)
class Constraints:
    max_ms: float | None = None
    max_flash_bytes: int | None = None
    max_arena_bytes: int | None = None
    min_accuracy: float | None = None

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in CONSTRAINTS if getattr(self, name) is not None}


@dataclass(frozen=True)
class Budget:
    points: int | None = None
    seconds: float | None = None

    def __str__(self) -> str:
        if self.points is not None:
            return f"{self.points} points"
        if self.seconds is not None:
            return format_duration(self.seconds)
        return "none"


@dataclass(frozen=True)
class Space:
    source: str
    values: dict[str, tuple] = field(default_factory=dict)  # every SPACE_FIELDS key, in that order
    boards: tuple[str, ...] = ()  # as written; empty: the --board
    constraints: Constraints = Constraints()
    strategy: str = "grid"
    budget: Budget = Budget()
    seed: int = 0

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.values.values())

    def combination(self, index: int) -> dict:
        """The index-th point of the grid (the last field varies fastest)."""
        point = {}
        for name in reversed(SPACE_FIELDS):
            options = self.values[name]
            index, pick = divmod(index, len(options))
            point[name] = options[pick]
        return {name: point[name] for name in SPACE_FIELDS}

    def select(self, strategy: str | None = None, points: int | None = None, seed: int | None = None) -> list[dict]:
        """The points a sweep covers, in order: the grid in order, or a seeded random draw (the
        same every time, so a re-run continues it and a larger budget extends it)."""
        strategy = strategy or self.strategy
        points = points if points is not None else self.budget.points
        count = self.size if points is None else min(points, self.size)
        if strategy == "grid":
            indices: list[int] | range = range(count)
        else:
            if count > MAX_SHUFFLED_POINTS:
                raise PipelineError(
                    f"{self.source}: a random draw of {count:,} points is too many: give a point budget "
                    f"(--budget N) of at most {MAX_SHUFFLED_POINTS:,}"
                )
            rng = random.Random(self.seed if seed is None else seed)
            indices = rng.sample(range(self.size), self.size)[:count]
        return [self.combination(i) for i in indices]


def format_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g}h"
    if seconds >= 60:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def elapsed_text(seconds: float) -> str:
    """'42 s', '3 min 19 s', '2 h 05 min': a measured time for people."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def parse_budget(value, where: str) -> tuple[Budget | None, list[str]]:
    """A point count (an integer >= 1) or a time ('90s', '45m', '2h')."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            return None, [f"{where} = {value}: use at least 1 point, or a time such as '45m'"]
        return Budget(points=value), []
    if isinstance(value, str):
        match = DURATION.match(value)
        if match and float(match.group(1)) > 0:
            scale = {"s": 1, "m": 60, "h": 3600}[match.group(2)]
            return Budget(seconds=float(match.group(1)) * scale), []
    return None, [f"{where} = {value!r}: use a number of points (50) or a time ('90s', '45m', '2h')"]


def point_name(point: dict) -> str:
    """A C identifier naming the variant: 'sep_a0p25_r32_b5_c1_e8' (+ '_k<classes>' when pinned)."""
    alpha = f"{point['alpha']:.6f}".rstrip("0").rstrip(".").replace(".", "p")
    name = (
        f"{'sep' if point['conv'] == 'separable' else 'std'}_a{alpha}_r{point['resolution']}"
        f"_b{point['blocks']}_c{point['channels']}_e{point['epochs']}"
    )
    return name + (f"_k{point['classes']}" if point.get("classes") is not None else "")


def point_spec(point: dict) -> ModelSpec:
    return ModelSpec(name=point_name(point), **{**point, "alpha": float(point["alpha"])})


def combination_error(point: dict) -> str | None:
    """Why a combination of valid values makes no network (None: it does)."""
    errors = value_errors({"resolution": point["resolution"], "blocks": point["blocks"]})
    return "; ".join(errors) or None


# --- parsing ------------------------------------------------------------------------------------------


def _range_values(name: str, spec: dict) -> tuple[list, list[str]]:
    where = f"[space] {name}"
    errors = []
    unknown = sorted(set(spec) - {"from", "to", "step"})
    if unknown:
        errors.append(f"{where}: unknown range key(s) {', '.join(unknown)}: write {{ from = A, to = B, step = S }}")
    missing = [k for k in ("from", "to", "step") if k not in spec]
    if missing:
        errors.append(f"{where}: range without {', '.join(missing)}: write {{ from = A, to = B, step = S }}")
    if errors:
        return [], errors
    is_int = name != "alpha"
    ok, expected = (
        (lambda v: isinstance(v, int) and not isinstance(v, bool), "integers")
        if is_int
        else (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), "numbers")
    )
    bad = [k for k in ("from", "to", "step") if not ok(spec[k])]
    if bad:
        return [], [f"{where}: range {', '.join(bad)} must be {expected}"]
    start, stop, step = spec["from"], spec["to"], spec["step"]
    if step <= 0 or stop < start:
        return [], [f"{where}: range from {start} to {stop} step {step}: use step > 0 and to >= from"]
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_RANGE_VALUES:
        return [], [f"{where}: the range has {count} values: use at most {MAX_RANGE_VALUES}"]
    values = [start + i * step for i in range(count)]
    return ([int(v) for v in values] if is_int else [round(float(v), 9) for v in values]), []


def _field_values(name: str, raw) -> tuple[tuple, list[str]]:
    where = f"[space] {name}"
    if isinstance(raw, dict):
        if name in ("conv",):
            return (), [f"{where}: a range needs numbers: list the values instead"]
        values, errors = _range_values(name, raw)
        if errors:
            return (), errors
    elif isinstance(raw, list):
        if not raw:
            return (), [f"{where} = []: give at least one value"]
        values = raw
    else:
        values = [raw]
    ok, expected = FIELD_TYPES[name]
    errors = []
    good = []
    for i, value in enumerate(values):
        label = f"{where}[{i}]" if len(values) > 1 else where
        if not ok(value):
            errors.append(f"{label} = {value!r} has the wrong type: use {expected}")
            continue
        problems = value_errors({name: value})
        errors += [f"{where}: {p}" for p in problems]
        if not problems:
            good.append(float(value) if name == "alpha" else value)
    duplicates = sorted({str(v) for v in good if good.count(v) > 1})
    if duplicates:
        errors.append(f"{where}: {', '.join(duplicates)} listed more than once: list each value once")
    return tuple(dict.fromkeys(good)), errors


def _constraints(raw) -> tuple[Constraints, list[str]]:
    if not isinstance(raw, dict):
        return Constraints(), [
            "[constraints] must be a table of max_ms, max_flash_bytes, max_arena_bytes, min_accuracy"
        ]
    errors = []
    unknown = sorted(set(raw) - set(CONSTRAINTS))
    if unknown:
        errors.append(f"[constraints]: unknown key(s) {', '.join(unknown)}: known keys are {', '.join(CONSTRAINTS)}")
    values: dict = {}
    for name in CONSTRAINTS:
        if name not in raw:
            continue
        value = raw[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if name.endswith("_bytes"):
            if not (isinstance(value, int) and not isinstance(value, bool)) or value <= 0:
                errors.append(f"[constraints] {name} = {value!r}: use a positive integer of bytes")
                continue
        elif name == "min_accuracy":
            if not number or not 0 < value <= 1:
                errors.append(f"[constraints] min_accuracy = {value!r}: use a fraction in (0, 1], e.g. 0.9")
                continue
            value = float(value)
        elif not number or value <= 0:
            errors.append(f"[constraints] {name} = {value!r}: use a positive number of milliseconds")
            continue
        else:
            value = float(value)
        values[name] = value
    return Constraints(**values), errors


def parse_space(data: dict, source: str) -> Space:
    """A Space from the file's TOML values; every error at once in one PipelineError."""
    errors: list[str] = []
    table = data.get("space")
    if not isinstance(table, dict):
        raise PipelineError(f"{source}: no [space] table: declare the fields to sweep under [space] (docs/sweep.md)")
    settings = {}
    for key in SETTINGS:
        if key in data and key in table:
            errors.append(f"{key} is given twice (top level and [space]): keep one")
        if key in data or key in table:
            settings[key] = data[key] if key in data else table[key]
    unknown_top = sorted(set(data) - {"space", "constraints", *SETTINGS})
    if unknown_top:
        errors.append(
            f"unknown key(s) {', '.join(unknown_top)}: known are [space], [constraints], {', '.join(SETTINGS)}"
        )
    fields = {k: v for k, v in table.items() if k not in SETTINGS}
    unknown = sorted(set(fields) - set(SPACE_FIELDS))
    if "name" in unknown:
        errors.append("[space] name: points are named after their values: remove it")
        unknown.remove("name")
    if unknown:
        errors.append(f"[space]: unknown field(s) {', '.join(unknown)}: known fields are {', '.join(SPACE_FIELDS)}")
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        errors.append(f"[space]: missing field(s) {', '.join(missing)}")
    values: dict[str, tuple] = {}
    for name in SPACE_FIELDS:
        if name in fields:
            values[name], field_errors = _field_values(name, fields[name])
            errors += field_errors
        else:
            values[name] = (FIELD_DEFAULTS.get(name),)
    constraints, constraint_errors = _constraints(data.get("constraints", {}))
    errors += constraint_errors
    boards: tuple[str, ...] = ()
    if "boards" in settings:
        raw = settings["boards"]
        if not isinstance(raw, list) or not raw or not all(isinstance(b, str) and b for b in raw):
            errors.append(f"boards = {raw!r}: use a list of board keys or board files, e.g. ['nano33ble']")
        elif len(set(raw)) != len(raw):
            errors.append("boards: a board is listed more than once: list each once")
        else:
            boards = tuple(raw)
    strategy = settings.get("strategy", "grid")
    if strategy not in STRATEGIES:
        errors.append(f"strategy = {strategy!r}: use {' or '.join(repr(s) for s in STRATEGIES)}")
    budget = Budget()
    if "budget" in settings:
        parsed, budget_errors = parse_budget(settings["budget"], "budget")
        errors += budget_errors
        budget = parsed or budget
    seed = settings.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        errors.append(f"seed = {seed!r}: use an integer")
        seed = 0
    if errors:
        count = f"{len(errors)} errors" if len(errors) > 1 else "1 error"
        raise PipelineError(f"{source}: {count}: " + "; ".join(errors))
    return Space(source, values, boards, constraints, str(strategy), budget, seed)


def load_space(path: Path | None = None) -> Space:
    path = Path(path) if path is not None else default_space()
    if not path.is_file():
        raise PipelineError(f"space file {path} not found: pass an existing .toml file (--space)")
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: not valid TOML ({exc}): fix the syntax") from None
    except OSError as exc:
        raise PipelineError(f"{path}: cannot be read ({exc.strerror}): check its permissions") from None
    return parse_space(data, str(path))


def space_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
