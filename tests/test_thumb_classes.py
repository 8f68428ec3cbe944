"""The plugin's Thumb-2 classifier (firmware/qemu_plugin/thumb_classes.c) on instructions the
assembler encodes: arm-none-eabi-as assembles each line, the classifier (compiled with the host
gcc, called through ctypes) must put it in the expected timing class, with the registers an
LDM/STM moves. Covers the 32-bit encodings the calibration firmware does not execute."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "firmware" / "qemu_plugin" / "thumb_classes.c"

# (assembly, class, registers moved)
CASES = [
    ("adds r0, r0, #1", "alu", 0), ("add.w r0, r1, r2, lsl #2", "alu", 0),
    ("movw r0, #0x1234", "alu", 0), ("sxtb16 r0, r1", "alu", 0), ("uxtab16 r0, r1, r2", "alu", 0),
    ("ssat r0, #8, r1", "alu", 0), ("qadd16 r0, r1, r2", "alu", 0), ("pkhbt r0, r1, r2", "alu", 0),
    ("nop", "alu", 0), ("nop.w", "alu", 0), ("ite eq", "it", 0),
    ("muls r0, r1, r0", "mul", 0), ("mla r0, r1, r2, r3", "mul", 0), ("smlad r0, r1, r2, r3", "mul", 0),
    ("smlabb r0, r1, r2, r3", "mul", 0), ("smull r0, r1, r2, r3", "mul", 0),
    ("smlal r0, r1, r2, r3", "mul", 0), ("smmulr r0, r1, r2", "mul", 0),
    ("sdiv r0, r1, r2", "div", 0), ("udiv r0, r1, r2", "div", 0),
    ("ldr r0, [r1, #4]", "load", 0), ("ldr.w r0, [r1, #400]", "load", 0),
    ("ldrsb.w r0, [r1, r2]", "load", 0), ("ldrh r0, [r1, r2]", "load", 0),
    ("ldr r0, [r1], #4", "load", 0), ("ldrb r0, [r1, #-1]!", "load", 0),
    ("ldr r0, [sp, #8]", "load", 0), ("ldr r0, [pc, #8]", "load", 0), ("ldrex r0, [r1]", "load", 0),
    ("str r0, [r1, #4]", "store", 0), ("strb.w r0, [r1, #4]", "store", 0),
    ("str r0, [r1, r2]", "store_reg", 0), ("strh.w r0, [r1, r2, lsl #1]", "store_reg", 0),
    ("ldrd r0, r1, [r2]", "ldrd_strd", 2), ("strd r0, r1, [r2, #8]", "ldrd_strd", 2),
    ("push {r4-r7, lr}", "ldm_stm", 5), ("pop {r4, pc}", "ldm_stm", 2),
    ("ldmia.w r0!, {r1-r4}", "ldm_stm", 4), ("stmdb sp!, {r4-r11, lr}", "ldm_stm", 9),
    ("ldr pc, [r0]", "load_pc", 0), ("tbb [pc, r0]", "table_branch", 0),
    ("tbh [pc, r0, lsl #1]", "table_branch", 0),
    ("b .", "branch", 0), ("b.w .", "branch", 0), ("bl .", "branch", 0), ("bx lr", "branch", 0),
    ("blx r3", "branch", 0), ("mov pc, lr", "branch", 0),
    ("beq .", "branch_cond", 0), ("bne.w .", "branch_cond", 0), ("cbnz r0, 1f\nnop\nnop\n1:", "branch_cond", 0),
    ("vadd.f32 s0, s1, s2", "fp_alu", 0), ("vmul.f32 s0, s1, s2", "fp_alu", 0),
    ("vcvt.s32.f32 s0, s1", "fp_alu", 0), ("vmov r0, s1", "fp_alu", 0), ("vmrs APSR_nzcv, fpscr", "fp_alu", 0),
    ("vmla.f32 s0, s1, s2", "fp_mac", 0), ("vfma.f32 s0, s1, s2", "fp_mac", 0),
    ("vdiv.f32 s0, s1, s2", "fp_div", 0), ("vsqrt.f32 s0, s1", "fp_div", 0),
    ("vldr s0, [r0, #4]", "fp_load_store", 0), ("vstr d0, [r0]", "fp_load_store", 0),
    ("vpush {s16-s19}", "fp_ldm_stm", 4), ("vldmia r0!, {d0-d1}", "fp_ldm_stm", 2),
    ("dmb ish", "system", 0), ("mrs r0, primask", "system", 0), ("cpsid i", "system", 0),
    ("svc #0", "system", 0),
]


class ThumbInsn(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint8), ("cls", ctypes.c_uint8), ("regs_moved", ctypes.c_uint8),
                ("is_load", ctypes.c_bool), ("is_store", ctypes.c_bool),
                ("store_reg_offset", ctypes.c_bool), ("literal", ctypes.c_bool),
                ("loads_pc", ctypes.c_bool), ("it_block_start", ctypes.c_bool),
                ("it_length", ctypes.c_uint8), ("memory_read", ctypes.c_bool),
                ("writes", ctypes.c_uint16), ("address_regs", ctypes.c_uint16)]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    for tool in ("gcc", "arm-none-eabi-as", "arm-none-eabi-objcopy"):
        if shutil.which(tool) is None:
            if os.environ.get("CI"):
                pytest.fail(f"{tool} missing in CI")
            pytest.skip(f"{tool} not installed")
    work = tmp_path_factory.mktemp("thumb")
    library = work / "libthumb.so"
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(library), str(SOURCE)], check=True)
    lib = ctypes.CDLL(str(library))
    lib.thumb_classify.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(ThumbInsn)]
    names = [ctypes.c_char_p.from_address(
        ctypes.addressof(ctypes.c_void_p.in_dll(lib, "thumb_class_names")) + i * ctypes.sizeof(ctypes.c_void_p)
    ).value.decode() for i in range(31)]
    return lib, names, work


def _encode(assembly: str, work: Path) -> bytes:
    src, obj, raw = work / "i.s", work / "i.o", work / "i.bin"
    src.write_text(".syntax unified\n.thumb\n.cpu cortex-m4\n.fpu fpv4-sp-d16\n"
                   f".text\n{assembly}\n")
    subprocess.run(["arm-none-eabi-as", "-o", str(obj), str(src)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)],
                   check=True)
    return raw.read_bytes()


@pytest.mark.parametrize("assembly, expected, moved", CASES, ids=[c[0] for c in CASES])
def test_classifies_the_instruction(classifier, assembly, expected, moved):
    lib, names, work = classifier
    data = _encode(assembly, work)
    first = int.from_bytes(data[:2], "little")
    size = 4 if (first >> 11) in (0x1D, 0x1E, 0x1F) else 2
    out = ThumbInsn()
    lib.thumb_classify(data[:size], size, ctypes.byref(out))
    assert (names[out.cls], out.regs_moved) == (expected, moved)
