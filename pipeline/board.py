"""Target boards as data files (pipeline/boards/<key>.toml, or any .toml path): budgets, the core
and its clock, USB ids, and the memory timing the cycle model needs, each number with its source
in the file. Separate from tool options; adding a board means adding a file (docs/boards.md)."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.tomlcompat import tomllib

BOARDS_DIR = Path(__file__).parent / "boards"
DEFAULT_BOARD = "nano33ble"


@dataclass(frozen=True)
class MemoryTiming:
    """The board's memories as the cycle model sees them (docs/cycle_model.md): wait states of
    instruction fetches and data reads from flash, and the flash cache in front of them."""

    flash_fetch_wait_states: float  # per 32-bit instruction fetch from flash, cache off
    flash_data_wait_states: float  # per data read from flash (weights, constant tables)
    cache_miss_penalty: float  # per cache line miss, cache on (a hit waits 0)
    cache_bytes: int
    cache_ways: int
    cache_line_bytes: int
    cache_on_at_start: bool  # as the board's boot code leaves it for the firmware
    # Bytes one flash read brings into a cache line (each line holds cache_line_bytes / this, each
    # filled on its own miss: ST's "32 lines of 4 x 64 bits"); 0: the whole line.
    cache_fill_bytes: int = 0
    # The flash data cache in front of data reads (weights, constants); 0 bytes: none, every data
    # read from flash waits flash_data_wait_states. A hit waits 0.
    data_cache_bytes: int = 0
    data_cache_ways: int = 1
    data_cache_line_bytes: int = 16
    data_cache_fill_bytes: int = 0

    def geometry_errors(self) -> list[str]:
        """What the cache simulation cannot take (power-of-two lines and fills, whole sets)."""
        errors = []
        caches = [("cache", self.cache_bytes, self.cache_ways, self.cache_line_bytes, self.cache_fill_bytes)]
        if self.data_cache_bytes:
            caches.append(
                (
                    "data_cache",
                    self.data_cache_bytes,
                    self.data_cache_ways,
                    self.data_cache_line_bytes,
                    self.data_cache_fill_bytes,
                )
            )
        for name, size, ways, line, fill in caches:
            fill = fill or line
            if not _power_of_two(line) or not _power_of_two(fill) or fill > line or line > 32 * fill:
                errors.append(
                    f"{name}_line_bytes {line} and {name}_fill_bytes {fill} must be powers of two, "
                    "the fill at most the line and at least 1/32 of it"
                )
            elif ways < 1 or size < ways * line or size % (ways * line):
                errors.append(f"{name}_bytes {size} must be a whole number of sets of {ways} way(s) of {line} B")
        return errors


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@dataclass(frozen=True)
class PeriodicInterrupt:
    """An interrupt the board's firmware takes at a fixed rate while it computes (an [[interrupts]]
    entry of the board file): the time it steals is rate_hz x cycles per second of the clock."""

    source: str  # what raises it ("USB start of frame")
    rate_hz: float
    cycles: float  # per interrupt: exception entry, handler, exit (with their memory's wait states)


@dataclass(frozen=True)
class Board:
    key: str
    name: str  # what people call the board ("Arduino Nano 33 BLE Sense")
    chip: str  # the microcontroller ("nRF52840")
    core: str  # the CPU core ("cortex-m4")
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    firmware_flash_bytes: int
    ram_reserved_bytes: int
    pio_env: str = ""  # PlatformIO environment of its firmware port ("" : none)
    usb_vid: int = 0
    usb_pids: tuple[int, ...] = ()
    usb_app_pid: int = 0
    memory: MemoryTiming | None = None  # None: no cycle estimate for this board
    interrupts: tuple[PeriodicInterrupt, ...] = ()  # periodic interrupts during an invoke

    @property
    def interrupt_load(self) -> float:
        """Share of the core's cycles its periodic interrupts take (0 without any)."""
        return sum(i.rate_hz * i.cycles for i in self.interrupts) / self.clock_hz if self.clock_hz else 0.0

    @property
    def model_flash_budget(self) -> int:
        """Bytes of flash left for the model data once the firmware without a model is linked."""
        return self.flash_bytes - self.firmware_flash_bytes

    @property
    def arena_budget(self) -> int:
        """Bytes of RAM left for the tensor arena once the core's own RAM is reserved."""
        return self.ram_bytes - self.ram_reserved_bytes

    @property
    def label(self) -> str:
        """'Arduino Nano 33 BLE Sense (nRF52840, Cortex-M4 @ 64 MHz)' for report text."""
        core = self.core.replace("cortex-", "Cortex-").replace("Cortex-m", "Cortex-M")
        return f"{self.name} ({self.chip}, {core} @ {self.clock_hz / 1e6:g} MHz)"


def require_firmware_port(board: Board) -> None:
    """Flashing and measuring need the board's firmware port (its PlatformIO environment)."""
    if not board.pio_env:
        raise PipelineError(
            f"board {board.key} has no firmware port (no pio_env in its board file): analyze and "
            "emulate estimate it; flashing and measuring need a port (docs/boards.md, Adding a board)"
        )


def board_keys() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def _check_fields(cls, data: dict, where: str) -> list[str]:
    """Every error of a table at once: unknown keys, missing keys, wrong types (no coercion)."""
    errors = []
    known = {f.name: f for f in fields(cls)}
    for key in sorted(set(data) - set(known)):
        errors.append(f"unknown key '{key}'")
    for name, f in known.items():
        if name not in data:
            if f.default is MISSING and f.default_factory is MISSING and name != "key":
                errors.append(f"missing '{name}'")
            continue
        value, kind = data[name], str(f.type)
        wants_int = kind.startswith("int")
        wants_number = kind.startswith("float")
        if kind.startswith("bool"):
            ok = isinstance(value, bool)
        elif wants_int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif wants_number:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        elif kind.startswith("str"):
            ok = isinstance(value, str)
        elif kind.startswith("tuple"):
            ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        else:
            ok = True
        if not ok:
            wanted = "a non-negative integer" if wants_int else "a non-negative number" if wants_number else kind
            errors.append(f"'{name}' must be {wanted.split(' |')[0]}, not {value!r}")
    return [f"{where}: {e}" for e in errors]


def board_path(key_or_path: str) -> Path:
    """A board key (pipeline/boards/<key>.toml) or the path of a board file."""
    if key_or_path.endswith(".toml") or "/" in key_or_path or "\\" in key_or_path:
        path = Path(key_or_path)
        if not path.is_file():
            raise PipelineError(
                f"board file {path} not found: pass a board key ({', '.join(board_keys())}) "
                "or the path of a board .toml"
            )
        return path
    path = BOARDS_DIR / f"{key_or_path}.toml"
    if not path.is_file():
        raise PipelineError(
            f"unknown board '{key_or_path}': use one of {', '.join(board_keys())}, or "
            "the path of a board .toml (docs/boards.md)"
        )
    return path


def load_board(key: str = DEFAULT_BOARD) -> Board:
    path = board_path(key)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PipelineError(f"board file {path}: not readable TOML ({exc}): fix it") from None
    memory = data.pop("memory", None)
    interrupts = data.pop("interrupts", [])
    errors = _check_fields(Board, data, str(path))
    if memory is not None:
        if isinstance(memory, dict):
            errors += _check_fields(MemoryTiming, memory, f"{path} [memory]")
        else:
            errors.append(f"{path}: [memory] must be a table")
    if not isinstance(interrupts, list) or not all(isinstance(i, dict) for i in interrupts):
        errors.append(f"{path}: interrupts must be an array of tables ([[interrupts]])")
        interrupts = []
    for n, entry in enumerate(interrupts):
        errors += _check_fields(PeriodicInterrupt, entry, f"{path} [[interrupts]] {n + 1}")
    if errors:
        raise PipelineError("; ".join(errors))
    timing = MemoryTiming(**memory) if memory is not None else None
    if timing is not None:
        errors += [f"{path} [memory]: {e}" for e in timing.geometry_errors()]
    if "usb_pids" in data:
        data["usb_pids"] = tuple(data["usb_pids"])
    board = Board(key=path.stem, memory=timing, interrupts=tuple(PeriodicInterrupt(**i) for i in interrupts), **data)
    if board.interrupt_load >= 0.5:
        errors.append(f"{path}: [[interrupts]] take {board.interrupt_load:.0%} of the clock: check rate_hz and cycles")
    if errors:
        raise PipelineError("; ".join(errors))
    return board
