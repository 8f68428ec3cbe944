// Stand-in for the mbed core's Arduino.h, only for compiling the board port on a machine without
// PlatformIO (tests/test_board_port.py): declares what firmware/ports/nano33ble uses, nothing
// works. The real build is `pio run -e nano33ble`.
#pragma once
#include <stddef.h>
#include <stdint.h>

extern "C" uint32_t SystemCoreClock;
unsigned long micros(void);
unsigned long millis(void);
void delay(unsigned long ms);
void yield(void);

struct CoreDebug_Type { volatile uint32_t DEMCR; };
struct DWT_Type { volatile uint32_t CTRL; volatile uint32_t CYCCNT; };
#define CoreDebug (reinterpret_cast<CoreDebug_Type*>(0xE000EDFCu))
#define DWT (reinterpret_cast<DWT_Type*>(0xE0001000u))
#define CoreDebug_DEMCR_TRCENA_Msk (1u << 24)
#define DWT_CTRL_CYCCNTENA_Msk (1u << 0)

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  size_t write(const uint8_t* data, size_t length);
  void flush();
  int available();
  int read();
  explicit operator bool();
};
extern HardwareSerial Serial;
extern HardwareSerial Serial1;
