// The Nano 33 BLE's tinyml::PerfCounters: the nRF52840 NVMC instruction cache (switched on before
// the benchmark unless TINYML_ICACHE=0) and the Cortex-M4 DWT counters, whose 8-bit counters a
// TIMER4 interrupt samples every kSamplePeriodCycles (docs/protocol.md, "DWT counters"). No
// Arduino or mbed types: registers by address (nrf52840_registers.h).
#pragma once
#include <stdint.h>

#include "perf_counters.h"

namespace tinyml {

class BoardCounters : public PerfCounters {
 public:
  // Sampling period in CPU cycles: under 256, so no 8-bit counter can wrap twice between readings.
  static constexpr uint32_t kSamplePeriodCycles = 200;
  // Instructions of the boot-time calibration loop (subs + bne per iteration).
  static constexpr uint32_t kCalibrationInstructions = 200000;

  // Cache on/off as asked (and profiling on with it), DWT counters on, the counters' presence
  // checked, the sampler calibrated. `cpu_hz`: the core clock (SystemCoreClock).
  void start(bool cache_on, uint32_t cpu_hz);

  CacheState cache_state() const override { return cache_state_; }
  bool cache_profiling() const override { return cache_state_ == CacheState::kOn; }
  void cache_reset() override;
  CacheCounts cache_read() override;

  bool counters_available() const override { return counters_available_; }
  void counters_begin() override;
  void counters_end(DwtCounts* counts, SamplerStats* sampler) override;

 private:
  CacheState cache_state_ = CacheState::kNone;
  bool counters_available_ = false;
  uint32_t timer_ticks_ = 0;  // sampling period in TIMER4 ticks
  uint32_t period_cycles_ = 0;
  uint32_t begin_cycles_ = 0;
  uint32_t calib_derived_ = 0;
  uint32_t calib_samples_ = 0;
};

}  // namespace tinyml

// TIMER4's vector (overrides the startup file's weak default).
extern "C" void TIMER4_IRQHandler(void);
