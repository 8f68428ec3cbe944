// Host unit tests of the portable core's pieces (stats, CRC, integer formatting, protocol writer).
// Prints "FAIL <file>:<line> <expr>" per failed check and "core_tests: N checks, M failed";
// exits non-zero on any failure. Run by tests/test_core_host.py. --emit prints the writer's
// edge-case records for the Python parser instead; --must-fail adds one failing check.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "benchmark.h"
#include "crc32.h"
#include "protocol_writer.h"
#include "stats.h"

namespace {

int g_checks = 0;
int g_failed = 0;

#define CHECK(expr)                                                 \
  do {                                                              \
    ++g_checks;                                                     \
    if (!(expr)) {                                                  \
      ++g_failed;                                                   \
      printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #expr);         \
    }                                                               \
  } while (0)

// Collects everything written, for assertions.
class StringSink : public tinyml::OutputSink {
 public:
  void write(const char* data, size_t length) override {
    ++writes;
    for (size_t i = 0; i < length && used < sizeof text - 1; ++i) text[used++] = data[i];
    text[used] = '\0';
  }
  void clear() {
    used = 0;
    text[0] = '\0';
  }
  char text[4096] = {};
  size_t used = 0;
  int writes = 0;
};

void test_crc() {
  CHECK(tinyml::crc16_ccitt_false("123456789", 9) == 0x29B1);  // the catalogue check value
  CHECK(tinyml::crc16_ccitt_false("", 0) == 0xFFFF);
  // Incremental use equals one pass.
  const uint16_t part = tinyml::crc16_ccitt_false("12345", 5);
  CHECK(tinyml::crc16_ccitt_false("6789", 4, part) == 0x29B1);
}

void test_format_u32() {
  char out[11] = {};
  CHECK(tinyml::format_u32(0, out) == 1 && memcmp(out, "0", 1) == 0);
  CHECK(tinyml::format_u32(4294967295u, out) == 10 && memcmp(out, "4294967295", 10) == 0);
  CHECK(tinyml::format_u32(1000000u, out) == 7 && memcmp(out, "1000000", 7) == 0);
}

void test_stats() {
  uint32_t odd[] = {30, 10, 20, 50, 40};
  tinyml::SampleStats s = tinyml::compute_stats(odd, 5);
  CHECK(s.min == 10 && s.median == 30 && s.max == 50);
  CHECK(odd[0] == 10 && odd[4] == 50);  // sorted in place

  uint32_t even[] = {40, 10, 30, 20};
  s = tinyml::compute_stats(even, 4);
  CHECK(s.min == 10 && s.median == 25 && s.max == 40);

  uint32_t rounding[] = {3, 4};
  CHECK(tinyml::compute_stats(rounding, 2).median == 3);  // mean of the middle two, rounded down

  uint32_t huge[] = {0xFFFFFFFFu, 0xFFFFFFFDu};
  CHECK(tinyml::compute_stats(huge, 2).median == 0xFFFFFFFEu);  // no overflow

  uint32_t one[] = {7};
  s = tinyml::compute_stats(one, 1);
  CHECK(s.min == 7 && s.median == 7 && s.max == 7);

  uint32_t dupes[] = {5, 5, 1, 5, 9, 5};
  s = tinyml::compute_stats(dupes, 6);
  CHECK(s.min == 1 && s.median == 5 && s.max == 9);

  s = tinyml::compute_stats(nullptr, 0);
  CHECK(s.min == 0 && s.median == 0 && s.max == 0);

  CHECK(tinyml::elapsed_ticks(0xFFFFFF00u, 0x00000100u) == 0x200u);  // across the wrap
  CHECK(tinyml::elapsed_ticks(100, 350) == 250);
}

void test_writer(StringSink& sink) {
  tinyml::ProtocolWriter writer(sink);
  writer.arena(90112, 82404);
  CHECK(strncmp(sink.text, "TML2 ARENA size=90112 used=82404 *", 34) == 0);
  CHECK(sink.used == 34 + 4 + 2);
  CHECK(strcmp(sink.text + sink.used - 2, "\r\n") == 0);
  CHECK(sink.writes == 1);  // one write per record
  const uint16_t crc = tinyml::crc16_ccitt_false(sink.text, 32);
  char hex[5];
  snprintf(hex, sizeof hex, "%04X", crc);
  CHECK(memcmp(sink.text + 34, hex, 4) == 0);
  CHECK(writer.records_written() == 1);

  sink.clear();
  writer.error("alloc_failed", "bad value=1 *x\ty\r\n\x01\xc3");
  CHECK(strstr(sink.text, " detail=bad_value_1__x_y____ *") != nullptr);

  sink.clear();
  writer.error("invoke_failed", nullptr);  // empty detail stays a valid field
  CHECK(strstr(sink.text, " detail= *") != nullptr);

  sink.clear();
  writer.done(true);
  CHECK(strstr(sink.text, "TML2 DONE status=ok records=3 *") == sink.text);
  CHECK(writer.records_written() == 4);
  CHECK(!writer.truncated());

  // A value longer than the line: cut, flagged, and the line still ends with a valid trailer.
  char long_detail[400];
  memset(long_detail, 'x', sizeof long_detail - 1);
  long_detail[sizeof long_detail - 1] = '\0';
  sink.clear();
  writer.error("invoke_failed", long_detail);
  CHECK(writer.truncated());
  CHECK(sink.used == tinyml::kMaxLineLength);
  CHECK(sink.text[sink.used - 8] == ' ' && sink.text[sink.used - 7] == '*');
  snprintf(hex, sizeof hex, "%04X", tinyml::crc16_ccitt_false(sink.text, sink.used - 8));
  CHECK(memcmp(sink.text + sink.used - 6, hex, 4) == 0);

  tinyml::ProtocolWriter other_version(sink, 1);
  sink.clear();
  other_version.done(false);
  CHECK(strncmp(sink.text, "TML1 DONE status=error records=0 *", 34) == 0);
}

void test_crc32() {
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK(tinyml::crc32_iso_hdlc(check, 9) == 0xCBF43926u);  // the catalogue check value
  CHECK(tinyml::crc32_iso_hdlc(check, 0) == 0u);
  CHECK(tinyml::crc32_iso_hdlc(check + 4, 5, tinyml::crc32_iso_hdlc(check, 4)) == 0xCBF43926u);
  const uint8_t zeros[4] = {0, 0, 0, 0};
  CHECK(tinyml::crc32_iso_hdlc(zeros, 4) == 0x2144DF1Cu);  // zlib.crc32(bytes(4))
}

void test_v2_records(StringSink& sink) {
  tinyml::ProtocolWriter writer(sink);
  const tinyml::CacheCounts counts = {4294967295u, 12};
  writer.cache(tinyml::CacheState::kOn, &counts);
  CHECK(strncmp(sink.text, "TML2 CACHE state=on hits=4294967295 misses=12 *", 47) == 0);
  sink.clear();
  writer.cache(tinyml::CacheState::kNone, nullptr);
  CHECK(strncmp(sink.text, "TML2 CACHE state=none *", 23) == 0);
  sink.clear();
  writer.counters(nullptr);
  CHECK(strncmp(sink.text, "TML2 COUNTERS state=none *", 26) == 0);
  // The longest v2 records, every number at its widest, still fit one line.
  const uint32_t m = 4294967295u;
  const tinyml::DwtCounts dwt = {m, m, m, m, m, m};
  sink.clear();
  writer.counters(&dwt);
  CHECK(!writer.truncated() && sink.used <= tinyml::kMaxLineLength);
  CHECK(strstr(sink.text, " fold=4294967295 *") != nullptr);
  const tinyml::SamplerStats stats = {m, m, m, m, m, m};
  sink.clear();
  writer.sampler(stats);
  CHECK(!writer.truncated() && strstr(sink.text, " calib_samples=4294967295 *") != nullptr);
  sink.clear();
  writer.output(10, 0xCBF43926u);
  CHECK(strncmp(sink.text, "TML2 OUTPUT bytes=10 crc32=3421780262 *", 39) == 0);
  // Formula of the executed instructions, modulo 2^32 like the counters.
  const tinyml::DwtCounts c = {1000, 100, 20, 0, 300, 50};
  CHECK(tinyml::dwt_instructions(c) == 630);
  const tinyml::DwtCounts wrapped = {5, 10, 0, 0, 0, 0};
  CHECK(tinyml::dwt_instructions(wrapped) == 0xFFFFFFFBu);
}

void test_error_codes() {
  CHECK(strcmp(tinyml::error_code(tinyml::RunnerStatus::kAllocFailed), "alloc_failed") == 0);
  CHECK(strcmp(tinyml::error_code(tinyml::RunnerStatus::kSchemaMismatch), "schema_mismatch") == 0);
  CHECK(strcmp(tinyml::error_code(tinyml::RunnerStatus::kInputMismatch), "input_mismatch") == 0);
  CHECK(strcmp(tinyml::error_code(tinyml::RunnerStatus::kInvokeFailed), "invoke_failed") == 0);
}

// Records exercising the writer's edge cases, for the Python parser (tests/test_core_host.py).
void emit_records() {
  class StdoutSink : public tinyml::OutputSink {
   public:
    void write(const char* data, size_t length) override { fwrite(data, 1, length, stdout); }
    void flush() override { fflush(stdout); }
  } sink;
  tinyml::ProtocolWriter writer(sink);
  writer.start("0.1.0 beta", "model with spaces=*", 4294967295u, "instructions", 1, 0);
  writer.arena(0, 0);
  writer.layer(0, "CONV 2D", 4294967295u);
  writer.summary(1, 0, 0, 4294967295u, 0, 0, 4294967295u);
  const tinyml::CacheCounts cache = {0, 4294967295u};
  writer.cache(tinyml::CacheState::kOff, &cache);
  const tinyml::DwtCounts dwt = {4294967295u, 0, 1, 2, 3, 4294967295u};
  writer.counters(&dwt);
  const tinyml::SamplerStats stats = {255, 0, 4294967295u, 1, 2, 3};
  writer.sampler(stats);
  writer.output(0, 4294967295u);
  writer.done(true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--emit") == 0) {
    emit_records();
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--must-fail") == 0) {
    CHECK(1 + 1 == 3);  // proves a failed check is reported and sets the exit code
  }
  StringSink sink;
  test_crc();
  test_format_u32();
  test_stats();
  test_writer(sink);
  sink.clear();
  test_crc32();
  test_v2_records(sink);
  test_error_codes();
  printf("core_tests: %d checks, %d failed\n", g_checks, g_failed);
  return g_failed == 0 ? 0 : 1;
}
