// The QEMU port's verification channel: inputs from a host file, outputs and layer dumps to host
// files, through semihosting (memory speed; QEMU's UART receives tens of kB/s). The host's
// pipeline/emulator/verify.py writes the inputs (one input tensor's bytes after another) and
// reads the outputs (one output tensor's bytes per input) and the layers (per layer of the dumped
// input: u32 operator index, u32 byte count, the bytes; little-endian).
#pragma once
#include <stdint.h>

#include "protocol_writer.h"
#include "semihosting.h"
#include "verify.h"

namespace tinyml {

class SemihostingVerifyChannel final : public VerifyChannel, private LayerSink {
 public:
  // `dump_sample`: the input whose layers are written (-1: none).
  SemihostingVerifyChannel(int inputs, int outputs, int layers, int32_t dump_sample, OutputSink& sink)
      : inputs_(inputs), outputs_(outputs), layers_(layers), dump_sample_(dump_sample), out_(sink) {}

  void begin(size_t input_bytes, size_t output_bytes) override {
    out_.begin("VREADY");
    out_.field_u32("input", static_cast<uint32_t>(input_bytes));
    out_.field_u32("output", static_cast<uint32_t>(output_bytes));
    out_.end();
  }

  bool next_input(uint8_t* input, size_t bytes, bool* dump_layers) override {
    if (semihosting_read(inputs_, input, bytes) != 0) return false;  // the end of the file
    *dump_layers = static_cast<int32_t>(next_sample_++) == dump_sample_;
    return true;
  }

  LayerSink* layer_sink() override { return this; }

  void output(uint32_t sample, const uint8_t* data, size_t bytes) override {
    (void)sample;
    if (semihosting_write(outputs_, data, bytes) != 0) failed_ = true;
  }

  void error(const char* code, const char* detail) override { out_.error(code, detail); }

  void end(uint32_t samples) override {
    out_.begin("VDONE");
    out_.field_u32("samples", samples);
    out_.field("files", failed_ ? "write_failed" : "ok");
    out_.end();
  }

 private:
  void layer(uint32_t index, const uint8_t* data, size_t bytes) override {
    const uint32_t header[2] = {index, static_cast<uint32_t>(bytes)};
    if (semihosting_write(layers_, header, sizeof header) != 0 ||
        semihosting_write(layers_, data, bytes) != 0) {
      failed_ = true;
    }
  }

  int inputs_;
  int outputs_;
  int layers_;
  int32_t dump_sample_;
  uint32_t next_sample_ = 0;
  bool failed_ = false;
  ProtocolWriter out_;
};

}  // namespace tinyml
