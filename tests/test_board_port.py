"""The Nano 33 BLE port (firmware/ports/nano33ble) cross-compiled with arm-none-eabi-g++ and the
board's flags against stub headers (tests/stubs/nano33ble: the mbed core's Arduino.h and the TFLM
model glue stand-ins). It proves the port's own code compiles warning-free in every build switch;
the real build against the mbed core is `pio run -e nano33ble` (PlatformIO, not available in CI)."""
from __future__ import annotations

import subprocess

import pytest

import cbuild

PORT = cbuild.REPO / "firmware" / "ports" / "nano33ble"
STUBS = cbuild.REPO / "tests" / "stubs" / "nano33ble"
SWITCHES = {
    "nano33ble": [],
    "nano33ble_nocache": ["-DTINYML_ICACHE=0"],
    "nano33ble_renode": ["-DTINYML_SERIAL_HW_UART=1", "-DTINYML_CLOCK_FROM_MICROS=1"],
}


def symbols(objects) -> tuple[set[str], set[str]]:
    nm = cbuild.require_tool("arm-none-eabi-nm")
    defined, undefined = set(), set()
    for obj in objects:
        out = subprocess.run([nm, "-C", str(obj)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split(maxsplit=2)
            kind, name = (parts[0], parts[1]) if len(parts) == 2 else (parts[1], parts[2])
            (undefined if kind == "U" else defined).add((kind, name))
    return defined, undefined


@pytest.mark.parametrize("env", sorted(SWITCHES))
def test_port_compiles_with_the_board_flags(tmp_path_factory, env):
    objects = cbuild.cross_compile_objects(
        tmp_path_factory, [PORT / "main.cpp", PORT / "board_counters.cpp"],
        include_dirs=(STUBS, cbuild.CORE_DIR, PORT), extra_flags=SWITCHES[env])
    defined, undefined = symbols(objects)
    names = {name for _, name in defined}
    # the sampler's vector is a strong definition, so it replaces the startup file's weak default
    assert ("T", "TIMER4_IRQHandler") in defined
    assert "tinyml::BoardCounters::start(bool, unsigned long)" in names
    assert any("BoardCounters::start" in name for _, name in undefined) is False
