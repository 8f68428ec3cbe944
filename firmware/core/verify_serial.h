// Portable core: the verification session over a serial link (docs/protocol.md, "Verification"):
// the board's channel, and the one QEMU's UART speaks in the tests. Records are protocol lines;
// inputs arrive as one command line followed by the raw bytes.
//
//   firmware: TML2 VREADY input=<bytes> output=<bytes>
//   host:     VIN <crc32 of the bytes, 8 hex> <0|1: dump the layers>\n  then <input> raw bytes
//   firmware: [TML2 VLAYER index=<i> bytes=<n> crc=<crc32>, TML2 VDATA at=<offset> hex=<..>...]
//             TML2 VOUT sample=<k> bytes=<n> crc=<crc32>, TML2 VDATA ... (64 bytes a record)
//   host:     VEND\n
//   firmware: TML2 VDONE samples=<k>          (errors: TML2 ERROR code=... detail=...)
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "protocol_writer.h"
#include "verify.h"

namespace tinyml {

// Bytes from the host.
class ByteSource {
 public:
  // Blocks until a byte arrives; returns it (0..255), or -1 when the link is gone.
  virtual int read_byte() = 0;

 protected:
  ~ByteSource() = default;  // not deleted through the interface: no operator delete on the MCU
};

class SerialVerifyChannel final : public VerifyChannel, private LayerSink {
 public:
  static constexpr size_t kDataChunk = 64;  // bytes per VDATA record (128 hex characters)

  SerialVerifyChannel(ByteSource& source, OutputSink& sink) : source_(source), out_(sink) {}

  void begin(size_t input_bytes, size_t output_bytes) override;
  bool next_input(uint8_t* input, size_t bytes, bool* dump_layers) override;
  LayerSink* layer_sink() override { return this; }
  void output(uint32_t sample, const uint8_t* data, size_t bytes) override;
  void error(const char* code, const char* detail) override;
  void end(uint32_t samples) override;

 private:
  void layer(uint32_t index, const uint8_t* data, size_t bytes) override;
  void data(const uint8_t* bytes, size_t count);
  // One command line (without the newline) into line_; false when the link is gone.
  bool read_line();

  ByteSource& source_;
  ProtocolWriter out_;
  char line_[48] = "";
};

}  // namespace tinyml
