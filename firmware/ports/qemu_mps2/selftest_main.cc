// Port self-test firmware (no TFLM): the portable benchmark loop over a runner whose "layers" are
// loops of known instruction count. tests/test_qemu_port.py runs it in QEMU and checks the protocol
// records and the SysTick calibration (LAYER ticks must equal the loop's instruction count).
//
// TINYML_SELFTEST_MODE selects a failure to show the host's handling of broken firmware:
// 0 normal, 1 prints TFLM's "HALTED" and spins (as a TFLM abort does), 2 faults (undefined
// instruction), 3 hangs silently inside invoke(), 4 normal after 1 MiB of boot noise (a reader
// slower than the firmware still gets every byte).
#include "benchmark.h"
#include "cmsdk_uart.h"
#include "systick_clock.h"
#include "uart_sink.h"

#ifndef TINYML_SELFTEST_MODE
#define TINYML_SELFTEST_MODE 0
#endif

namespace {

// Exactly 2 * iterations instructions (subs + bne per iteration; iterations > 0).
__attribute__((noinline)) void run_loop(uint32_t iterations) {
  __asm volatile(
      "1: subs %0, %0, #1\n"
      "   bne 1b\n"
      : "+r"(iterations)
      :
      : "cc");
}

struct CalibrationLoop {
  const char* op;  // the instruction count is in the name, for the test to compare against
  uint32_t iterations;
};

constexpr CalibrationLoop kLoops[] = {
    {"LOOP_200", 100},
    {"LOOP_1000000", 500000},
    {"LOOP_10000000", 5000000},  // spans several SysTick wraps with the self-test's short reload
};
constexpr size_t kLoopCount = sizeof kLoops / sizeof kLoops[0];

class CalibrationRunner : public tinyml::ModelRunner {
 public:
  explicit CalibrationRunner(tinyml::Clock& clock) : clock_(clock) {}
  const char* model_name() const override { return "qemu_selftest"; }
  tinyml::RunnerStatus setup() override { return tinyml::RunnerStatus::kOk; }
  size_t arena_size_bytes() const override { return sizeof scratch_; }
  size_t arena_used_bytes() const override { return sizeof scratch_ / 2; }
  void write_input() override {
    for (size_t i = 0; i < sizeof scratch_; ++i) scratch_[i] = static_cast<uint8_t>(i);
  }
  tinyml::RunnerStatus invoke() override {
#if TINYML_SELFTEST_MODE == 1
    cmsdk_uart_write("HALTED\n", 7);
    for (;;) {
    }
#elif TINYML_SELFTEST_MODE == 2
    __builtin_trap();
#elif TINYML_SELFTEST_MODE == 3
    for (;;) {
    }
#endif
    for (size_t i = 0; i < kLoopCount; ++i) {
      const uint32_t start = clock_.ticks();
      run_loop(kLoops[i].iterations);
      ticks_[i] = clock_.ticks() - start;
    }
    return tinyml::RunnerStatus::kOk;
  }
  size_t layer_count() const override { return kLoopCount; }
  tinyml::LayerTiming layer(size_t index) const override {
    return tinyml::LayerTiming{kLoops[index].op, ticks_[index]};
  }
  const char* last_error() const override { return ""; }

 private:
  tinyml::Clock& clock_;
  uint32_t ticks_[kLoopCount] = {};
  uint8_t scratch_[64] = {};
};

}  // namespace

int main() {
#if TINYML_SELFTEST_MODE == 4
  static const char kNoise[] = "boot noise line, not a record: the reader skips it ..........\r\n";
  for (int i = 0; i < 16384; ++i) cmsdk_uart_write(kNoise, sizeof kNoise - 1);
#endif
  static tinyml::SysTickInstructionClock clock;
  clock.start(0xFFFFu);  // wraps every 2.6 M instructions: exercises the wrap accounting
  static tinyml::UartSink sink;
  static CalibrationRunner runner(clock);
  tinyml::BenchmarkConfig config;
  config.firmware_version = TINYML_FIRMWARE_VERSION;
  config.runs = 3;
  config.warmup = 1;
  return tinyml::run_benchmark(runner, clock, sink, config) == tinyml::RunnerStatus::kOk ? 0 : 1;
}
