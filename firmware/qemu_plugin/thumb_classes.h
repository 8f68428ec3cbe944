// Classifies ARMv7E-M Thumb-2 instructions from their bytes into the classes the Cortex-M4
// Technical Reference Manual times differently (pipeline/perf/cycles.py holds the cycles).
// Plain C, no QEMU types: the plugin (insn_classes.c) calls it at translation time.
#pragma once
#include <stdbool.h>
#include <stdint.h>

// Counter indices. The first group partitions instructions: every instruction falls in exactly
// one of them. The second group are extra events counted on top (their names start with "x_").
#define THUMB_CLASS_LIST(X)                                                                    \
  X(alu)                 /* data processing, DSP SIMD, saturate, extend, MOV, NOP: 1 */        \
  X(it)                  /* IT: 1 (may fold) */                                                \
  X(mul)                 /* MUL, MLA, MLS, SMLAD, SMLA<x><y>, SMULL, UMLAL, ...: 1 */         \
  X(div)                 /* SDIV, UDIV: 2-12 */                                                \
  X(load)                /* LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX, not pipelined: 2 */              \
  X(load_pipelined)      /* the same right after a load it does not depend on: 1 */           \
  X(store)               /* STR* immediate offset, or register offset after a load: 1 */      \
  X(store_reg)           /* STR* register offset, not after a load: 2 */                       \
  X(ldrd_strd)           /* LDRD, STRD: 1+N, N = 2 */                                          \
  X(ldm_stm)             /* LDM, STM, PUSH, POP (integer): 1+N */                              \
  X(load_pc)             /* LDR pc, [...]: 2 + 3 */                                            \
  X(table_branch)        /* TBB, TBH: 2 + 1 + 3 */                                             \
  X(branch)              /* B, BL, BX, BLX, MOV/ADD pc: 1+P */                                 \
  X(branch_cond)         /* B<c>, CBZ, CBNZ: split into taken/not taken at run time */        \
  X(fp_alu)              /* VADD, VSUB, VMUL, VCVT, VMOV, VCMP, VABS, VNEG, VMRS: 1 */        \
  X(fp_mac)              /* VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS: 3 */          \
  X(fp_div)              /* VDIV, VSQRT: 14 */                                                 \
  X(fp_load_store)       /* VLDR, VSTR: 2 */                                                   \
  X(fp_ldm_stm)          /* VLDM, VSTM, VPUSH, VPOP: 1+N */                                    \
  X(system)              /* MRS, MSR, CPS, barriers, hints, SVC, BKPT, UDF, coprocessor: 1 */ \
  X(x_branch_taken)      /* branch_cond that was taken (run time) */                           \
  X(x_branch_not_taken)  /* branch_cond that was not taken (run time) */                       \
  X(x_load_addr_dep)     /* load/store whose address register the previous instruction wrote */\
  X(x_load_literal)      /* PC-relative load (may contend with the fetch unit) */             \
  X(x_ldm_stm_regs)      /* registers moved by ldm_stm (the N of 1+N) */                       \
  X(x_pop_pc)            /* ldm_stm that loads pc (adds P) */                                  \
  X(x_fp_regs)           /* registers moved by fp_ldm_stm */                                   \
  X(x_flash_data_reads)  /* data reads from the flash region (run time) */                     \
  X(x_fetch_words)       /* 32-bit instruction fetches from the flash region */                \
  X(x_fetch_lines)       /* instruction cache lookups of the fetch stream (per fill unit) */  \
  X(x_cache_misses)      /* of which missed the modelled instruction cache */                 \
  X(x_flash_data_misses) /* flash data reads that missed the modelled data cache (all: none) */

enum thumb_class {
#define THUMB_CLASS_ENUM(name) TC_##name,
  THUMB_CLASS_LIST(THUMB_CLASS_ENUM)
#undef THUMB_CLASS_ENUM
  TC_COUNT
};

#define TC_FIRST_EXTRA TC_x_branch_taken

extern const char *const thumb_class_names[TC_COUNT];

// What the classifier knows of one instruction.
struct thumb_insn {
  uint8_t size;           // 2 or 4 bytes
  uint8_t cls;            // enum thumb_class (primary class)
  uint8_t regs_moved;     // N of LDM/STM/VLDM/VSTM
  bool is_load;           // single load (LDR* incl. literal, LDREX; not LDM/LDRD)
  bool is_store;          // single store (STR*)
  bool store_reg_offset;  // STR with register offset
  bool literal;           // address from PC
  bool loads_pc;          // LDM/POP with pc in the list
  bool it_block_start;    // IT instruction (its mask gives the block length)
  uint8_t it_length;      // instructions covered by this IT (1-4)
  bool memory_read;       // reads data memory (loads, LDM, LDRD, VLDR, VLDM, TBB)
  uint16_t writes;        // registers written (bit n = Rn), approximate
  uint16_t address_regs;  // registers the address is computed from (loads and stores)
};

// Decodes the instruction at `bytes` (little endian halfwords as in memory, `size` 2 or 4).
void thumb_classify(const uint8_t *bytes, unsigned size, struct thumb_insn *out);

// The class of an instruction given the previous one in program order (pipelining of loads
// and stores, TRM 3.3.2). `previous` may be NULL (block start after a branch).
// Returns the primary class and sets *address_dependent.
enum thumb_class thumb_class_in_sequence(const struct thumb_insn *insn,
                                         const struct thumb_insn *previous,
                                         bool *address_dependent);
