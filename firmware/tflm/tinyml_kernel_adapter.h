// Shared by the TFLM adapters of the project kernels (tinyml_conv.cc, tinyml_depthwise.cc): the
// layer's tensors and TFLM's prepared quantization data as tinyml_conv_params.
#pragma once

#include "tensorflow/lite/c/builtin_op_data.h"
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tinyml_kernels.h"

namespace tinyml {
namespace adapter {


// The CMSIS-NN adapters' OpData (kernels/cmsis_nn/{conv,depthwise_conv}.cpp of the pinned
// library) starts with the reference OpDataConv: padding, zero points, per-channel multipliers
// and shifts and the activation range, all computed by TFLM's own Prepare.
inline const tflite::OpDataConv& conv_data(const TfLiteNode* node) {
  return *static_cast<const tflite::OpDataConv*>(node->user_data);
}

// kernels/cmsis_nn/conv.cpp's OpData (pinned library): the reference OpDataConv, then the index of
// the scratch buffer its Prepare requests for arm_convolve_s8 (-1: none, e.g. a stride-1 1x1).
struct CmsisConvOpData {
  tflite::OpDataConv reference_op_data;
  int buffer_idx;
};

// That scratch buffer (arm_convolve_wrapper_s8_get_buffer_size bytes), or nullptr.
inline void* cmsis_conv_scratch(TfLiteContext* context, const TfLiteNode* node) {
  const int index = static_cast<const CmsisConvOpData*>(node->user_data)->buffer_idx;
  return index < 0 ? nullptr : context->GetScratchBuffer(context, index);
}

inline bool int8_layer(const TfLiteEvalTensor* input, const TfLiteEvalTensor* filter,
                const TfLiteEvalTensor* bias, const TfLiteEvalTensor* output) {
  return input->type == kTfLiteInt8 && filter->type == kTfLiteInt8 &&
         output->type == kTfLiteInt8 && (bias == nullptr || bias->type == kTfLiteInt32) &&
         input->dims->size == 4 && filter->dims->size == 4 && output->dims->size == 4 &&
         input->dims->data[0] == 1 && output->dims->data[0] == 1;
}

inline void fill_params(tinyml_conv_params* p, const TfLiteEvalTensor* input,
                 const TfLiteEvalTensor* filter, const TfLiteEvalTensor* output,
                 const tflite::OpDataConv& data, int stride_h, int stride_w) {
  p->in_h = input->dims->data[1];
  p->in_w = input->dims->data[2];
  p->in_c = input->dims->data[3];
  p->out_h = output->dims->data[1];
  p->out_w = output->dims->data[2];
  p->out_c = output->dims->data[3];
  p->k_h = filter->dims->data[1];
  p->k_w = filter->dims->data[2];
  p->stride_h = stride_h;
  p->stride_w = stride_w;
  p->pad_h = data.padding.height;
  p->pad_w = data.padding.width;
  p->input_offset = -data.input_zero_point;
  p->output_offset = data.output_zero_point;
  p->act_min = data.output_activation_min;
  p->act_max = data.output_activation_max;
  p->multiplier = data.per_channel_output_multiplier;
  p->shift = data.per_channel_output_shift;
}

// CMSIS-NN's registration `cmsis` with `invoke` in front: its Init and Prepare run unchanged (so
// the arena holds exactly what it holds with CMSIS-NN); *kept holds it for the layers the project
// kernel does not cover.
inline TfLiteRegistration with_invoke(TfLiteRegistration cmsis, TfLiteRegistration* kept,
                                      TfLiteStatus (*invoke)(TfLiteContext*, TfLiteNode*)) {
  *kept = cmsis;
  cmsis.invoke = invoke;
  return cmsis;
}

inline const TfLiteEvalTensor* optional_bias(TfLiteContext* context, TfLiteNode* node, int index) {
  return node->inputs->size > index ? tflite::micro::GetEvalInput(context, node, index) : nullptr;
}

}  // namespace adapter
}  // namespace tinyml
