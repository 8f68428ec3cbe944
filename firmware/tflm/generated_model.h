// The generated model (model_data.h, model_ops.h from `tinyml firmware`) on the TFLM runner: what
// it promises about the input, and one benchmark run of it. Shared by every board port, which only
// brings its clock, output sink and arena.
#pragma once

#include "benchmark.h"
#include "model_data.h"
#include "model_ops.h"
#include "tflm_runner.h"

namespace tinyml {

constexpr int kGeneratedInputShape[] = TINYML_INPUT_SHAPE;
static_assert(sizeof kGeneratedInputShape / sizeof kGeneratedInputShape[0] == TINYML_INPUT_DIMS,
              "TINYML_INPUT_SHAPE and TINYML_INPUT_DIMS disagree");
static_assert(TINYML_INPUT_DIMS <= InputExpectation::kMaxRank, "input rank too large");

inline InputExpectation generated_input_expectation() {
  InputExpectation input{};
  input.type = TINYML_INPUT_TYPE_INT8 ? kTfLiteInt8 : kTfLiteFloat32;
  input.rank = TINYML_INPUT_DIMS;
  for (int i = 0; i < TINYML_INPUT_DIMS; ++i) input.dims[i] = kGeneratedInputShape[i];
  return input;
}

// The runner of the generated model over `arena`, its ops registered: built on the first call
// (static, as TFLM keeps pointers to the resolver and runner), the same object afterwards.
inline TflmRunner& generated_model_runner(Clock& clock, uint8_t* arena, size_t arena_size) {
  static TinymlOpResolver resolver;
  static const bool ops_registered = tinyml_register_ops(resolver) == kTfLiteOk;
  static TflmRunner runner(TINYML_MODEL_NAME, g_model_data, resolver, ops_registered, arena,
                           arena_size, clock, generated_input_expectation());
  return runner;
}

// Runs the benchmark of the generated model (records to `sink`). Call once.
inline RunnerStatus run_generated_model_benchmark(Clock& clock, OutputSink& sink, uint8_t* arena,
                                                  size_t arena_size, const BenchmarkConfig& config) {
  return run_benchmark(generated_model_runner(clock, arena, arena_size), clock, sink, config);
}

}  // namespace tinyml
