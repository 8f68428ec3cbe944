// Portable benchmark core: writes protocol records (docs/protocol.md) to an OutputSink.
// Each record is built in a fixed line buffer and handed to the sink in one write, so a transport
// never sees half a record from us. No heap, no printf.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model_runner.h"
#include "perf_counters.h"

namespace tinyml {

constexpr unsigned kProtocolVersion = 2;
// Longest line we emit, "\r\n" included. Values that do not fit are cut (the record stays valid).
constexpr size_t kMaxLineLength = 192;

// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor ("123456789" -> 0x29B1).
uint16_t crc16_ccitt_false(const char* data, size_t length, uint16_t crc = 0xFFFF);

// Writes the decimal digits of `value` into `out` (no terminator); returns the digit count (1..10).
size_t format_u32(uint32_t value, char* out);

class ProtocolWriter {
 public:
  // `version` is only changed by the host test double to simulate a firmware of another version.
  explicit ProtocolWriter(OutputSink& sink, unsigned version = kProtocolVersion);

  // Generic record: begin(type), any number of field(...), end().
  void begin(const char* type);
  // Characters that would break the line format (whitespace, control bytes, '=', '*') become '_'.
  void field(const char* key, const char* value);
  void field_u32(const char* key, uint32_t value);
  // Appends " *CRC\r\n", writes the line to the sink, counts the record.
  void end();

  // Records sent so far (START included); DONE reports this number.
  uint32_t records_written() const { return records_; }
  // True if any value had to be cut to fit kMaxLineLength.
  bool truncated() const { return truncated_; }

  // One call per record type (docs/protocol.md); cache() to output() exist from version 2 on.
  void start(const char* firmware_version, const char* model, uint32_t clock_hz, const char* unit,
             uint32_t runs, uint32_t warmup);
  void arena(uint32_t size, uint32_t used);
  void layer(uint32_t index, const char* op, uint32_t ticks);
  void summary(uint32_t runs, uint32_t ticks_min, uint32_t ticks_median, uint32_t ticks_max,
               uint32_t us_min, uint32_t us_median, uint32_t us_max);
  void error(const char* code, const char* detail);
  // `counts` is nullptr when the hits/misses were not counted.
  void cache(CacheState state, const CacheCounts* counts);
  // `counts` is nullptr when the DWT counters are unavailable (state=none).
  void counters(const DwtCounts* counts);
  void sampler(const SamplerStats& stats);
  void output(uint32_t bytes, uint32_t crc32);
  void done(bool ok);

 private:
  void append_raw(const char* text, size_t length);
  void append_sanitised(const char* text);

  OutputSink& sink_;
  unsigned version_;
  uint32_t records_ = 0;
  bool truncated_ = false;
  size_t length_ = 0;
  // Room for the " *XXXX\r\n" trailer is kept out of the payload space.
  static constexpr size_t kTrailerLength = 8;
  char line_[kMaxLineLength];
};

}  // namespace tinyml
