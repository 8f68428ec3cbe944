"""Calibration that can fail: the cycle-calibration firmware (firmware/ports/qemu_mps2/
cycle_calibration_main.cc, no TFLM) runs known Thumb-2 sequences under the instruction-class
plugin; for each one the Cortex-M4 TRM's rules give the cycle count by hand (below, instruction
by instruction) and pipeline.perf.cycles must return exactly that number from the plugin's
counts, for the default penalties and for other values of them (so a term counted with the wrong
class cannot hide behind one lucky parameter set).

CI installs the toolchain and QEMU (.ci/run); elsewhere a missing tool skips."""
from __future__ import annotations

import os

import pytest

from cbuild import require_emulator_tools

from pipeline.perf import cycles
from pipeline.board import load_board
from pipeline.emulator import build as emu_build, qemu as emu_qemu, stage as emu_stage, toolchain as emu_tools
from pipeline.emulator import plugin as ic
from pipeline.perf.counts import InvokeClassCounts

NANO_MODEL = cycles.model_for_board(load_board("nano33ble"))  # the board's timing (its file)
# A board with a flash data cache and 64-bit fills (ST's ART accelerator, nucleo_l4r5zi.toml).
ART_MODEL = cycles.model_for_board(load_board("nucleo_l4r5zi"))

N = 100  # ITERATIONS in the firmware


def _bracket(body: float, p: float, setup: float = 0) -> float:
    """Cycles of one SEQUENCE(): the layer_begin mark's `bx lr` (1+P), movw/movt r1 and r6 (4),
    the setup, `movs r0` (1), N bodies each with `subs` (1), `bne 1b` taken N-1 times (1+P) and
    not taken once (1), and `bl tinyml_trace_layer_end` (1+P)."""
    return (1 + p) + 4 + setup + 1 + N * (body + 1) + (N - 1) * (1 + p) + 1 + (1 + p)


def expected_core_cycles(p: float, s: float) -> dict[str, float]:
    """TRM 3.3 by hand. p: branch refill P; s: stall of a load whose address register the previous
    instruction wrote."""
    return {
        "calib_alu": _bracket(4, p),
        # LDR 2, then three LDRs pipelined behind it, 1 each: N+1 for N loads
        "calib_load_chain": _bracket(2 + 1 + 1 + 1, p),
        # setup STR imm 1; the first LDR 2, then three LDRs through the loaded pointer: no
        # pipelining (address = previous load's result), 2 + s each
        "calib_dependent_loads": _bracket(2 + 3 * (2 + s), p, setup=1),
        # ADDS 1, LDR through it 2 + s, twice
        "calib_alu_then_load": _bracket(2 * (1 + 2 + s), p),
        "calib_smlad": _bracket(4 * 1, p),
        # B 1+P, B 1+P, CMP 1, BNE taken 1+P (the NOPs are skipped)
        "calib_taken_branches": _bracket(3 * (1 + p) + 1, p),
        # CMP 1, BEQ not taken 1, twice
        "calib_untaken_branches": _bracket(4, p),
        # LDM {r2-r5} 1+4, STM {r2-r5} 1+4
        "calib_ldm_stm": _bracket(5 + 5, p),
        # setup MOVS 1; STR imm 1, STR imm 1, ADDS 1, STR reg-offset after an ALU op 2,
        # LDR after a store (nothing pipelines after a store) 2, STR reg-offset after LDR 1
        "calib_stores": _bracket(1 + 1 + 1 + 2 + 2 + 1, p, setup=1),
        # LDR 2, LDR pipelined 1, ADDS 1 (the two loads read flash: wait states, below)
        "calib_flash_reads": _bracket(2 + 1 + 1, p),
    }


SEQUENCES = list(expected_core_cycles(2, 1))




@pytest.fixture(scope="module")
def calibration_counts(tmp_path_factory) -> InvokeClassCounts:
    require_emulator_tools("calibration firmware")
    work = tmp_path_factory.mktemp("cycle-calibration")
    tree = emu_build.configure(work, None)
    emu_build.build_target(tree, "qemu_cycle_calibration")
    try:
        library = ic.build_plugin(work / "plugin")
    except ic.PluginUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    return ic.run_counted(tree / "qemu_cycle_calibration.elf", library, work / "counts.json",
                          invoke=1, cache=NANO_MODEL.flash.cache, flash_end=0x400000)


@pytest.fixture(scope="module")
def art_counts(calibration_counts, tmp_path_factory) -> InvokeClassCounts:
    """The same firmware through the STM32L4R5's caches (its board file's geometry)."""
    work = tmp_path_factory.mktemp("cycle-calibration-art")
    tree = emu_build.configure(work, None)
    emu_build.build_target(tree, "qemu_cycle_calibration")
    library = ic.build_plugin(work / "plugin")
    return ic.run_counted(tree / "qemu_cycle_calibration.elf", library, work / "counts.json", invoke=1,
                          cache=ART_MODEL.flash.cache, flash_end=0x400000, data_cache=ART_MODEL.flash.data_cache)


def test_every_sequence_is_one_layer(calibration_counts):
    assert len(calibration_counts.layers) == len(SEQUENCES)


@pytest.mark.parametrize("p, s", [(2, 1), (1, 0), (3, 2)])
def test_estimator_returns_the_trm_cycles_of_each_sequence(calibration_counts, p, s):
    model = NANO_MODEL.with_penalties(branch_refill=p, address_dependency_stall=s)
    expected = expected_core_cycles(p, s)
    got = {name: cycles.core_cycles(layer, model)
           for name, layer in zip(SEQUENCES, calibration_counts.layers)}
    assert got == expected


def test_flash_data_reads_add_their_wait_states_cache_on_and_off(calibration_counts):
    flash_layer = calibration_counts.layers[SEQUENCES.index("calib_flash_reads")]
    ram_layer = calibration_counts.layers[SEQUENCES.index("calib_load_chain")]
    assert flash_layer["x_flash_data_reads"] == 2 * N
    assert ram_layer["x_flash_data_reads"] == 0
    model = NANO_MODEL
    ws = model.flash.data_wait_states
    assert cycles.flash_stall_cycles(flash_layer, True, model) == (
        flash_layer["x_cache_misses"] * model.flash.miss_penalty + 2 * N * ws)


def test_without_a_data_cache_every_flash_read_waits(calibration_counts):
    flash_layer = calibration_counts.layers[SEQUENCES.index("calib_flash_reads")]
    assert calibration_counts.data_cache is None
    assert flash_layer["x_flash_data_misses"] == flash_layer["x_flash_data_reads"] == 2 * N


def test_a_data_cache_makes_repeated_flash_reads_wait_once(art_counts):
    """The ART data cache (8 lines of 4 x 64 bits): the sequence reads the same two words of one
    64-bit flash read N times, so only the first read goes to flash and waits its 5 wait states."""
    assert art_counts.data_cache == ART_MODEL.flash.data_cache
    flash_layer = art_counts.layers[SEQUENCES.index("calib_flash_reads")]
    assert flash_layer["x_flash_data_reads"] == 2 * N
    assert flash_layer["x_flash_data_misses"] == 1
    ws = ART_MODEL.flash.data_wait_states
    assert cycles.flash_stall_cycles(flash_layer, True, ART_MODEL) == (
        flash_layer["x_cache_misses"] * ART_MODEL.flash.miss_penalty + 1 * ws)
    # caches off: every read waits
    assert cycles.flash_stall_cycles(flash_layer, False, ART_MODEL) == (
        flash_layer["x_fetch_words"] * ART_MODEL.flash.fetch_wait_states + 2 * N * ws)


def test_finer_fills_miss_at_least_as_often_on_cold_code(calibration_counts, art_counts):
    """64-bit fills (ART) against 16-byte lines (the Nano's model): every cold 16-byte line holds
    one or two 8-byte fill units, and both caches hold the sequences' loops whole."""
    for nano, art in zip(calibration_counts.layers, art_counts.layers):
        assert nano["x_cache_misses"] <= art["x_cache_misses"] <= 2 * nano["x_cache_misses"] + 1
        assert art["x_fetch_words"] == nano["x_fetch_words"]


def test_cache_off_pays_every_fetch_and_cache_on_only_misses(calibration_counts):
    model = NANO_MODEL
    for layer in calibration_counts.layers:
        # a loop of N iterations fetches its body N times but misses only on the first pass
        assert layer["x_fetch_words"] >= N * 2
        assert 0 < layer["x_cache_misses"] <= 4
        on, off = (cycles.flash_stall_cycles(layer, c, model) for c in (True, False))
        assert on < off


def test_instruction_counts_partition_into_primary_classes(calibration_counts):
    alu = calibration_counts.layers[SEQUENCES.index("calib_alu")]
    # bx lr, movw/movt x2, movs, N x (4 + subs + bne), bl
    assert alu.instructions == 1 + 4 + 1 + N * 6 + 1
    for layer in calibration_counts.layers:
        assert layer["branch_cond"] == layer["x_branch_taken"] + layer["x_branch_not_taken"]
