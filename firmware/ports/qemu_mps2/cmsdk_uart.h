// CMSDK APB UART0 of the mps2-an386 (QEMU maps the first -serial to it). Polled. Receiving is slow
// in QEMU (tens of kB/s): verification inputs go through semihosting files instead, and the UART
// receive path serves the serial verification's tests.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void cmsdk_uart_init(void);
void cmsdk_uart_write(const char* data, size_t length);
// Blocks until a byte arrives.
int cmsdk_uart_read_byte(void);

#ifdef __cplusplus
}
#endif
