// QEMU driver of the kernel test vectors: the kernels' Cortex-M4 DSP path, one UART line per case
// with the instructions it took (SysTick under -icount shift=0, see systick_clock.h).
#include <string.h>

#include "cmsdk_uart.h"
#include "systick_clock.h"

extern "C" {
#include "kernel_cases.h"
}

namespace {
tinyml::SysTickInstructionClock g_clock;

void print_line(const char* line) {
  cmsdk_uart_write(line, strlen(line));
  cmsdk_uart_write("\r\n", 2);
}
uint32_t instruction_ticks() { return g_clock.ticks(); }
}  // namespace

int main() {
  g_clock.start();
  return tk_run_cases(print_line, instruction_ticks) == 0 ? 0 : 1;
}
