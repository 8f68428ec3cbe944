// Benchmark firmware for QEMU mps2-an386: the generated model (model_data.h/.cc, model_ops.h from
// `tinyml firmware`/`tinyml emulate`) on the TFLM runner, protocol records on UART0, timing in
// instructions (systick_clock.h states the calibration).
#include "generated_model.h"
#include "systick_clock.h"
#include "uart_sink.h"

namespace {

alignas(16) uint8_t g_arena[TINYML_ARENA_BYTES];

}  // namespace

int main() {
  static tinyml::SysTickInstructionClock clock;
  clock.start();
  static tinyml::UartSink sink;
  tinyml::BenchmarkConfig config;
  config.firmware_version = TINYML_FIRMWARE_VERSION;
  config.runs = TINYML_RUNS;
  config.warmup = TINYML_WARMUP;
  const tinyml::RunnerStatus status =
      tinyml::run_generated_model_benchmark(clock, sink, g_arena, sizeof g_arena, config);
  return status == tinyml::RunnerStatus::kOk ? 0 : 1;
}
