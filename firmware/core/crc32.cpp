#include "crc32.h"

namespace tinyml {

uint32_t crc32_iso_hdlc(const uint8_t* data, size_t length, uint32_t previous) {
  uint32_t crc = ~previous;
  for (size_t i = 0; i < length; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

}  // namespace tinyml
