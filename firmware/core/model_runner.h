// Portable benchmark core: the abstract model runner. Plain C++, no Arduino or TFLM types,
// so the loop, statistics and protocol writer are unit-tested on the host and reused by every port.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace tinyml {

enum class RunnerStatus : uint8_t {
  kOk = 0,
  kSchemaMismatch,   // model flatbuffer version differs from what the runtime was built for
  kAllocFailed,      // tensor arena too small (or other AllocateTensors failure)
  kInputMismatch,    // input tensor shape/type differs from what the generated metadata promises
  kInvokeFailed,
};

// One profiled layer of the last invoke: operator name (static string) and elapsed ticks.
struct LayerTiming {
  const char* op;
  uint32_t ticks;
};

// Where the output of each layer goes while a verification dumps them (verify.h).
class LayerSink {
 public:
  virtual void layer(uint32_t index, const uint8_t* data, size_t bytes) = 0;

 protected:
  ~LayerSink() = default;  // not deleted through the interface: no operator delete on the MCU
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual const char* model_name() const = 0;
  // Builds the interpreter and allocates tensors. Called once.
  virtual RunnerStatus setup() = 0;
  virtual size_t arena_size_bytes() const = 0;
  virtual size_t arena_used_bytes() const = 0;
  // Writes the deterministic input. Must be called before every invoke: TFLM may reuse the input
  // buffer for activations, so an untouched input holds garbage after the first invoke.
  virtual void write_input() = 0;
  virtual RunnerStatus invoke() = 0;
  // Per-layer timings of the last invoke (empty when the runner cannot profile).
  virtual size_t layer_count() const = 0;
  virtual LayerTiming layer(size_t index) const = 0;
  // A short text for the last error (static or runner-owned storage).
  virtual const char* last_error() const = 0;
  // CRC-32/ISO-HDLC (crc32.h) of output tensor 0's bytes after the last invoke, and their count.
  // False when the runner has no output to show (the OUTPUT record is then left out).
  virtual bool output_crc32(uint32_t* crc, uint32_t* bytes) const {
    (void)crc;
    (void)bytes;
    return false;
  }
  // Input tensor 0's bytes, for inputs the host supplies (verification); nullptr: not offered.
  virtual uint8_t* input_bytes(size_t* bytes) {
    *bytes = 0;
    return nullptr;
  }
  // Output tensor 0's bytes after the last invoke; nullptr: not offered.
  virtual const uint8_t* output_bytes(size_t* bytes) const {
    *bytes = 0;
    return nullptr;
  }
  // Every layer's output of the following invokes goes to `sink` (nullptr: stop).
  virtual void set_layer_sink(LayerSink* sink) { (void)sink; }
};

// Monotonic tick counter. On the board: CPU cycles (DWT->CYCCNT); in QEMU: instructions (SysTick
// under -icount). `unit()` names what one tick is so reports never call instructions cycles.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint32_t ticks() = 0;
  virtual uint32_t micros() = 0;
  virtual uint32_t ticks_per_second() const = 0;
  virtual const char* unit() const = 0;  // "cycles" or "instructions"
};

// Where protocol lines go (USB CDC, UART, stdout).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void write(const char* data, size_t length) = 0;
  virtual void flush() {}
};

}  // namespace tinyml
