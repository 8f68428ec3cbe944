#include "board_counters.h"

#include "nrf52840_registers.h"

namespace tinyml {
namespace {

using nrf52840::reg;

// What the sampler accumulates. Written by the interrupt and by thread code with the interrupt
// off, never both at once.
struct SamplerTotals {
  uint32_t last_cycles;
  uint8_t last[5];       // CPICNT, EXCCNT, SLEEPCNT, LSUCNT, FOLDCNT at the previous sample
  uint32_t totals[5];
  uint32_t samples;
  uint32_t overruns;     // intervals of 256 cycles or more: a wrap may have been lost
};

volatile SamplerTotals g_sampler;

inline void timer_write(uint32_t offset, uint32_t value) { reg(nrf52840::kTimer4 + offset) = value; }

// One reading: straight-line code, so every sample costs the same instructions (calibrated).
inline void sample() {
  const uint32_t cycles = reg(nrf52840::kDwtCyccnt);
  const uint8_t now[5] = {
      static_cast<uint8_t>(reg(nrf52840::kDwtCpicnt)), static_cast<uint8_t>(reg(nrf52840::kDwtExccnt)),
      static_cast<uint8_t>(reg(nrf52840::kDwtSleepcnt)), static_cast<uint8_t>(reg(nrf52840::kDwtLsucnt)),
      static_cast<uint8_t>(reg(nrf52840::kDwtFoldcnt))};
  for (int i = 0; i < 5; ++i) {
    g_sampler.totals[i] += static_cast<uint8_t>(now[i] - g_sampler.last[i]);  // modulo 256
    g_sampler.last[i] = now[i];
  }
  g_sampler.overruns += (cycles - g_sampler.last_cycles) > 255u ? 1u : 0u;
  g_sampler.last_cycles = cycles;
  g_sampler.samples += 1;
}

void sampler_reset() {
  g_sampler.last_cycles = reg(nrf52840::kDwtCyccnt);
  g_sampler.last[0] = static_cast<uint8_t>(reg(nrf52840::kDwtCpicnt));
  g_sampler.last[1] = static_cast<uint8_t>(reg(nrf52840::kDwtExccnt));
  g_sampler.last[2] = static_cast<uint8_t>(reg(nrf52840::kDwtSleepcnt));
  g_sampler.last[3] = static_cast<uint8_t>(reg(nrf52840::kDwtLsucnt));
  g_sampler.last[4] = static_cast<uint8_t>(reg(nrf52840::kDwtFoldcnt));
  for (int i = 0; i < 5; ++i) g_sampler.totals[i] = 0;
  g_sampler.samples = 0;
  g_sampler.overruns = 0;
}

// Exactly 2 * iterations instructions (subs + bne per iteration; iterations > 0).
__attribute__((noinline)) void run_loop(uint32_t iterations) {
  __asm volatile(
      "1: subs %0, %0, #1\n"
      "   bne 1b\n"
      : "+r"(iterations)
      :
      : "cc");
}

}  // namespace

void BoardCounters::start(bool cache_on, uint32_t cpu_hz) {
  uint32_t cnf = reg(nrf52840::kNvmcIcachecnf);
  cnf = cache_on ? (cnf | nrf52840::kIcachecnfCacheEn | nrf52840::kIcachecnfCacheProfEn)
                 : (cnf & ~(nrf52840::kIcachecnfCacheEn | nrf52840::kIcachecnfCacheProfEn));
  reg(nrf52840::kNvmcIcachecnf) = cnf;
  // Read back: a model without this register (an emulator) reads 0, i.e. the cache is off.
  cache_state_ = (reg(nrf52840::kNvmcIcachecnf) & nrf52840::kIcachecnfCacheEn) != 0u
                     ? CacheState::kOn : CacheState::kOff;

  reg(nrf52840::kDemcr) |= nrf52840::kDemcrTrcena;
  const uint32_t ctrl = reg(nrf52840::kDwtCtrl);
  if ((ctrl & (nrf52840::kDwtCtrlNoPrfCnt | nrf52840::kDwtCtrlNoCycCnt)) != 0u) return;
  reg(nrf52840::kDwtCtrl) = ctrl | nrf52840::kDwtCtrlCyccntEna | nrf52840::kDwtCtrlEventCounters;
  // A CPU model without DWT (Renode reads 0 there) gives no counts, and its TIMER4 model need not
  // behave like the chip's: the sampler's interrupt hung Renode 1.13.3 at boot. Arm the timer only
  // once CYCCNT is seen to move.
  const uint32_t cyccnt_before = reg(nrf52840::kDwtCyccnt);
  run_loop(64u);
  if (reg(nrf52840::kDwtCyccnt) == cyccnt_before) return;  // counters_available_ stays false

  const uint32_t timer_hz = nrf52840::kTimerClockHz;
  const uint32_t cycles_per_tick = cpu_hz >= timer_hz ? cpu_hz / timer_hz : 1u;
  timer_ticks_ = kSamplePeriodCycles / cycles_per_tick;
  if (timer_ticks_ == 0u) timer_ticks_ = 1u;
  period_cycles_ = timer_ticks_ * cycles_per_tick;

  // Calibration, and the check that the counters move (Renode models none: they read 0).
  counters_available_ = true;
  DwtCounts counts = {0, 0, 0, 0, 0, 0};
  SamplerStats stats = {0, 0, 0, 0, 0, 0};
  counters_begin();
  run_loop(kCalibrationInstructions / 2u);
  counters_end(&counts, &stats);
  if (counts.cycles == 0u || counts.cpi == 0u) {
    counters_available_ = false;  // CYCCNT or CPICNT stood still: report them unavailable
    return;
  }
  calib_derived_ = dwt_instructions(counts);
  calib_samples_ = stats.samples;
}

void BoardCounters::cache_reset() {
  reg(nrf52840::kNvmcIhit) = 0u;
  reg(nrf52840::kNvmcImiss) = 0u;
}

CacheCounts BoardCounters::cache_read() {
  return CacheCounts{reg(nrf52840::kNvmcIhit), reg(nrf52840::kNvmcImiss)};
}

void BoardCounters::counters_begin() {
  timer_write(nrf52840::kTimerTasksStop, 1u);
  timer_write(nrf52840::kTimerMode, 0u);
  timer_write(nrf52840::kTimerBitmode, 3u);
  timer_write(nrf52840::kTimerPrescaler, 0u);
  timer_write(nrf52840::kTimerCc0, timer_ticks_);
  timer_write(nrf52840::kTimerShorts, 1u);
  timer_write(nrf52840::kTimerEventsCompare0, 0u);
  timer_write(nrf52840::kTimerIntenset, 1u << 16);
  reinterpret_cast<volatile uint8_t*>(nrf52840::kNvicIpr0)[nrf52840::kTimer4Irq] = 0u;  // highest
  reg(nrf52840::kNvicIcpr0) = 1u << nrf52840::kTimer4Irq;
  reg(nrf52840::kNvicIser0) = 1u << nrf52840::kTimer4Irq;
  sampler_reset();
  begin_cycles_ = g_sampler.last_cycles;
  timer_write(nrf52840::kTimerTasksClear, 1u);
  timer_write(nrf52840::kTimerTasksStart, 1u);
}

void BoardCounters::counters_end(DwtCounts* counts, SamplerStats* stats) {
  timer_write(nrf52840::kTimerTasksStop, 1u);
  reg(nrf52840::kNvicIcer0) = 1u << nrf52840::kTimer4Irq;
  timer_write(nrf52840::kTimerIntenclr, 1u << 16);
  reg(nrf52840::kNvicIcpr0) = 1u << nrf52840::kTimer4Irq;
  sample();  // the tail since the last interrupt
  counts->cycles = g_sampler.last_cycles - begin_cycles_;
  counts->cpi = g_sampler.totals[0];
  counts->exc = g_sampler.totals[1];
  counts->sleep = g_sampler.totals[2];
  counts->lsu = g_sampler.totals[3];
  counts->fold = g_sampler.totals[4];
  *stats = SamplerStats{period_cycles_, g_sampler.samples, g_sampler.overruns,
                        kCalibrationInstructions, calib_derived_, calib_samples_};
}

}  // namespace tinyml

extern "C" void TIMER4_IRQHandler(void) {
  using tinyml::nrf52840::reg;
  reg(tinyml::nrf52840::kTimer4 + tinyml::nrf52840::kTimerEventsCompare0) = 0u;
  // Read it back so the write has reached the peripheral before the exit (else the IRQ re-fires).
  const uint32_t settled = reg(tinyml::nrf52840::kTimer4 + tinyml::nrf52840::kTimerEventsCompare0);
  static_cast<void>(settled);
  tinyml::sample();
}
