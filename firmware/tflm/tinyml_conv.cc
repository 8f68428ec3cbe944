// TFLM registration of CONV_2D with the project kernel (see tinyml_kernel_registrations.h).
// One file per op: a firmware links only the CMSIS-NN kernels its resolver registers.
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tinyml_kernel_adapter.h"
#include "tinyml_kernel_registrations.h"

namespace tinyml {
namespace {

using namespace adapter;  // NOLINT: the adapter helpers

// CMSIS-NN's registration, whose Invoke runs every layer the project kernel does not cover.
TfLiteRegistration g_cmsis_conv;

TfLiteStatus conv_invoke(TfLiteContext* context, TfLiteNode* node) {
  const auto& params = *static_cast<const TfLiteConvParams*>(node->builtin_data);
  const TfLiteEvalTensor* input =
      tflite::micro::GetEvalInput(context, node, tflite::kConvInputTensor);
  const TfLiteEvalTensor* filter =
      tflite::micro::GetEvalInput(context, node, tflite::kConvWeightsTensor);
  const TfLiteEvalTensor* bias = optional_bias(context, node, tflite::kConvBiasTensor);
  TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, tflite::kConvOutputTensor);
  if (int8_layer(input, filter, bias, output) && params.dilation_width_factor == 1 &&
      params.dilation_height_factor == 1 && filter->dims->data[3] == input->dims->data[3]) {
    tinyml_conv_params p;
    fill_params(&p, input, filter, output, conv_data(node), params.stride_height,
                params.stride_width);
    const int32_t* bias_data = tflite::micro::GetOptionalTensorData<int32_t>(bias);
    const int pointwise = tinyml_conv1x1_s8_route(&p, bias_data);
    if (pointwise > 0) {
      tinyml_conv1x1_s8(&p, tflite::micro::GetTensorData<int8_t>(input),
                        tflite::micro::GetTensorData<int8_t>(filter), bias_data,
                        tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
    // A 1x1 layer CMSIS-NN's 1x1 kernel runs in fewer instructions (the cost rule).
    if (pointwise < 0) return g_cmsis_conv.invoke(context, node);
    if (tinyml_conv_smallk_s8_covers(&p, bias_data)) {
      tinyml_conv_smallk_s8(&p, tflite::micro::GetTensorData<int8_t>(input),
                            tflite::micro::GetTensorData<int8_t>(filter), bias_data,
                            tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
    // The other convolutions, in the scratch buffer CMSIS-NN's Prepare requested for this layer
    // (2 * k_h * k_w * in_c int16; word-aligned for LDRD).
    void* scratch = cmsis_conv_scratch(context, node);
    if (scratch != nullptr && (reinterpret_cast<uintptr_t>(scratch) & 3u) == 0 &&
        tinyml_conv_s8_covers(&p, bias_data)) {
      tinyml_conv_s8(&p, tflite::micro::GetTensorData<int8_t>(input),
                     tflite::micro::GetTensorData<int8_t>(filter), bias_data,
                     tflite::micro::GetTensorData<int8_t>(output), scratch);
      return kTfLiteOk;
    }
  }
  return g_cmsis_conv.invoke(context, node);
}

}  // namespace

TfLiteRegistration Register_CONV_2D() {
  return adapter::with_invoke(tflite::Register_CONV_2D(), &g_cmsis_conv, conv_invoke);
}

}  // namespace tinyml
