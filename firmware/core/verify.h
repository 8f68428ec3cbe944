// Portable core: the verification session. The host supplies inputs; the firmware runs each and
// returns its output bytes and, for an input the host marks, the output of every layer: what the
// host compares with TensorFlow Lite's reference kernels (pipeline/verify). The channel is the
// port's: semihosting files in QEMU, the serial link on a board (SerialVerifyChannel).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model_runner.h"

namespace tinyml {

class VerifyChannel {
 public:
  // Announces the session: the bytes of one input and of one output.
  virtual void begin(size_t input_bytes, size_t output_bytes) = 0;
  // Fills `input` with the next input; false when the host has no more. *dump_layers: send the
  // output of every layer of this input too.
  virtual bool next_input(uint8_t* input, size_t bytes, bool* dump_layers) = 0;
  // Where the layers go while one is dumped.
  virtual LayerSink* layer_sink() = 0;
  virtual void output(uint32_t sample, const uint8_t* data, size_t bytes) = 0;
  virtual void error(const char* code, const char* detail) = 0;
  virtual void end(uint32_t samples) = 0;

 protected:
  ~VerifyChannel() = default;  // not deleted through the interface: no operator delete on the MCU
};

// Runs every input the channel supplies through `runner` (set up already) and returns each
// output; the first failing invoke ends the session with an error.
RunnerStatus run_verification(ModelRunner& runner, VerifyChannel& channel);

}  // namespace tinyml
