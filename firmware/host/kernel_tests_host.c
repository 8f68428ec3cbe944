// Host driver of the kernel test vectors: the kernels' portable C path (TINYML_KERNELS_PORTABLE).
#include <stdio.h>

#include "kernel_cases.h"

static void print_line(const char* line) { puts(line); }
static uint32_t no_ticks(void) { return 0; }

int main(void) { return tk_run_cases(print_line, no_ticks) == 0 ? 0 : 1; }
