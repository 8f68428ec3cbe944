#include "cmsdk_uart.h"

#include <stdint.h>

// Register map (ARM CMSDK APB UART, DDI0479): DATA +0x0, STATE +0x4 (bit0 = TX buffer full),
// CTRL +0x8 (bit0 = TX enable), BAUDDIV +0x10. QEMU ignores the baud rate but wants a divisor >= 16.
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t*)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t*)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t*)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t*)(UART0_BASE + 0x10u))
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u
#define UART_CTRL_TX_ENABLE 0x1u
#define UART_CTRL_RX_ENABLE 0x2u

void cmsdk_uart_init(void) {
  UART_BAUDDIV = 16u;
  UART_CTRL = UART_CTRL_TX_ENABLE | UART_CTRL_RX_ENABLE;
}

int cmsdk_uart_read_byte(void) {
  while (!(UART_STATE & UART_STATE_RX_FULL)) {
  }
  return (int)(UART_DATA & 0xFFu);
}

void cmsdk_uart_write(const char* data, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)data[i];
  }
}
