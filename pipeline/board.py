"""Target boards as data files (budgets, clock, USB ids), separate from tool options."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.tomlcompat import tomllib

BOARDS_DIR = Path(__file__).parent / "boards"
DEFAULT_BOARD = "nano33ble"


@dataclass(frozen=True)
class Board:
    key: str
    name: str
    pio_env: str
    cpu: str
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    firmware_flash_bytes: int
    ram_reserved_bytes: int
    usb_vid: int
    usb_pids: tuple[int, ...]
    usb_app_pid: int

    @property
    def model_flash_budget(self) -> int:
        """Bytes of flash left for the model data once the firmware without a model is linked."""
        return self.flash_bytes - self.firmware_flash_bytes

    @property
    def arena_budget(self) -> int:
        """Bytes of RAM left for the tensor arena once the core's own RAM is reserved."""
        return self.ram_bytes - self.ram_reserved_bytes


def load_board(key: str = DEFAULT_BOARD) -> Board:
    path = BOARDS_DIR / f"{key}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in BOARDS_DIR.glob("*.toml")))
        raise PipelineError(f"unknown board '{key}': use one of {known}")
    data = tomllib.loads(path.read_text())
    data["usb_pids"] = tuple(data["usb_pids"])
    return Board(key=key, **data)
