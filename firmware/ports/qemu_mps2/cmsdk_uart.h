// CMSDK APB UART0 of the mps2-an386 (QEMU maps the first -serial to it). Polled, transmit only.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void cmsdk_uart_init(void);
void cmsdk_uart_write(const char* data, size_t length);

#ifdef __cplusplus
}
#endif
