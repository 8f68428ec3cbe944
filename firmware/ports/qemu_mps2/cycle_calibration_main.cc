// Cycle-model calibration firmware (no TFLM): known instruction sequences, each bracketed by the
// layer trace marks inside one invoke mark, so the instruction-class plugin counts every sequence
// as one "layer". tests/test_cycle_calibration.py computes each sequence's Cortex-M4 cycles by
// hand from the TRM's timing rules and checks that pipeline/perf/cycles.py returns exactly
// those numbers from the plugin's counts. The sequences are written in assembly so that the
// compiler cannot change them; the test's expectations count every instruction listed here.
#include <stdint.h>

#include "trace_marks.h"

extern "C" {
// Data in SRAM: a self-pointing word for the dependent-load chain, scratch for loads/stores.
uint32_t calib_ram[16] __attribute__((aligned(16)));
// A constant in flash, for data reads from the flash region; aligned so that the two words the
// sequence reads share one 64-bit flash read (one data-cache fill on a board that has one).
extern const uint32_t calib_flash[4];
const uint32_t calib_flash[4] __attribute__((aligned(16))) = {1, 2, 3, 4};
}

// Every sequence: bl layer_begin (its bx lr is the first instruction counted), set up, loop
// ITERATIONS times over the body, then bl layer_end (the bl is the last instruction counted).
#define ITERATIONS "100"
#define SEQUENCE(name, setup, body)                                      \
  extern "C" __attribute__((naked, noinline)) void name(void) {          \
    __asm volatile(                                                      \
        "push {r4-r7, lr}\n"                                             \
        "bl tinyml_trace_layer_begin\n"                                  \
        "movw r1, #:lower16:calib_ram\n"                                 \
        "movt r1, #:upper16:calib_ram\n"                                 \
        "movw r6, #:lower16:calib_flash\n"                               \
        "movt r6, #:upper16:calib_flash\n"                               \
        setup                                                            \
        "movs r0, #" ITERATIONS "\n"                                     \
        "1:\n" body                                                      \
        "subs r0, r0, #1\n"                                              \
        "bne 1b\n"                                                       \
        "bl tinyml_trace_layer_end\n"                                    \
        "pop {r4-r7, pc}\n");                                            \
  }

SEQUENCE(calib_alu, "", "adds r2, r2, #1\n adds r3, r3, #1\n eors r4, r4, r2\n adds r5, r5, r3\n")
SEQUENCE(calib_load_chain, "",
         "ldr r2, [r1]\n ldr r3, [r1, #4]\n ldr r4, [r1, #8]\n ldr r5, [r1, #12]\n")
SEQUENCE(calib_dependent_loads, "str r1, [r1]\n",
         "ldr r2, [r1]\n ldr r2, [r2]\n ldr r2, [r2]\n ldr r2, [r2]\n")
SEQUENCE(calib_alu_then_load, "", "adds r3, r1, #0\n ldr r2, [r3]\n adds r3, r1, #4\n ldr r2, [r3]\n")
SEQUENCE(calib_smlad, "", "smlad r2, r3, r4, r2\n smlad r5, r3, r4, r5\n smlad r2, r3, r4, r2\n"
                          " smlad r5, r3, r4, r5\n")
SEQUENCE(calib_taken_branches, "", "b 2f\n nop\n 2: b 3f\n nop\n 3: cmp r0, #0\n bne 4f\n nop\n 4:\n")
SEQUENCE(calib_untaken_branches, "", "cmp r0, #0\n beq 2f\n cmp r0, #0\n beq 2f\n 2:\n")
SEQUENCE(calib_ldm_stm, "", "ldm r1, {r2-r5}\n stm r1, {r2-r5}\n")
SEQUENCE(calib_stores, "movs r3, #0\n",
         "str r2, [r1]\n str r2, [r1, #4]\n adds r4, r4, #1\n str r2, [r1, r3]\n"
         "ldr r5, [r1]\n str r5, [r1, r3]\n")
SEQUENCE(calib_flash_reads, "", "ldr r2, [r6]\n ldr r3, [r6, #4]\n adds r4, r4, #1\n")

int main() {
  tinyml_trace_invoke_begin();
  calib_alu();
  calib_load_chain();
  calib_dependent_loads();
  calib_alu_then_load();
  calib_smlad();
  calib_taken_branches();
  calib_untaken_branches();
  calib_ldm_stm();
  calib_stores();
  calib_flash_reads();
  tinyml_trace_invoke_end();
  return 0;
}
