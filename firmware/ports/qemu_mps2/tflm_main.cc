// Benchmark firmware for QEMU mps2-an386: the generated model (model_data.h/.cc, model_ops.h from
// `tinyml firmware`/`tinyml emulate`) on the TFLM runner, protocol records on UART0, timing in
// instructions (systick_clock.h states the calibration).
#include "benchmark.h"
#include "generated_model.h"
#include "model_data.h"
#include "model_ops.h"
#include "systick_clock.h"
#include "tflm_runner.h"
#include "uart_sink.h"

namespace {

alignas(16) uint8_t g_arena[TINYML_ARENA_BYTES];

}  // namespace

int main() {
  static tinyml::SysTickInstructionClock clock;
  clock.start();
  static tinyml::UartSink sink;
  static TinymlOpResolver resolver;
  const bool ops_registered = tinyml_register_ops(resolver) == kTfLiteOk;
  static tinyml::TflmRunner runner(TINYML_MODEL_NAME, g_model_data, resolver, ops_registered,
                                   g_arena, sizeof g_arena, clock,
                                   tinyml::generated_input_expectation());
  tinyml::BenchmarkConfig config;
  config.firmware_version = TINYML_FIRMWARE_VERSION;
  config.runs = TINYML_RUNS;
  config.warmup = TINYML_WARMUP;
  return tinyml::run_benchmark(runner, clock, sink, config) == tinyml::RunnerStatus::kOk ? 0 : 1;
}
