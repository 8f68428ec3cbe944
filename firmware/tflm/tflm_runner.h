// TFLM implementation of tinyml::ModelRunner: one MicroInterpreter over a caller-owned arena, a
// deterministic input and per-layer ticks from LayerProfiler. Board- and model-independent: the
// port's main() passes the generated model bytes, op resolver, arena and expected input.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "layer_profiler.h"
#include "model_runner.h"
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_op_resolver.h"

namespace tinyml {

// What the generated metadata promises about input 0; setup() refuses a model that differs.
struct InputExpectation {
  static constexpr int kMaxRank = 5;
  TfLiteType type;
  int rank;
  int dims[kMaxRank];
};

class TflmRunner : public ModelRunner {
 public:
  // `ops_registered` is false when the generated tinyml_register_ops() failed (resolver too small).
  TflmRunner(const char* model_name, const unsigned char* model_data,
             const tflite::MicroOpResolver& op_resolver, bool ops_registered, uint8_t* arena,
             size_t arena_size, Clock& clock, const InputExpectation& input);

  const char* model_name() const override { return model_name_; }
  RunnerStatus setup() override;
  size_t arena_size_bytes() const override { return arena_size_; }
  size_t arena_used_bytes() const override;
  void write_input() override;
  RunnerStatus invoke() override;
  size_t layer_count() const override { return profiler_.count(); }
  LayerTiming layer(size_t index) const override { return profiler_.layer(index); }
  const char* last_error() const override { return error_; }
  bool output_crc32(uint32_t* crc, uint32_t* bytes) const override;

  // Output tensor 0 of the last invoke (tests compare it with the host interpreter).
  const TfLiteTensor* output() const;

  // Verification (verify.h): the input and output bytes, and every layer's output on request.
  uint8_t* input_bytes(size_t* bytes) override;
  const uint8_t* output_bytes(size_t* bytes) const override;
  void set_layer_sink(LayerSink* sink) override;

 private:
  RunnerStatus fail(RunnerStatus status, const char* text, uint32_t number = 0,
                    const char* tail = nullptr);
  bool input_matches(const TfLiteTensor& tensor) const;
  static void layer_finished(void* runner, size_t index);

  // The interpreter's eval tensors are reachable through its (protected) context: the layer
  // dump reads an operator's output there right after the operator ran.
  class Interpreter : public tflite::MicroInterpreter {
   public:
    using tflite::MicroInterpreter::MicroInterpreter;
    TfLiteEvalTensor* eval_tensor(int index) {
      TfLiteContext& context = const_cast<TfLiteContext&>(this->context());
      return context.GetEvalTensor(&context, index);
    }
  };

  const char* model_name_;
  const unsigned char* model_data_;
  const tflite::MicroOpResolver& op_resolver_;
  bool ops_registered_;
  uint8_t* arena_;
  size_t arena_size_;
  InputExpectation expected_input_;
  LayerProfiler profiler_;
  Interpreter* interpreter_ = nullptr;
  // The interpreter is built in setup() (placement new: no heap on the MCU).
  alignas(Interpreter) unsigned char interpreter_storage_[sizeof(Interpreter)];
  LayerSink* layer_sink_ = nullptr;
  bool ready_ = false;  // setup() succeeded
  char error_[128] = "";
};

}  // namespace tinyml
