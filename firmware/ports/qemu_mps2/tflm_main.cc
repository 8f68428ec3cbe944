// Benchmark firmware for QEMU mps2-an386: the generated model (model_data.h/.cc, model_ops.h from
// `tinyml firmware`/`tinyml emulate`) on the TFLM runner, protocol records on UART0, timing in
// instructions (systick_clock.h states the calibration).
#include "benchmark.h"
#include "model_data.h"
#include "model_ops.h"
#include "systick_clock.h"
#include "tflm_runner.h"
#include "uart_sink.h"

namespace {

alignas(16) uint8_t g_arena[TINYML_ARENA_BYTES];

constexpr int kInputShape[] = TINYML_INPUT_SHAPE;
static_assert(sizeof kInputShape / sizeof kInputShape[0] == TINYML_INPUT_DIMS,
              "TINYML_INPUT_SHAPE and TINYML_INPUT_DIMS disagree");
static_assert(TINYML_INPUT_DIMS <= tinyml::InputExpectation::kMaxRank, "input rank too large");

tinyml::InputExpectation expected_input() {
  tinyml::InputExpectation input{};
  input.type = TINYML_INPUT_TYPE_INT8 ? kTfLiteInt8 : kTfLiteFloat32;
  input.rank = TINYML_INPUT_DIMS;
  for (int i = 0; i < TINYML_INPUT_DIMS; ++i) input.dims[i] = kInputShape[i];
  return input;
}

}  // namespace

int main() {
  static tinyml::SysTickInstructionClock clock;
  clock.start();
  static tinyml::UartSink sink;
  static TinymlOpResolver resolver;
  const bool ops_registered = tinyml_register_ops(resolver) == kTfLiteOk;
  static tinyml::TflmRunner runner(TINYML_MODEL_NAME, g_model_data, resolver, ops_registered,
                                   g_arena, sizeof g_arena, clock, expected_input());
  tinyml::BenchmarkConfig config;
  config.firmware_version = TINYML_FIRMWARE_VERSION;
  config.runs = TINYML_RUNS;
  config.warmup = TINYML_WARMUP;
  return tinyml::run_benchmark(runner, clock, sink, config) == tinyml::RunnerStatus::kOk ? 0 : 1;
}
