#include "benchmark.h"

#include "stats.h"

namespace tinyml {

const char* error_code(RunnerStatus status) {
  switch (status) {
    case RunnerStatus::kOk: return "ok";
    case RunnerStatus::kSchemaMismatch: return "schema_mismatch";
    case RunnerStatus::kAllocFailed: return "alloc_failed";
    case RunnerStatus::kInputMismatch: return "input_mismatch";
    case RunnerStatus::kInvokeFailed: return "invoke_failed";
  }
  return "invoke_failed";
}

namespace {

RunnerStatus fail(ProtocolWriter& out, const ModelRunner& runner, RunnerStatus status) {
  out.error(error_code(status), runner.last_error());
  out.done(false);
  return status;
}

uint32_t clamp_runs(uint32_t runs) {
  if (runs == 0) return 1;
  return runs > kMaxRuns ? kMaxRuns : runs;
}

}  // namespace

RunnerStatus run_benchmark(ModelRunner& runner, Clock& clock, OutputSink& sink,
                           const BenchmarkConfig& config) {
  ProtocolWriter out(sink, config.protocol_version);
  const uint32_t runs = clamp_runs(config.runs);
  out.start(config.firmware_version, runner.model_name(), clock.ticks_per_second(), clock.unit(),
            runs, config.warmup);

  RunnerStatus status = runner.setup();
  if (status != RunnerStatus::kOk) return fail(out, runner, status);
  out.arena(static_cast<uint32_t>(runner.arena_size_bytes()),
            static_cast<uint32_t>(runner.arena_used_bytes()));

  for (uint32_t i = 0; i < config.warmup; ++i) {
    runner.write_input();
    status = runner.invoke();
    if (status != RunnerStatus::kOk) return fail(out, runner, status);
  }

  uint32_t ticks[kMaxRuns];
  uint32_t micros[kMaxRuns];
  for (uint32_t i = 0; i < runs; ++i) {
    // Input first (TFLM may reuse the input buffer for activations), outside the timed window;
    // ticks are read innermost so they bracket invoke() as tightly as possible.
    runner.write_input();
    const uint32_t us_start = clock.micros();
    const uint32_t tick_start = clock.ticks();
    status = runner.invoke();
    const uint32_t tick_end = clock.ticks();
    const uint32_t us_end = clock.micros();
    if (status != RunnerStatus::kOk) return fail(out, runner, status);
    ticks[i] = elapsed_ticks(tick_start, tick_end);
    micros[i] = elapsed_ticks(us_start, us_end);
  }

  const size_t layers = runner.layer_count();
  for (size_t i = 0; i < layers; ++i) {
    const LayerTiming timing = runner.layer(i);
    out.layer(static_cast<uint32_t>(i), timing.op != nullptr ? timing.op : "UNKNOWN", timing.ticks);
  }

  const SampleStats tick_stats = compute_stats(ticks, runs);
  const SampleStats us_stats = compute_stats(micros, runs);
  out.summary(runs, tick_stats.min, tick_stats.median, tick_stats.max, us_stats.min,
              us_stats.median, us_stats.max);
  out.done(true);
  return RunnerStatus::kOk;
}

}  // namespace tinyml
