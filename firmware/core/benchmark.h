// Portable benchmark core: the measurement loop every port (board, QEMU, host double) runs.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model_runner.h"
#include "perf_counters.h"
#include "protocol_writer.h"

namespace tinyml {

// Timed invokes kept for the statistics (two uint32 arrays of this size live on the stack).
#ifndef TINYML_MAX_RUNS
#define TINYML_MAX_RUNS 32
#endif
constexpr uint32_t kMaxRuns = TINYML_MAX_RUNS;

struct BenchmarkConfig {
  const char* firmware_version = "0.0.0";
  uint32_t runs = 10;    // timed invokes; clamped to 1..kMaxRuns, START reports the value used
  uint32_t warmup = 2;   // invokes before them whose timings are discarded
  unsigned protocol_version = kProtocolVersion;  // only the host test double changes this
  // Cache and DWT counters of the port; nullptr: CACHE and COUNTERS say state=none (protocol v2).
  PerfCounters* counters = nullptr;
};

// Protocol `code` of an ERROR record for a failed status ("ok" for kOk).
const char* error_code(RunnerStatus status);

// START, runner.setup() (ERROR + DONE status=error on failure), ARENA, `warmup` untimed invokes,
// `runs` timed invokes (write_input() before each; ticks and micros around invoke() only),
// LAYER records of the last timed invoke, SUMMARY; from protocol v2 on CACHE (hit/miss counts of
// the last timed invoke), one more invoke counted by the DWT sampler (COUNTERS, SAMPLER), OUTPUT
// (CRC-32 of the output after the last invoke); DONE. Returns the first failure or kOk.
RunnerStatus run_benchmark(ModelRunner& runner, Clock& clock, OutputSink& sink,
                           const BenchmarkConfig& config);

}  // namespace tinyml
