// Shared by the TFLM adapters of the reference-exact kernels (kernels/tinyml_ref_ops.h):
// tinyml_{fully_connected,mean,mul}.cc. Written against the pinned Arduino library
// (tflite-micro-arduino-examples 7948b85, TFLM of Feb 2023: TfLiteRegistration with
// init/free/prepare/invoke, MicroContext for Prepare-time tensors).
#pragma once

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tinyml_ref_ops.h"

namespace tinyml {
namespace ref_adapter {

// A tensor's shape right-aligned into 4 dimensions (leading 1s), or false above 4-D.
inline bool dims4(const TfLiteEvalTensor* t, int32_t out[4]) {
  const int n = t->dims->size;
  if (n > 4) return false;
  for (int d = 0; d < 4; ++d) out[d] = d < 4 - n ? 1 : t->dims->data[d - (4 - n)];
  return true;
}

inline int64_t elements(const TfLiteEvalTensor* t) {
  int64_t n = 1;
  for (int d = 0; d < t->dims->size; ++d) n *= t->dims->data[d];
  return n;
}

// Runs `fn` with node->user_data set to the library kernel's own OpData: adapters that keep the
// library's Init/Prepare/Invoke for what they do not cover store that pointer in their own OpData.
template <typename Fn>
inline TfLiteStatus with_user_data(TfLiteNode* node, void* library_data, Fn fn) {
  void* ours = node->user_data;
  node->user_data = library_data;
  const TfLiteStatus status = fn();
  node->user_data = ours;
  return status;
}

}  // namespace ref_adapter
}  // namespace tinyml
