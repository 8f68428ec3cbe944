// What the TFLM Arduino library expects from its platform (its own system_setup.cpp and
// micro_time.cpp are Arduino-specific and left out of this build): DebugLog to UART0, a tick source.
#include "cmsdk_uart.h"
#include "systick_clock.h"
#include "tensorflow/lite/micro/debug_log.h"
#include "tensorflow/lite/micro/micro_time.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tflm_log.h"

extern "C" void DebugLog(const char* s) {
  size_t length = 0;
  while (s[length] != '\0') ++length;
  cmsdk_uart_write(s, length);
  tinyml::note_tflm_log(s);  // an allocation failure's numbers, for the runner's ERROR record
}

namespace {
tinyml::SysTickInstructionClock g_tflm_clock;  // reads the SysTick the port's main() started
}

namespace tflite {

void InitializeTarget() {}

uint32_t ticks_per_second() { return tinyml::kIcountInstructionsPerSecond; }

uint32_t GetCurrentTimeTicks() { return g_tflm_clock.ticks(); }

}  // namespace tflite
