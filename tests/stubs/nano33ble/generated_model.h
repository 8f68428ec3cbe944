// Stand-in for firmware/tflm/generated_model.h (which needs TFLM and generated model sources),
// only for compiling the board port in tests/test_board_port.py.
#pragma once
#include "benchmark.h"

#define TINYML_ARENA_BYTES 1024

namespace tinyml {
ModelRunner& generated_model_runner(Clock& clock, uint8_t* arena, size_t arena_size);
RunnerStatus run_generated_model_benchmark(Clock& clock, OutputSink& sink, uint8_t* arena,
                                           size_t arena_size, const BenchmarkConfig& config);
}  // namespace tinyml
