#include "verify_serial.h"

#include "crc32.h"

namespace tinyml {
namespace {

const char kHex[] = "0123456789abcdef";

void hex8(uint32_t value, char out[9]) {
  for (int i = 0; i < 8; ++i) out[i] = kHex[(value >> (28 - 4 * i)) & 0xFu];
  out[8] = '\0';
}

bool parse_hex8(const char* text, uint32_t* value) {
  uint32_t v = 0;
  for (int i = 0; i < 8; ++i) {
    const char c = text[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(digit);
  }
  *value = v;
  return true;
}

bool starts_with(const char* text, const char* prefix) {
  while (*prefix) {
    if (*text++ != *prefix++) return false;
  }
  return true;
}

}  // namespace

void SerialVerifyChannel::begin(size_t input_bytes, size_t output_bytes) {
  out_.begin("VREADY");
  out_.field_u32("input", static_cast<uint32_t>(input_bytes));
  out_.field_u32("output", static_cast<uint32_t>(output_bytes));
  out_.end();
}

bool SerialVerifyChannel::read_line() {
  size_t used = 0;
  for (;;) {
    const int c = source_.read_byte();
    if (c < 0) return false;
    if (c == '\n') break;
    if (c == '\r') continue;
    if (used + 1 < sizeof line_) line_[used++] = static_cast<char>(c);
  }
  line_[used] = '\0';
  return true;
}

bool SerialVerifyChannel::next_input(uint8_t* input, size_t bytes, bool* dump_layers) {
  for (;;) {
    if (!read_line()) return false;
    if (starts_with(line_, "VEND")) return false;
    // "VIN <8 hex> <0|1>"; anything else (noise from a reconnecting host) is skipped.
    uint32_t expected = 0;
    if (!starts_with(line_, "VIN ") || !parse_hex8(line_ + 4, &expected) || line_[12] != ' ') continue;
    *dump_layers = line_[13] == '1';
    for (size_t i = 0; i < bytes; ++i) {
      const int c = source_.read_byte();
      if (c < 0) return false;
      input[i] = static_cast<uint8_t>(c);
    }
    if (crc32_iso_hdlc(input, bytes) == expected) return true;
    error("input_crc", "the input's CRC-32 differs from the host's: resend it");
  }
}

void SerialVerifyChannel::data(const uint8_t* bytes, size_t count) {
  char hex[2 * kDataChunk + 1];
  for (size_t at = 0; at < count; at += kDataChunk) {
    const size_t n = count - at < kDataChunk ? count - at : kDataChunk;
    for (size_t i = 0; i < n; ++i) {
      hex[2 * i] = kHex[bytes[at + i] >> 4];
      hex[2 * i + 1] = kHex[bytes[at + i] & 0xFu];
    }
    hex[2 * n] = '\0';
    out_.begin("VDATA");
    out_.field_u32("at", static_cast<uint32_t>(at));
    out_.field("hex", hex);
    out_.end();
  }
}

void SerialVerifyChannel::layer(uint32_t index, const uint8_t* bytes, size_t count) {
  char crc[9];
  hex8(crc32_iso_hdlc(bytes, count), crc);
  out_.begin("VLAYER");
  out_.field_u32("index", index);
  out_.field_u32("bytes", static_cast<uint32_t>(count));
  out_.field("crc", crc);
  out_.end();
  data(bytes, count);
}

void SerialVerifyChannel::output(uint32_t sample, const uint8_t* bytes, size_t count) {
  char crc[9];
  hex8(crc32_iso_hdlc(bytes, count), crc);
  out_.begin("VOUT");
  out_.field_u32("sample", sample);
  out_.field_u32("bytes", static_cast<uint32_t>(count));
  out_.field("crc", crc);
  out_.end();
  data(bytes, count);
}

void SerialVerifyChannel::error(const char* code, const char* detail) { out_.error(code, detail); }

void SerialVerifyChannel::end(uint32_t samples) {
  out_.begin("VDONE");
  out_.field_u32("samples", samples);
  out_.end();
}

}  // namespace tinyml
