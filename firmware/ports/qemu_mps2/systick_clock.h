// Instruction counter for QEMU's mps2-an386 run with `-icount shift=0`.
//
// Calibration: under -icount shift=0 QEMU advances virtual time by exactly 1 ns per executed
// instruction. SysTick runs on the processor clock, which QEMU's mps2-an386 models at 25 MHz, so one
// SysTick tick = 40 ns of virtual time = 40 executed instructions. ticks() therefore counts
// instructions with a resolution of 40 (not CPU cycles: QEMU models no pipeline timing, so these
// are instruction counts, labelled "instructions" in the protocol). tests/test_qemu_port.py checks
// the factor with loops of known instruction count run in the emulator.
#pragma once
#include <stdint.h>

#include "model_runner.h"

namespace tinyml {

constexpr uint32_t kMps2CpuClockHz = 25000000u;                 // SysTick source (CLKSOURCE=1)
constexpr uint32_t kIcountInstructionsPerSecond = 1000000000u;  // -icount shift=0: 1 ns/insn
constexpr uint32_t kInstructionsPerSysTick = kIcountInstructionsPerSecond / kMps2CpuClockHz;
static_assert(kInstructionsPerSysTick == 40, "mps2-an386 SysTick calibration");

class SysTickInstructionClock : public Clock {
 public:
  static constexpr uint32_t kFullReload = 0x00FFFFFFu;

  // Starts SysTick free-running from `reload` down to 0; wraps are counted in the interrupt. The
  // full 24-bit range wraps every 671 M instructions; the self-test uses a short one to exercise
  // the wrap handling.
  void start(uint32_t reload = kFullReload);
  // 64-bit SysTick tick count since start().
  uint64_t systick_ticks() const;

  uint32_t ticks() override;   // instructions (wraps at 2^32, differences stay exact)
  uint32_t micros() override;  // virtual microseconds (1000 instructions each)
  uint32_t ticks_per_second() const override { return kIcountInstructionsPerSecond; }
  const char* unit() const override { return "instructions"; }

 private:
  uint32_t reload_ = kFullReload;
};

}  // namespace tinyml

extern "C" void systick_clock_on_wrap(void);
