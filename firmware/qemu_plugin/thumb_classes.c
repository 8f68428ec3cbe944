// Thumb-2 (ARMv7E-M) instruction classes from the encoding tables of the ARMv7-M Architecture
// Reference Manual (A5.2 16-bit, A5.3 32-bit, A6 FP); the classes follow the timing table of the
// Cortex-M4 TRM (3.3). Only what timing needs is decoded: class, registers written, address
// registers, registers moved.
#include "thumb_classes.h"

#include <string.h>

const char *const thumb_class_names[TC_COUNT] = {
#define THUMB_CLASS_NAME(name) #name,
    THUMB_CLASS_LIST(THUMB_CLASS_NAME)
#undef THUMB_CLASS_NAME
};

static unsigned popcount16(uint16_t v) {
  unsigned n = 0;
  while (v) {
    v &= (uint16_t)(v - 1);
    ++n;
  }
  return n;
}

#define R(n) ((uint16_t)(1u << ((n) & 15u)))
#define SP_REG 13
#define PC_REG 15

static void classify16(uint16_t hw, struct thumb_insn *o) {
  const unsigned rd3 = hw & 7u;
  const unsigned rn3 = (hw >> 3) & 7u;
  o->cls = TC_alu;
  if ((hw >> 13) == 0) {  // 00xxx: shift (imm), add, subtract, move, compare
    o->writes = R(rd3);
    if ((hw >> 11) == 3) o->writes = R(rd3);
    return;
  }
  if ((hw >> 13) == 1) {  // 001xx: MOV/CMP/ADD/SUB imm8
    const unsigned op = (hw >> 11) & 3u;
    if (op != 1) o->writes = R((hw >> 8) & 7u);
    return;
  }
  if ((hw >> 10) == 0x10) {  // 010000: data processing (register)
    const unsigned op = (hw >> 6) & 15u;
    if (op == 13) o->cls = TC_mul;  // MULS
    if (op != 8 && op != 10 && op != 11) o->writes = R(rd3);  // not TST/CMP/CMN
    return;
  }
  if ((hw >> 10) == 0x11) {  // 010001: special data processing, branch/exchange
    const unsigned op = (hw >> 8) & 3u;
    const unsigned rd = ((hw >> 4) & 8u) | rd3;
    if (op == 3) {  // BX / BLX
      o->cls = TC_branch;
      if (hw & 0x80) o->writes = R(14);
      return;
    }
    if (op == 1) return;  // CMP
    o->writes = R(rd);
    if (rd == PC_REG) o->cls = TC_branch;
    return;
  }
  if ((hw >> 11) == 9) {  // 01001: LDR literal
    o->is_load = o->memory_read = o->literal = true;
    o->writes = R((hw >> 8) & 7u);
    o->address_regs = R(PC_REG);
    return;
  }
  if ((hw >> 12) == 5) {  // 0101: load/store register offset
    const unsigned opb = (hw >> 9) & 7u;
    o->address_regs = (uint16_t)(R(rn3) | R((hw >> 6) & 7u));
    if (opb <= 2) {
      o->is_store = o->store_reg_offset = true;
    } else {
      o->is_load = o->memory_read = true;
      o->writes = R(rd3);
    }
    return;
  }
  if ((hw >> 13) == 3 || (hw >> 12) == 8) {  // 011xx word/byte imm, 1000x halfword imm
    o->address_regs = R(rn3);
    if (hw & 0x800) {
      o->is_load = o->memory_read = true;
      o->writes = R(rd3);
    } else {
      o->is_store = true;
    }
    return;
  }
  if ((hw >> 12) == 9) {  // 1001x: SP-relative load/store
    o->address_regs = R(SP_REG);
    if (hw & 0x800) {
      o->is_load = o->memory_read = true;
      o->writes = R((hw >> 8) & 7u);
    } else {
      o->is_store = true;
    }
    return;
  }
  if ((hw >> 12) == 10) {  // 1010x: ADR, ADD rd, SP, #imm
    o->writes = R((hw >> 8) & 7u);
    return;
  }
  if ((hw >> 12) == 11) {  // 1011: miscellaneous 16-bit
    if ((hw & 0xF500) == 0xB100) {  // CBZ / CBNZ
      o->cls = TC_branch_cond;
      return;
    }
    if ((hw & 0xFE00) == 0xB400) {  // PUSH
      o->cls = TC_ldm_stm;
      o->regs_moved = (uint8_t)(popcount16(hw & 0xFF) + ((hw >> 8) & 1u));
      o->writes = R(SP_REG);
      o->address_regs = R(SP_REG);
      return;
    }
    if ((hw & 0xFE00) == 0xBC00) {  // POP
      o->cls = TC_ldm_stm;
      o->memory_read = true;
      o->regs_moved = (uint8_t)(popcount16(hw & 0xFF) + ((hw >> 8) & 1u));
      o->loads_pc = (hw >> 8) & 1u;
      o->writes = (uint16_t)((hw & 0xFF) | R(SP_REG) | (o->loads_pc ? R(PC_REG) : 0));
      o->address_regs = R(SP_REG);
      return;
    }
    if ((hw & 0xFF00) == 0xBF00) {  // IT and hints
      if (hw & 0xF) {
        o->cls = TC_it;
        o->it_block_start = true;
        const unsigned mask = hw & 0xF;
        o->it_length = (uint8_t)((mask & 1u) ? 4 : (mask & 2u) ? 3 : (mask & 4u) ? 2 : 1);
      }
      return;  // NOP, YIELD, WFE, WFI, SEV: 1 cycle (as alu)
    }
    if ((hw & 0xFF00) == 0xB000) {  // ADD/SUB SP, #imm
      o->writes = R(SP_REG);
      return;
    }
    if ((hw & 0xFF00) == 0xB200 || (hw & 0xFF00) == 0xBA00) {  // extend, reverse
      o->writes = R(rd3);
      return;
    }
    o->cls = TC_system;  // CPS, BKPT
    return;
  }
  if ((hw >> 12) == 12) {  // 1100x: STM / LDM
    const unsigned rn = (hw >> 8) & 7u;
    o->cls = TC_ldm_stm;
    o->regs_moved = (uint8_t)popcount16(hw & 0xFF);
    o->address_regs = R(rn);
    if (hw & 0x800) {
      o->memory_read = true;
      o->writes = (uint16_t)((hw & 0xFF) | R(rn));
    } else {
      o->writes = R(rn);
    }
    return;
  }
  if ((hw >> 12) == 13) {  // 1101: conditional branch, UDF, SVC
    const unsigned cond = (hw >> 8) & 15u;
    o->cls = cond >= 14 ? TC_system : TC_branch_cond;
    return;
  }
  if ((hw >> 11) == 0x1C) {  // 11100: B
    o->cls = TC_branch;
    return;
  }
  o->cls = TC_system;
}

static void classify_fp(uint16_t hw1, uint16_t hw2, struct thumb_insn *o) {
  const bool vfp = ((hw2 >> 9) & 7u) == 5;  // coprocessor 10/11
  o->cls = TC_system;
  if (!vfp) return;
  if ((hw1 & 0xFE00) == 0xEC00) {  // extension register load/store, 64-bit moves
    const unsigned op = (hw1 >> 4) & 0x1F;
    const unsigned rn = hw1 & 15u;
    if ((op & 0x1E) == 0x04) {  // VMOV two core registers <-> doubleword/two singles
      o->cls = TC_fp_alu;
      if (op & 1u) o->writes = (uint16_t)(R(hw2 >> 12) | R(hw1 & 15u));
      return;
    }
    o->address_regs = R(rn);
    const bool load = op & 1u;
    if ((op & 0x12) == 0x10) {  // VSTR / VLDR
      o->cls = TC_fp_load_store;
      o->memory_read = load;
      return;
    }
    o->cls = TC_fp_ldm_stm;  // VSTM, VLDM, VPUSH, VPOP
    o->memory_read = load;
    const unsigned words = hw2 & 0xFF;
    o->regs_moved = (uint8_t)(((hw2 >> 8) & 1u) ? words / 2 : words);
    if (op & 2u) o->writes = R(rn);  // write-back
    return;
  }
  if ((hw1 & 0xFF00) == 0xEE00) {
    if (hw2 & 0x10) {  // VMOV core <-> single, VMRS, VMSR
      o->cls = TC_fp_alu;
      if (hw1 & 0x10) o->writes = R(hw2 >> 12);
      return;
    }
    const unsigned opc1 = (hw1 >> 4) & 0xB;
    const unsigned opc2 = hw1 & 15u;
    const unsigned opc3 = (hw2 >> 6) & 3u;
    switch (opc1) {
      case 0x0: case 0x1: case 0x9: case 0xA:
        o->cls = TC_fp_mac;
        return;
      case 0x8:
        o->cls = TC_fp_div;
        return;
      case 0xB:
        o->cls = (opc2 == 1 && opc3 == 3) ? TC_fp_div : TC_fp_alu;  // VSQRT
        return;
      default:
        o->cls = TC_fp_alu;
        return;
    }
  }
}

static void classify32(uint16_t hw1, uint16_t hw2, struct thumb_insn *o) {
  const unsigned op1 = (hw1 >> 11) & 3u;
  const unsigned op2 = (hw1 >> 4) & 0x7F;
  const unsigned rn = hw1 & 15u;
  o->cls = TC_alu;
  if (op1 == 1) {
    if ((op2 & 0x64) == 0x00) {  // load/store multiple
      const unsigned op = (hw1 >> 7) & 3u;
      if (op == 0 || op == 3) {  // SRS/RFE: not in ARMv7-M
        o->cls = TC_system;
        return;
      }
      o->cls = TC_ldm_stm;
      o->regs_moved = (uint8_t)popcount16(hw2);
      o->address_regs = R(rn);
      const bool writeback = (hw1 >> 5) & 1u;
      if (hw1 & 0x10) {
        o->memory_read = true;
        o->loads_pc = (hw2 >> 15) & 1u;
        o->writes = (uint16_t)(hw2 | (writeback ? R(rn) : 0));
      } else {
        o->writes = writeback ? R(rn) : 0;
      }
      return;
    }
    if ((op2 & 0x64) == 0x04) {  // load/store dual, exclusive, table branch
      const unsigned op1b = (hw1 >> 7) & 3u;
      const unsigned op2b = (hw1 >> 4) & 3u;
      const unsigned op3 = (hw2 >> 4) & 15u;
      o->address_regs = R(rn);
      if (op1b == 1 && op2b == 1 && (op3 == 0 || op3 == 1)) {  // TBB / TBH
        o->cls = TC_table_branch;
        o->memory_read = true;
        o->address_regs = (uint16_t)(R(rn) | R(hw2 & 15u));
        return;
      }
      if (op1b == 0 && op2b == 0) {  // STREX
        o->is_store = true;
        o->writes = R((hw2 >> 8) & 15u);
        return;
      }
      if (op1b == 0 && op2b == 1) {  // LDREX
        o->is_load = o->memory_read = true;
        o->writes = R(hw2 >> 12);
        return;
      }
      if (op1b == 1 && (op2b == 0 || op2b == 1)) {  // STREXB/H, LDREXB/H
        if (op2b == 1) {
          o->is_load = o->memory_read = true;
          o->writes = R(hw2 >> 12);
        } else {
          o->is_store = true;
          o->writes = R(hw2 & 15u);
        }
        return;
      }
      o->cls = TC_ldrd_strd;  // LDRD / STRD (immediate, literal)
      o->regs_moved = 2;
      const bool writeback = (hw1 >> 5) & 1u;
      if (hw1 & 0x10) {
        o->memory_read = true;
        o->literal = rn == PC_REG;
        o->writes = (uint16_t)(R(hw2 >> 12) | R((hw2 >> 8) & 15u) | (writeback ? R(rn) : 0));
      } else {
        o->writes = writeback ? R(rn) : 0;
      }
      return;
    }
    if ((op2 & 0x60) == 0x20) {  // data processing (shifted register)
      const unsigned rd = (hw2 >> 8) & 15u;
      if (!(rd == PC_REG && (hw1 & 0x10))) o->writes = R(rd);  // TST/TEQ/CMP/CMN write none
      return;
    }
    classify_fp(hw1, hw2, o);  // coprocessor
    return;
  }
  if (op1 == 2) {
    if (!(hw2 & 0x8000)) {  // data processing (modified / plain immediate)
      const unsigned rd = (hw2 >> 8) & 15u;
      if (!(rd == PC_REG && (hw1 & 0x10))) o->writes = R(rd);
      return;
    }
    const unsigned op = (hw2 >> 12) & 7u;  // branches and miscellaneous control
    if ((op & 5u) == 0) {
      if ((op2 & 0x38) != 0x38) {
        o->cls = TC_branch_cond;  // B<c>.W
        return;
      }
      o->cls = TC_system;  // MSR, MRS, hints, barriers
      if ((op2 & 0x7E) == 0x3E) o->writes = R((hw2 >> 8) & 15u);  // MRS
      if ((op2 & 0x7E) == 0x3A && (hw2 & 0x7FF) == 0) o->cls = TC_alu;  // NOP.W etc.
      return;
    }
    o->cls = TC_branch;  // B.W, BL
    if (op & 4u) o->writes = R(14);
    return;
  }
  // op1 == 3
  if ((op2 & 0x71) == 0x00) {  // store single
    o->is_store = true;
    o->address_regs = R(rn);
    if (!(hw1 & 0x80) && ((hw2 >> 6) & 0x3F) == 0) {
      o->store_reg_offset = true;
      o->address_regs = (uint16_t)(R(rn) | R(hw2 & 15u));
    } else if (!(hw1 & 0x80) && (hw2 & 0x800) && (hw2 & 0x100)) {
      o->writes = R(rn);  // write-back
    }
    return;
  }
  if ((op2 & 0x67) == 0x01 || (op2 & 0x67) == 0x03 || (op2 & 0x67) == 0x05) {  // loads
    const unsigned rt = hw2 >> 12;
    if (rt == PC_REG && (op2 & 0x67) != 0x05) {  // PLD/PLI: a hint
      o->cls = TC_system;
      return;
    }
    o->memory_read = true;
    o->address_regs = R(rn);
    o->literal = rn == PC_REG;
    if (!o->literal && !(hw1 & 0x80) && ((hw2 >> 6) & 0x3F) == 0) {
      o->address_regs = (uint16_t)(R(rn) | R(hw2 & 15u));
    }
    o->writes = R(rt);
    if (!o->literal && !(hw1 & 0x80) && (hw2 & 0x800) && (hw2 & 0x100)) o->writes |= R(rn);
    if (rt == PC_REG) {
      o->cls = TC_load_pc;
      return;
    }
    o->is_load = true;
    return;
  }
  if ((op2 & 0x70) == 0x20) {  // data processing (register): shifts, extend, SIMD add, misc
    o->writes = R((hw2 >> 8) & 15u);
    return;
  }
  if ((op2 & 0x78) == 0x30) {  // multiply, multiply accumulate, absolute difference
    o->cls = TC_mul;
    o->writes = R((hw2 >> 8) & 15u);
    return;
  }
  if ((op2 & 0x78) == 0x38) {  // long multiply, long multiply accumulate, divide
    const unsigned op = (hw1 >> 4) & 7u;
    const unsigned op_2 = (hw2 >> 4) & 15u;
    if ((op == 1 || op == 3) && op_2 == 15) {
      o->cls = TC_div;
      o->writes = R((hw2 >> 8) & 15u);
      return;
    }
    o->cls = TC_mul;
    o->writes = (uint16_t)(R(hw2 >> 12) | R((hw2 >> 8) & 15u));
    return;
  }
  classify_fp(hw1, hw2, o);  // coprocessor
}

void thumb_classify(const uint8_t *bytes, unsigned size, struct thumb_insn *out) {
  memset(out, 0, sizeof *out);
  const uint16_t hw1 = (uint16_t)(bytes[0] | (bytes[1] << 8));
  out->size = (uint8_t)size;
  if (size == 4) {
    const uint16_t hw2 = (uint16_t)(bytes[2] | (bytes[3] << 8));
    classify32(hw1, hw2, out);
  } else {
    classify16(hw1, out);
  }
  if (out->is_load) out->cls = TC_load;
  if (out->is_store) out->cls = out->store_reg_offset ? TC_store_reg : TC_store;
}

enum thumb_class thumb_class_in_sequence(const struct thumb_insn *insn,
                                         const struct thumb_insn *previous,
                                         bool *address_dependent) {
  *address_dependent = previous != NULL && (insn->address_regs & previous->writes) != 0;
  // TRM 3.3.2: an LDR is pipelined with a following LDR or STR unless the first one's
  // destination is used to compute the second one's address; nothing pipelines after a store.
  const bool after_load = previous != NULL && previous->is_load;
  if (insn->is_load) {
    return (after_load && !*address_dependent) ? TC_load_pipelined : TC_load;
  }
  if (insn->is_store && insn->store_reg_offset) {
    return (after_load && !*address_dependent) ? TC_store : TC_store_reg;
  }
  return (enum thumb_class)insn->cls;
}
