// Portable benchmark core: CRC-32/ISO-HDLC (the zlib/Ethernet CRC) of the model's output bytes,
// so two builds (kernel sets, compilers, board vs emulator) can be checked to compute the same thing.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace tinyml {

// Reflected poly 0xEDB88320, init and final xor 0xFFFFFFFF ("123456789" -> 0xCBF43926). Bitwise,
// no table: output tensors are a few bytes and flash is the scarcer resource. Chains like
// zlib.crc32: crc32_iso_hdlc(b, n, crc32_iso_hdlc(a, m)) == CRC of a followed by b.
uint32_t crc32_iso_hdlc(const uint8_t* data, size_t length, uint32_t previous = 0);

}  // namespace tinyml
