#include "layer_profiler.h"

#include "trace_marks.h"

namespace tinyml {

uint32_t LayerProfiler::BeginEvent(const char* tag) {
  tinyml_trace_layer_begin();
  if (count_ >= kMaxLayers) {
    ++dropped_;
    return kDroppedHandle;
  }
  const size_t index = count_++;
  tags_[index] = tag;
  end_[index] = start_[index] = clock_.ticks();
  return static_cast<uint32_t>(index);
}

void LayerProfiler::EndEvent(uint32_t event_handle) {
  const uint32_t now = clock_.ticks();
  if (event_handle < count_) end_[event_handle] = now;
  tinyml_trace_layer_end();
  // Event i is operator i of the subgraph (MicroGraph::InvokeSubgraph opens one per operator).
  if (end_hook_ != nullptr && event_handle != kDroppedHandle) end_hook_(end_context_, event_handle);
}

LayerTiming LayerProfiler::layer(size_t index) const {
  if (index >= count_) return LayerTiming{"", 0};
  // Unsigned difference stays right across one wrap of the 32-bit counter.
  return LayerTiming{tags_[index] ? tags_[index] : "UNKNOWN", end_[index] - start_[index]};
}

}  // namespace tinyml
