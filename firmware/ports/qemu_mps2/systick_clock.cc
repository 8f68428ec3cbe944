#include "systick_clock.h"

namespace {

#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t*)0xE000ED04u)

constexpr uint32_t kCsrEnable = 1u << 0;
constexpr uint32_t kCsrTickInt = 1u << 1;
constexpr uint32_t kCsrProcessorClock = 1u << 2;  // 0 would select QEMU's 1 MHz reference clock
constexpr uint32_t kIcsrSysTickPending = 1u << 26;

volatile uint32_t g_wraps = 0;

}  // namespace

extern "C" void systick_clock_on_wrap(void) { g_wraps = g_wraps + 1u; }

namespace tinyml {

void SysTickInstructionClock::start(uint32_t reload) {
  reload_ = (reload & kFullReload) != 0u ? (reload & kFullReload) : kFullReload;
  SYST_CSR = 0;
  g_wraps = 0;
  SYST_RVR = reload_;
  SYST_CVR = 0;  // any write clears the counter; it reloads on the next tick
  SYST_CSR = kCsrEnable | kCsrTickInt | kCsrProcessorClock;
  // Until the first tick loads RVR the counter reads 0, which would look like a full period.
  while (SYST_CVR == 0u) {
  }
}

uint64_t SysTickInstructionClock::systick_ticks() const {
  __asm volatile("cpsid i" ::: "memory");
  uint32_t value = SYST_CVR;
  uint32_t wraps = g_wraps;
  if (SCB_ICSR & kIcsrSysTickPending) {
    // Wrapped but the interrupt has not run yet: re-read so the value is after the wrap.
    value = SYST_CVR;
    wraps += 1u;
  }
  __asm volatile("cpsie i" ::: "memory");
  return uint64_t{wraps} * (uint64_t{reload_} + 1u) + (reload_ - value);
}

uint32_t SysTickInstructionClock::ticks() {
  return static_cast<uint32_t>(systick_ticks() * kInstructionsPerSysTick);
}

uint32_t SysTickInstructionClock::micros() {
  return static_cast<uint32_t>(systick_ticks() * kInstructionsPerSysTick / 1000u);
}

}  // namespace tinyml
