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

// CACHE, the counted invoke (COUNTERS, SAMPLER) and OUTPUT, after SUMMARY. The counted invoke
// comes after the LAYER records were written: its sampler interrupts would skew the layer ticks.
RunnerStatus write_v2_records(ProtocolWriter& out, ModelRunner& runner, PerfCounters* perf,
                              CacheState cache_state, const CacheCounts& cache_counts,
                              bool cache_counted) {
  out.cache(cache_state, cache_counted ? &cache_counts : nullptr);
  if (perf != nullptr && perf->counters_available()) {
    DwtCounts counts = {0, 0, 0, 0, 0, 0};
    SamplerStats sampler = {0, 0, 0, 0, 0, 0};
    runner.write_input();
    perf->counters_begin();
    const RunnerStatus status = runner.invoke();
    perf->counters_end(&counts, &sampler);
    if (status != RunnerStatus::kOk) return status;
    out.counters(&counts);
    out.sampler(sampler);
  } else {
    out.counters(nullptr);
  }
  uint32_t crc = 0;
  uint32_t bytes = 0;
  if (runner.output_crc32(&crc, &bytes)) out.output(bytes, crc);
  return RunnerStatus::kOk;
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

  PerfCounters* const perf = config.counters;
  const CacheState cache_state = perf != nullptr ? perf->cache_state() : CacheState::kNone;
  const bool cache_counted = perf != nullptr && perf->cache_profiling();
  CacheCounts cache_counts = {0, 0};
  uint32_t ticks[kMaxRuns];
  uint32_t micros[kMaxRuns];
  for (uint32_t i = 0; i < runs; ++i) {
    // Input first (TFLM may reuse the input buffer for activations), outside the timed window;
    // ticks are read innermost so they bracket invoke() as tightly as possible.
    runner.write_input();
    if (cache_counted) perf->cache_reset();
    const uint32_t us_start = clock.micros();
    const uint32_t tick_start = clock.ticks();
    status = runner.invoke();
    const uint32_t tick_end = clock.ticks();
    const uint32_t us_end = clock.micros();
    if (cache_counted) cache_counts = perf->cache_read();  // the last timed invoke's counts
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
  if (config.protocol_version >= 2) {
    status = write_v2_records(out, runner, config.counters, cache_state, cache_counts,
                              cache_counted);
    if (status != RunnerStatus::kOk) return fail(out, runner, status);
  }
  out.done(true);
  return RunnerStatus::kOk;
}

}  // namespace tinyml
