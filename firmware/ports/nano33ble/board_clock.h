// Tick sources of the Nano 33 BLE port (Arduino mbed core).
#pragma once
#include <Arduino.h>

#include "model_runner.h"

namespace tinyml {

// Board: CPU cycles from the Cortex-M4 DWT cycle counter (64 MHz, wraps after 67 s; the benchmark
// only subtracts readings around one invoke) and wall time from the core's micros().
class DwtCycleClock : public Clock {
 public:
  void start() {
    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;  // DWT is gated by the trace enable bit
    DWT->CYCCNT = 0;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
  }
  uint32_t ticks() override { return DWT->CYCCNT; }
  uint32_t micros() override { return ::micros(); }
  uint32_t ticks_per_second() const override { return SystemCoreClock; }
  const char* unit() const override { return "cycles"; }
};

// Renode: its nRF52840 model has no DWT (reads as 0). Renode's virtual time advances by executed
// instructions at the CPU's PerformanceInMips (the .resc sets 64), so virtual microseconds x 64 are
// instructions. Labelled so, never cycles: Renode is functional, not a timing reference.
class RenodeInstructionClock : public Clock {
 public:
  static constexpr uint32_t kMips = 64;  // must match `cpu PerformanceInMips` in tests/renode
  void start() {}
  uint32_t ticks() override { return ::micros() * kMips; }
  uint32_t micros() override { return ::micros(); }
  uint32_t ticks_per_second() const override { return kMips * 1000000u; }
  const char* unit() const override { return "instructions"; }
};

}  // namespace tinyml
