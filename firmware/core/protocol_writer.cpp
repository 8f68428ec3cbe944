#include "protocol_writer.h"

namespace tinyml {

uint16_t crc16_ccitt_false(const char* data, size_t length, uint16_t crc) {
  for (size_t i = 0; i < length; ++i) {
    crc = static_cast<uint16_t>(crc ^ (static_cast<uint16_t>(static_cast<uint8_t>(data[i])) << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000u) ? static_cast<uint16_t>((crc << 1) ^ 0x1021u)
                            : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

size_t format_u32(uint32_t value, char* out) {
  char reversed[10];
  size_t count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  for (size_t i = 0; i < count; ++i) out[i] = reversed[count - 1 - i];
  return count;
}

namespace {

bool breaks_line_format(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u <= 0x20 || u >= 0x7F || c == '=' || c == '*';
}

}  // namespace

ProtocolWriter::ProtocolWriter(OutputSink& sink, unsigned version)
    : sink_(sink), version_(version) {}

void ProtocolWriter::append_raw(const char* text, size_t length) {
  const size_t room = kMaxLineLength - kTrailerLength - length_;
  if (length > room) {
    length = room;
    truncated_ = true;
  }
  for (size_t i = 0; i < length; ++i) line_[length_++] = text[i];
}

void ProtocolWriter::append_sanitised(const char* text) {
  if (text == nullptr) return;
  for (; *text != '\0'; ++text) {
    if (length_ >= kMaxLineLength - kTrailerLength) {
      truncated_ = true;
      return;
    }
    line_[length_++] = breaks_line_format(*text) ? '_' : *text;
  }
}

void ProtocolWriter::begin(const char* type) {
  length_ = 0;
  append_raw("TML", 3);
  char digits[10];
  append_raw(digits, format_u32(version_, digits));
  append_raw(" ", 1);
  append_sanitised(type);
}

void ProtocolWriter::field(const char* key, const char* value) {
  append_raw(" ", 1);
  append_sanitised(key);
  append_raw("=", 1);
  append_sanitised(value);
}

void ProtocolWriter::field_u32(const char* key, uint32_t value) {
  char digits[10];
  const size_t count = format_u32(value, digits);
  append_raw(" ", 1);
  append_sanitised(key);
  append_raw("=", 1);
  append_raw(digits, count);
}

void ProtocolWriter::end() {
  static const char kHex[] = "0123456789ABCDEF";
  const uint16_t crc = crc16_ccitt_false(line_, length_);
  // The payload never exceeds kMaxLineLength - kTrailerLength, so the trailer always fits.
  line_[length_++] = ' ';
  line_[length_++] = '*';
  for (int shift = 12; shift >= 0; shift -= 4) line_[length_++] = kHex[(crc >> shift) & 0xFu];
  line_[length_++] = '\r';
  line_[length_++] = '\n';
  sink_.write(line_, length_);
  sink_.flush();
  length_ = 0;
  ++records_;
}

void ProtocolWriter::start(const char* firmware_version, const char* model, uint32_t clock_hz,
                           const char* unit, uint32_t runs, uint32_t warmup) {
  begin("START");
  field("fw", firmware_version);
  field("model", model);
  field_u32("clock_hz", clock_hz);
  field("unit", unit);
  field_u32("runs", runs);
  field_u32("warmup", warmup);
  end();
}

void ProtocolWriter::arena(uint32_t size, uint32_t used) {
  begin("ARENA");
  field_u32("size", size);
  field_u32("used", used);
  end();
}

void ProtocolWriter::layer(uint32_t index, const char* op, uint32_t ticks) {
  begin("LAYER");
  field_u32("index", index);
  field("op", op);
  field_u32("ticks", ticks);
  end();
}

void ProtocolWriter::summary(uint32_t runs, uint32_t ticks_min, uint32_t ticks_median,
                             uint32_t ticks_max, uint32_t us_min, uint32_t us_median,
                             uint32_t us_max) {
  begin("SUMMARY");
  field_u32("runs", runs);
  field_u32("ticks_min", ticks_min);
  field_u32("ticks_median", ticks_median);
  field_u32("ticks_max", ticks_max);
  field_u32("us_min", us_min);
  field_u32("us_median", us_median);
  field_u32("us_max", us_max);
  end();
}

void ProtocolWriter::error(const char* code, const char* detail) {
  begin("ERROR");
  field("code", code);
  field("detail", detail);
  end();
}

namespace {

const char* cache_state_name(CacheState state) {
  switch (state) {
    case CacheState::kOn: return "on";
    case CacheState::kOff: return "off";
    case CacheState::kNone: return "none";
  }
  return "none";
}

}  // namespace

void ProtocolWriter::cache(CacheState state, const CacheCounts* counts) {
  begin("CACHE");
  field("state", cache_state_name(state));
  if (counts != nullptr) {
    field_u32("hits", counts->hits);
    field_u32("misses", counts->misses);
  }
  end();
}

void ProtocolWriter::counters(const DwtCounts* counts) {
  begin("COUNTERS");
  field("state", counts != nullptr ? "ok" : "none");
  if (counts != nullptr) {
    field_u32("cycles", counts->cycles);
    field_u32("cpi", counts->cpi);
    field_u32("exc", counts->exc);
    field_u32("sleep", counts->sleep);
    field_u32("lsu", counts->lsu);
    field_u32("fold", counts->fold);
  }
  end();
}

void ProtocolWriter::sampler(const SamplerStats& stats) {
  begin("SAMPLER");
  field_u32("period", stats.period_cycles);
  field_u32("samples", stats.samples);
  field_u32("overruns", stats.overruns);
  field_u32("calib_known", stats.calib_known);
  field_u32("calib_derived", stats.calib_derived);
  field_u32("calib_samples", stats.calib_samples);
  end();
}

void ProtocolWriter::output(uint32_t bytes, uint32_t crc32) {
  begin("OUTPUT");
  field_u32("bytes", bytes);
  field_u32("crc32", crc32);
  end();
}

void ProtocolWriter::done(bool ok) {
  const uint32_t records_before = records_;
  begin("DONE");
  field("status", ok ? "ok" : "error");
  field_u32("records", records_before);
  end();
}

}  // namespace tinyml
