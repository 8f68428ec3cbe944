// Reset handler, vector table and newlib hooks for QEMU's mps2-an386 (Cortex-M4 with FPU).
#include <stdint.h>

#include "cmsdk_uart.h"
#include "semihosting.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, __stack_top;
extern void __libc_init_array(void);
extern int main(void);
void systick_clock_on_wrap(void);

#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)

static void write_text(const char* text) {
  const char* end = text;
  while (*end) ++end;
  cmsdk_uart_write(text, (size_t)(end - text));
}

void Reset_Handler(void) {
  // CP10/CP11 full access: -mfpu=fpv4-sp-d16 code may use VFP registers even with softfp.
  SCB_CPACR |= (0xFu << 20);
  __asm volatile("dsb\n isb" ::: "memory");
  for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  cmsdk_uart_init();
  __libc_init_array();
  int status = main();
  semihosting_exit(status);
}

// A fault is a firmware bug: say so on the UART (the host shows the last lines) and stop QEMU.
static void fault(const char* name) {
  write_text("\r\nFAULT ");
  write_text(name);
  write_text("\r\n");
  semihosting_exit(3);
}

void NMI_Handler(void) { fault("NMI"); }
void HardFault_Handler(void) { fault("HardFault"); }
void MemManage_Handler(void) { fault("MemManage"); }
void BusFault_Handler(void) { fault("BusFault"); }
void UsageFault_Handler(void) { fault("UsageFault"); }
void Default_Handler(void) { fault("unexpected interrupt"); }
void SysTick_Handler(void) { systick_clock_on_wrap(); }

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t g_vectors[16] = {
    (vector_t)&__stack_top, Reset_Handler,   NMI_Handler,     HardFault_Handler,
    MemManage_Handler,      BusFault_Handler, UsageFault_Handler, 0,
    0,                      0,               0,               Default_Handler /* SVCall */,
    Default_Handler /* DebugMon */, 0,       Default_Handler /* PendSV */, SysTick_Handler,
};

// newlib: stdout/stderr go to the UART; exit/abort end the emulation with a failure status.
int _write(int fd, const char* data, int length) {
  (void)fd;
  cmsdk_uart_write(data, (size_t)length);
  return length;
}

void _exit(int status) {
  semihosting_exit(status);
  for (;;) {
  }
}
