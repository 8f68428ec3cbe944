#include "tflm_runner.h"

#include <new>

#include "crc32.h"

#include "tensorflow/lite/micro/memory_helpers.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "trace_marks.h"
#include "tflm_log.h"

namespace tinyml {
namespace {

// Appends text to a fixed buffer, always NUL-terminated.
size_t append(char* buffer, size_t size, size_t used, const char* text) {
  while (text && *text && used + 1 < size) buffer[used++] = *text++;
  buffer[used] = '\0';
  return used;
}

size_t append_u32(char* buffer, size_t size, size_t used, uint32_t value) {
  char digits[11];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10u);
    value /= 10u;
  } while (value != 0u);
  char text[11];
  for (size_t i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  text[n] = '\0';
  return append(buffer, size, used, text);
}

}  // namespace

TflmRunner::TflmRunner(const char* model_name, const unsigned char* model_data,
                       const tflite::MicroOpResolver& op_resolver, bool ops_registered,
                       uint8_t* arena, size_t arena_size, Clock& clock,
                       const InputExpectation& input)
    : model_name_(model_name),
      model_data_(model_data),
      op_resolver_(op_resolver),
      ops_registered_(ops_registered),
      arena_(arena),
      arena_size_(arena_size),
      expected_input_(input),
      profiler_(clock) {}

RunnerStatus TflmRunner::fail(RunnerStatus status, const char* text, uint32_t number,
                              const char* tail) {
  size_t used = append(error_, sizeof error_, 0, text);
  if (tail != nullptr) {
    used = append_u32(error_, sizeof error_, used, number);
    append(error_, sizeof error_, used, tail);
  }
  return status;
}

RunnerStatus TflmRunner::setup() {
  if (ready_) return RunnerStatus::kOk;  // a verification after the benchmark reuses the tensors
  if (!ops_registered_) {
    return fail(RunnerStatus::kSchemaMismatch,
                "op resolver registration failed: regenerate model_ops.h");
  }
  const tflite::Model* model = tflite::GetModel(model_data_);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    return fail(RunnerStatus::kSchemaMismatch, "model schema version ", model->version(),
                " differs from the runtime's");
  }
  interpreter_ = new (interpreter_storage_)
      Interpreter(model, op_resolver_, arena_, arena_size_, nullptr, &profiler_);
  if (interpreter_->AllocateTensors() != kTfLiteOk) {
    // TFLM has logged the reason (bytes requested/available or the missing op) just before; when
    // the port passed that line on (tflm_log.h), the numbers go into the ERROR record.
    const AllocationShortfall shortfall = last_allocation_shortfall();
    if (shortfall.seen) {
      size_t used = append(error_, sizeof error_, 0, "arena ");
      used = append_u32(error_, sizeof error_, used, static_cast<uint32_t>(arena_size_));
      used = append(error_, sizeof error_, used, " B too small: TFLM asked for ");
      used = append_u32(error_, sizeof error_, used, shortfall.requested);
      used = append(error_, sizeof error_, used, " B with ");
      used = append_u32(error_, sizeof error_, used, shortfall.available);
      used = append(error_, sizeof error_, used, " B free, short by ");
      used = append_u32(error_, sizeof error_, used, shortfall.missing);
      append(error_, sizeof error_, used, " B");
      return RunnerStatus::kAllocFailed;
    }
    return fail(RunnerStatus::kAllocFailed, "AllocateTensors failed with a tensor arena of ",
                static_cast<uint32_t>(arena_size_),
                " bytes: arena too small or an op failed to prepare (see the log above)");
  }
  const TfLiteTensor* input = interpreter_->input(0);
  if (input == nullptr || !input_matches(*input)) {
    return fail(RunnerStatus::kInputMismatch,
                "input tensor type or shape differs from the generated model metadata");
  }
  ready_ = true;
  return RunnerStatus::kOk;
}

bool TflmRunner::input_matches(const TfLiteTensor& tensor) const {
  if (tensor.type != expected_input_.type || tensor.dims == nullptr) return false;
  if (tensor.dims->size != expected_input_.rank) return false;
  for (int i = 0; i < expected_input_.rank; ++i) {
    if (tensor.dims->data[i] != expected_input_.dims[i]) return false;
  }
  return true;
}

size_t TflmRunner::arena_used_bytes() const {
  return interpreter_ != nullptr ? interpreter_->arena_used_bytes() : 0;
}

void TflmRunner::write_input() {
  if (interpreter_ == nullptr) return;
  TfLiteTensor* input = interpreter_->input(0);
  // The same pseudo-random bytes before every invoke (xorshift32, fixed seed): deterministic,
  // and not all-zero, so kernels take their general paths.
  uint32_t state = 0x12345678u;
  if (input->type == kTfLiteFloat32) {
    // A float input (QUANTIZE in front of an int8 graph) gets values in [-1, 1), not random bit
    // patterns (NaN, infinities).
    float* values = input->data.f;
    for (size_t i = 0; i < input->bytes / sizeof(float); ++i) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      values[i] = static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return;
  }
  uint8_t* bytes = input->data.uint8;
  for (size_t i = 0; i < input->bytes; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    bytes[i] = static_cast<uint8_t>(state >> 24);
  }
}

RunnerStatus TflmRunner::invoke() {
  if (interpreter_ == nullptr) return fail(RunnerStatus::kInvokeFailed, "invoke before setup");
  profiler_.clear();
  tinyml_trace_invoke_begin();
  const TfLiteStatus invoked = interpreter_->Invoke();
  tinyml_trace_invoke_end();
  if (invoked != kTfLiteOk) {
    return fail(RunnerStatus::kInvokeFailed, "Invoke failed (see the log above)");
  }
  return RunnerStatus::kOk;
}

bool TflmRunner::output_crc32(uint32_t* crc, uint32_t* bytes) const {
  const TfLiteTensor* tensor = output();
  if (tensor == nullptr || tensor->data.raw == nullptr) return false;
  *crc = crc32_iso_hdlc(reinterpret_cast<const uint8_t*>(tensor->data.raw), tensor->bytes);
  *bytes = static_cast<uint32_t>(tensor->bytes);
  return true;
}

const TfLiteTensor* TflmRunner::output() const {
  return interpreter_ != nullptr ? interpreter_->output(0) : nullptr;
}

uint8_t* TflmRunner::input_bytes(size_t* bytes) {
  TfLiteTensor* input = interpreter_ != nullptr ? interpreter_->input(0) : nullptr;
  *bytes = input != nullptr ? input->bytes : 0;
  return input != nullptr ? input->data.uint8 : nullptr;
}

const uint8_t* TflmRunner::output_bytes(size_t* bytes) const {
  const TfLiteTensor* tensor = output();
  *bytes = tensor != nullptr ? tensor->bytes : 0;
  return tensor != nullptr ? reinterpret_cast<const uint8_t*>(tensor->data.raw) : nullptr;
}

void TflmRunner::set_layer_sink(LayerSink* sink) {
  layer_sink_ = sink;
  profiler_.set_end_hook(sink != nullptr ? &TflmRunner::layer_finished : nullptr, this);
}

void TflmRunner::layer_finished(void* context, size_t index) {
  auto* self = static_cast<TflmRunner*>(context);
  const tflite::Model* model = tflite::GetModel(self->model_data_);
  const auto* operators = model->subgraphs()->Get(0)->operators();
  if (self->layer_sink_ == nullptr || index >= operators->size()) return;
  const int tensor = operators->Get(static_cast<flatbuffers::uoffset_t>(index))->outputs()->Get(0);
  const TfLiteEvalTensor* output = self->interpreter_->eval_tensor(tensor);
  if (output == nullptr || output->data.raw == nullptr) return;
  size_t bytes = 0;
  if (tflite::TfLiteEvalTensorByteLength(output, &bytes) != kTfLiteOk) return;
  self->layer_sink_->layer(static_cast<uint32_t>(index), reinterpret_cast<const uint8_t*>(output->data.raw),
                           bytes);
}

}  // namespace tinyml
