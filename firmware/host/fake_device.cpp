// Host test double of a benchmark device: the real portable core (firmware/core) driven by a fake
// ModelRunner with deterministic ticks, writing protocol lines to stdout. Options make it misbehave
// the ways real devices do (boot noise, reset, cut/garbled/lost lines, TFLM HALTED, vanishing port)
// so the serial reader is tested without hardware. POSIX only (write/read/_exit).
//
// Fake timing (tests mirror it): invoke k (0-based, warm-ups included) spends on layer i
//   layer_ticks(k, i) = 1000 * (i + 1) + 10 * ((7 * k + i) % 5)
// plus kInvokeOverheadTicks outside any layer. micros() = floor(ticks_since_boot * 1e6 / clock_hz).
// Output tensor: kOutputBytes bytes (i * 37 + 11) mod 256. Cache (--cache on, the default): hits
// 9000 + k, misses 100 + k for invoke k. DWT (--counters dwt, the default) over the counted invoke
// of C ticks: cpi C/8, exc 40, sleep 0, lsu C/16, fold C/32; sampler period 200, C/200 samples,
// --overruns N overruns, calibration 20000 known / 20700 derived / 100 samples.
//
// After its output the process closes stderr and waits for EOF on stdin (a board idles after DONE;
// exiting would hang up a pty before the reader drained it). Run with stdin=/dev/null to exit at once.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchmark.h"
#include "crc32.h"

namespace {

using tinyml::LayerTiming;
using tinyml::RunnerStatus;

constexpr uint32_t kInvokeOverheadTicks = 50;
constexpr uint32_t kOutputBytes = 10;
constexpr size_t kMaxLayers = 64;
constexpr long kNone = -1;

struct Options {
  const char* model = "fake_model";
  uint32_t layers = 3;
  uint32_t runs = 5;
  uint32_t warmup = 1;
  const char* unit = "cycles";
  uint32_t clock_hz = 64000000;
  uint32_t clock_start = 0;  // start the tick counter here (e.g. near 2^32 to test wrap-around)
  const char* fail = nullptr;  // alloc | schema | input | invoke | halt
  uint32_t fail_at = 0;        // invoke index (warm-ups included) for --fail invoke
  bool boot_noise = false;
  bool silent = false;
  unsigned protocol_version = tinyml::kProtocolVersion;
  long reset_after = kNone;   // after this many record lines, reboot and run again from START
  long garble = kNone;        // record line index whose payload gets one character changed
  long drop = kNone;          // record line index never sent
  long cut = kNone;           // record line index cut in half, then silence
  long vanish_after = kNone;  // exit (closing the port) after this many record lines
  const char* cache = "on";     // on | off | none
  const char* counters = "dwt";  // dwt | none
  uint32_t overruns = 0;
};

void write_all(const char* data, size_t length) {
  while (length > 0) {
    const ssize_t n = ::write(1, data, length);
    if (n <= 0) _exit(4);
    data += n;
    length -= static_cast<size_t>(n);
  }
}

void write_text(const char* text) { write_all(text, strlen(text)); }

// Board idles after its output: keep the port open until stdin closes. Closing stderr first tells
// a test that all output is written (it waits for EOF on stderr instead of sleeping).
[[noreturn]] void linger_and_exit(int code) {
  ::close(2);
  char buffer[64];
  while (::read(0, buffer, sizeof buffer) > 0) {
  }
  _exit(code);
}

void write_boot_noise() {
  // Banner text, binary junk, a line with "TML" that is no record, and a partial line that the
  // first record is glued to (the reader takes the last "TML" on a line).
  static const char kNoise[] =
      "\xff\xfe\x00" "boot: fake_device\r\n"
      "mbed-os 6.17.0 DebugLog: HTML TML is not a record\r\n"
      "\x1b[0m>>> ";
  write_all(kNoise, sizeof kNoise - 1);
}

class FakeClock : public tinyml::Clock {
 public:
  FakeClock(uint32_t hz, const char* unit, uint64_t start) : hz_(hz), unit_(unit), now_(start) {}
  uint32_t ticks() override { return static_cast<uint32_t>(now_); }
  uint32_t micros() override { return static_cast<uint32_t>(now_ * 1000000u / hz_); }
  uint32_t ticks_per_second() const override { return hz_; }
  const char* unit() const override { return unit_; }
  void advance(uint32_t ticks) { now_ += ticks; }

 private:
  uint32_t hz_;
  const char* unit_;
  uint64_t now_;
};

class FakeRunner : public tinyml::ModelRunner {
 public:
  FakeRunner(const Options& options, FakeClock& clock) : options_(options), clock_(clock) {}

  const char* model_name() const override { return options_.model; }

  RunnerStatus setup() override {
    const char* fail = options_.fail;
    if (fail == nullptr) return RunnerStatus::kOk;
    if (strcmp(fail, "alloc") == 0) {
      error_ = "fake arena too small: need=82404 bytes, have 4096 *";
      return RunnerStatus::kAllocFailed;
    }
    if (strcmp(fail, "schema") == 0) {
      error_ = "model schema 2 vs runtime 3";
      return RunnerStatus::kSchemaMismatch;
    }
    if (strcmp(fail, "input") == 0) {
      error_ = "input shape 1x96x96x1 int8 expected";
      return RunnerStatus::kInputMismatch;
    }
    if (strcmp(fail, "halt") == 0) {
      // What TFLM does on a board when a kernel's Prepare aborts: DebugLog("HALTED\n"), spin.
      write_text("Softmax: input scale too large\r\nHALTED\n");
      linger_and_exit(3);
    }
    return RunnerStatus::kOk;
  }

  size_t arena_size_bytes() const override { return 90112; }
  size_t arena_used_bytes() const override { return 82404; }

  void write_input() override { ++inputs_written_; }

  RunnerStatus invoke() override {
    const uint32_t k = invokes_++;
    if (inputs_written_ != invokes_) {
      error_ = "input not written before invoke";
      return RunnerStatus::kInvokeFailed;
    }
    if (options_.fail != nullptr && strcmp(options_.fail, "invoke") == 0 && k == options_.fail_at) {
      error_ = "fake kernel failed";
      return RunnerStatus::kInvokeFailed;
    }
    for (uint32_t i = 0; i < options_.layers && i < kMaxLayers; ++i) {
      last_[i] = 1000u * (i + 1) + 10u * ((7u * k + i) % 5u);
      clock_.advance(last_[i]);
    }
    clock_.advance(kInvokeOverheadTicks);
    return RunnerStatus::kOk;
  }

  size_t layer_count() const override {
    return invokes_ == 0 ? 0 : (options_.layers < kMaxLayers ? options_.layers : kMaxLayers);
  }

  LayerTiming layer(size_t index) const override {
    static const char* const kOps[] = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D",
                                       "FULLY_CONNECTED", "SOFTMAX"};
    return LayerTiming{kOps[index % 5], last_[index]};
  }

  const char* last_error() const override { return error_; }

  bool output_crc32(uint32_t* crc, uint32_t* bytes) const override {
    if (invokes_ == 0) return false;
    uint8_t output[kOutputBytes];
    for (uint32_t i = 0; i < kOutputBytes; ++i) output[i] = static_cast<uint8_t>(i * 37u + 11u);
    *crc = tinyml::crc32_iso_hdlc(output, kOutputBytes);
    *bytes = kOutputBytes;
    return true;
  }

  uint32_t invokes() const { return invokes_; }

 private:
  const Options& options_;
  FakeClock& clock_;
  uint32_t invokes_ = 0;
  uint32_t inputs_written_ = 0;
  uint32_t last_[kMaxLayers] = {};
  const char* error_ = "";
};

class FakePerfCounters : public tinyml::PerfCounters {
 public:
  FakePerfCounters(const Options& options, FakeClock& clock, const FakeRunner& runner)
      : options_(options), clock_(clock), runner_(runner) {}

  tinyml::CacheState cache_state() const override {
    if (strcmp(options_.cache, "on") == 0) return tinyml::CacheState::kOn;
    if (strcmp(options_.cache, "off") == 0) return tinyml::CacheState::kOff;
    return tinyml::CacheState::kNone;
  }
  bool cache_profiling() const override { return cache_state() == tinyml::CacheState::kOn; }
  void cache_reset() override { reset_at_ = runner_.invokes(); }
  tinyml::CacheCounts cache_read() override {
    // counts of the invoke run since cache_reset(): invoke index k = reset_at_
    return tinyml::CacheCounts{9000u + reset_at_, 100u + reset_at_};
  }

  bool counters_available() const override { return strcmp(options_.counters, "dwt") == 0; }
  void counters_begin() override { start_ = clock_.ticks(); }
  void counters_end(tinyml::DwtCounts* counts, tinyml::SamplerStats* sampler) override {
    const uint32_t c = clock_.ticks() - start_;
    *counts = tinyml::DwtCounts{c, c / 8u, 40u, 0u, c / 16u, c / 32u};
    *sampler = tinyml::SamplerStats{200u, c / 200u, options_.overruns, 20000u, 20700u, 100u};
  }

 private:
  const Options& options_;
  FakeClock& clock_;
  const FakeRunner& runner_;
  uint32_t reset_at_ = 0;
  uint32_t start_ = 0;
};

// Passes record lines to stdout, applying the requested transport faults.
class FaultySink : public tinyml::OutputSink {
 public:
  explicit FaultySink(const Options& options) : options_(options) {}

  void write(const char* data, size_t length) override {
    if (swallowing_) return;
    const long index = lines_sent_++;
    if (index == options_.drop) return;
    if (index == options_.cut) {
      write_all(data, length / 2);
      swallowing_ = true;  // the device died mid-line: nothing more comes
      return;
    }
    if (index == options_.garble && length > 12) {
      char copy[tinyml::kMaxLineLength];
      memcpy(copy, data, length);
      copy[length / 2] = copy[length / 2] == '7' ? '8' : '7';  // stays printable: only the CRC notices
      write_all(copy, length);
    } else {
      write_all(data, length);
    }
    if (options_.vanish_after != kNone && lines_sent_ >= options_.vanish_after) _exit(5);
    if (options_.reset_after != kNone && !reset_done_ && lines_sent_ >= options_.reset_after) {
      reset_done_ = true;
      swallowing_ = true;  // rest of this run is lost: the device rebooted
      reset_pending_ = true;
    }
  }

  bool take_reset() {
    const bool pending = reset_pending_;
    reset_pending_ = false;
    if (pending) swallowing_ = false;
    return pending;
  }

  bool cut_happened() const { return swallowing_; }

 private:
  const Options& options_;
  long lines_sent_ = 0;
  bool swallowing_ = false;
  bool reset_done_ = false;
  bool reset_pending_ = false;
};

[[noreturn]] void usage(const char* problem) {
  write_text("fake_device: ");
  write_text(problem);
  write_text(
      "\nusage: fake_device [--model NAME] [--layers N] [--runs N] [--warmup N] [--unit U]"
      " [--clock-hz N] [--clock-start N] [--fail alloc|schema|input|invoke|halt] [--fail-at N]"
      " [--boot-noise] [--silent] [--protocol-version N] [--reset-after N] [--garble N]"
      " [--drop N] [--cut N] [--vanish-after N] [--cache on|off|none] [--counters dwt|none]"
      " [--overruns N]\n");
  _exit(64);
}

uint32_t parse_u32(const char* text) {
  char* end = nullptr;
  const unsigned long value = strtoul(text, &end, 10);
  if (end == text || *end != '\0' || value > 0xFFFFFFFFul) usage("bad number");
  return static_cast<uint32_t>(value);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const bool has_value = i + 1 < argc;
    auto value = [&]() -> const char* {
      if (!has_value) usage("option needs a value");
      return argv[++i];
    };
    if (strcmp(arg, "--boot-noise") == 0) o.boot_noise = true;
    else if (strcmp(arg, "--silent") == 0) o.silent = true;
    else if (strcmp(arg, "--model") == 0) o.model = value();
    else if (strcmp(arg, "--layers") == 0) o.layers = parse_u32(value());
    else if (strcmp(arg, "--runs") == 0) o.runs = parse_u32(value());
    else if (strcmp(arg, "--warmup") == 0) o.warmup = parse_u32(value());
    else if (strcmp(arg, "--unit") == 0) o.unit = value();
    else if (strcmp(arg, "--clock-hz") == 0) o.clock_hz = parse_u32(value());
    else if (strcmp(arg, "--clock-start") == 0) o.clock_start = parse_u32(value());
    else if (strcmp(arg, "--fail") == 0) o.fail = value();
    else if (strcmp(arg, "--fail-at") == 0) o.fail_at = parse_u32(value());
    else if (strcmp(arg, "--protocol-version") == 0) o.protocol_version = parse_u32(value());
    else if (strcmp(arg, "--reset-after") == 0) o.reset_after = parse_u32(value());
    else if (strcmp(arg, "--garble") == 0) o.garble = parse_u32(value());
    else if (strcmp(arg, "--drop") == 0) o.drop = parse_u32(value());
    else if (strcmp(arg, "--cut") == 0) o.cut = parse_u32(value());
    else if (strcmp(arg, "--vanish-after") == 0) o.vanish_after = parse_u32(value());
    else if (strcmp(arg, "--cache") == 0) o.cache = value();
    else if (strcmp(arg, "--counters") == 0) o.counters = value();
    else if (strcmp(arg, "--overruns") == 0) o.overruns = parse_u32(value());
    else usage("unknown option");
  }
  if (o.clock_hz == 0) usage("--clock-hz must be > 0");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  if (options.silent) linger_and_exit(0);

  tinyml::BenchmarkConfig config;
  config.firmware_version = "0.1.0-host";
  config.runs = options.runs;
  config.warmup = options.warmup;
  config.protocol_version = options.protocol_version;

  FaultySink sink(options);
  RunnerStatus status = RunnerStatus::kOk;
  bool boot = true;
  do {  // one pass per boot; a simulated reset boots once more
    if (options.boot_noise || !boot) write_boot_noise();
    boot = false;
    FakeClock clock(options.clock_hz, options.unit, options.clock_start);
    FakeRunner runner(options, clock);
    FakePerfCounters perf(options, clock, runner);
    config.counters = &perf;
    status = tinyml::run_benchmark(runner, clock, sink, config);
  } while (sink.take_reset());
  linger_and_exit(status == RunnerStatus::kOk ? 0 : 1);
}
