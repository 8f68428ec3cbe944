// Protocol output of the QEMU port: CMSDK UART0, which QEMU connects to its first -serial.
#pragma once
#include "cmsdk_uart.h"
#include "model_runner.h"

namespace tinyml {

class UartSink : public OutputSink {
 public:
  void write(const char* data, size_t length) override { cmsdk_uart_write(data, length); }
};

}  // namespace tinyml
