// Output check firmware for QEMU mps2-an386 (tests and benchmarks/kernels.py, not the benchmark):
// runs the generated model on a few pseudo-random inputs and prints, per input, the CRC-32
// (ISO-HDLC) and the bytes of the output tensor, so two builds (e.g. --kernels cmsis-nn and
// tinyml) can be compared output by output. Lines: "CHECK <seed> <crc32 hex> <output hex>",
// then "CHECK DONE".
#include <stdio.h>
#include <string.h>

#include "cmsdk_uart.h"
#include "model_data.h"
#include "model_ops.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace {

alignas(16) uint8_t g_arena[TINYML_ARENA_BYTES];

void print(const char* text) { cmsdk_uart_write(text, strlen(text)); }

uint32_t crc32_iso_hdlc(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

}  // namespace

int main() {
  static TinymlOpResolver resolver;
  if (tinyml_register_ops(resolver) != kTfLiteOk) {
    print("CHECK ERROR op registration\r\n");
    return 1;
  }
  static tflite::MicroInterpreter interpreter(tflite::GetModel(g_model_data), resolver, g_arena,
                                              sizeof g_arena);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    print("CHECK ERROR AllocateTensors\r\n");
    return 1;
  }
  char line[64];
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    TfLiteTensor* input = interpreter.input(0);
    uint32_t state = 0x9E3779B9u * seed;
    for (size_t i = 0; i < input->bytes; ++i) {  // xorshift32
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      input->data.uint8[i] = static_cast<uint8_t>(state >> 24);
    }
    if (interpreter.Invoke() != kTfLiteOk) {
      print("CHECK ERROR Invoke\r\n");
      return 1;
    }
    const TfLiteTensor* output = interpreter.output(0);
    snprintf(line, sizeof line, "CHECK %lu %08lx ", static_cast<unsigned long>(seed),
             static_cast<unsigned long>(crc32_iso_hdlc(output->data.uint8, output->bytes)));
    print(line);
    for (size_t i = 0; i < output->bytes && i < 4096; ++i) {
      snprintf(line, sizeof line, "%02x", output->data.uint8[i]);
      print(line);
    }
    print("\r\n");
  }
  print("CHECK DONE\r\n");
  return 0;
}
