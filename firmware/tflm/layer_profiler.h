// Per-layer timing for the TFLM runner: TFLM's MicroGraph opens one profiler event per operator,
// tagged with the TFLite builtin name ("CONV_2D", ...). We keep tag + start/end ticks of the tinyml
// Clock for the events of the last invoke, in a fixed table (TFLM's own MicroProfiler keeps 1024
// events, ~20 kB of RAM that the board needs for the arena).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model_runner.h"
#include "tensorflow/lite/micro/compatibility.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"

namespace tinyml {

class LayerProfiler : public tflite::MicroProfilerInterface {
 public:
  static constexpr size_t kMaxLayers = 256;

  explicit LayerProfiler(Clock& clock) : clock_(clock) {}

  uint32_t BeginEvent(const char* tag) override;
  void EndEvent(uint32_t event_handle) override;

  // Called with the operator's index right after it ran (its output is intact then): the
  // runner dumps layer outputs through it during a verification. nullptr: no hook.
  void set_end_hook(void (*hook)(void* context, size_t index), void* context) {
    end_hook_ = hook;
    end_context_ = context;
  }

  // Forget the events of the previous invoke.
  void clear() { count_ = 0; dropped_ = 0; }
  size_t count() const { return count_; }
  // Events past kMaxLayers in one invoke (not timed).
  size_t dropped() const { return dropped_; }
  LayerTiming layer(size_t index) const;

 private:
  static constexpr uint32_t kDroppedHandle = 0xFFFFFFFFu;

  Clock& clock_;
  const char* tags_[kMaxLayers] = {};
  uint32_t start_[kMaxLayers] = {};
  uint32_t end_[kMaxLayers] = {};
  size_t count_ = 0;
  size_t dropped_ = 0;
  void (*end_hook_)(void*, size_t) = nullptr;
  void* end_context_ = nullptr;

  TF_LITE_REMOVE_VIRTUAL_DELETE
};

}  // namespace tinyml
