// TFLM registration of DEPTHWISE_CONV_2D with the project kernel (see tinyml_kernel_registrations.h).
// One file per op: a firmware links only the CMSIS-NN kernels its resolver registers.
#include "tensorflow/lite/micro/kernels/depthwise_conv.h"
#include "tinyml_kernel_adapter.h"
#include "tinyml_kernel_registrations.h"

namespace tinyml {
namespace {

using namespace adapter;  // NOLINT: the adapter helpers

// CMSIS-NN's registration, whose Invoke runs every layer the project kernel does not cover.
TfLiteRegistration g_cmsis_depthwise;

// Stack bytes for a transposed one-input-channel depthwise filter (kernel_plan.py mirrors it).
constexpr int32_t kMaxTransposedFilter = 1024;

TfLiteStatus depthwise_invoke(TfLiteContext* context, TfLiteNode* node) {
  const auto& params = *static_cast<const TfLiteDepthwiseConvParams*>(node->builtin_data);
  const TfLiteEvalTensor* input =
      tflite::micro::GetEvalInput(context, node, tflite::kDepthwiseConvInputTensor);
  const TfLiteEvalTensor* filter =
      tflite::micro::GetEvalInput(context, node, tflite::kDepthwiseConvWeightsTensor);
  const TfLiteEvalTensor* bias = optional_bias(context, node, tflite::kDepthwiseConvBiasTensor);
  TfLiteEvalTensor* output =
      tflite::micro::GetEvalOutput(context, node, tflite::kDepthwiseConvOutputTensor);
  if (int8_layer(input, filter, bias, output) && params.dilation_width_factor == 1 &&
      params.dilation_height_factor == 1 && filter->dims->data[0] == 1 &&
      filter->dims->data[3] == output->dims->data[3]) {
    tinyml_conv_params p;
    fill_params(&p, input, filter, output, conv_data(node), params.stride_height,
                params.stride_width);
    const int32_t* bias_data = tflite::micro::GetOptionalTensorData<int32_t>(bias);
    const int8_t* filter_data = tflite::micro::GetTensorData<int8_t>(filter);
    if (tinyml_dwconv3x3_s8_covers(&p, bias_data)) {
      tinyml_dwconv3x3_s8(&p, tflite::micro::GetTensorData<int8_t>(input), filter_data,
                          bias_data, tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
    // One input channel with a channel multiplier (how the converter writes the first layer of
    // a grayscale network, e.g. TFLM's person detection): a convolution with out_c filters, whose
    // [1][k_h][k_w][out_c] weights become the small-k kernel's [out_c][k_h][k_w][1] on the stack.
    const int32_t taps = p.k_h * p.k_w;
    if (p.in_c == 1 && taps * p.out_c <= kMaxTransposedFilter &&
        tinyml_conv_smallk_s8_covers(&p, bias_data)) {
      int8_t transposed[kMaxTransposedFilter];
      for (int32_t oc = 0; oc < p.out_c; ++oc) {
        for (int32_t t = 0; t < taps; ++t) transposed[oc * taps + t] = filter_data[t * p.out_c + oc];
      }
      tinyml_conv_smallk_s8(&p, tflite::micro::GetTensorData<int8_t>(input), transposed,
                            bias_data, tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
    // Every other kernel size, stride and channel multiplier.
    if (tinyml_dwconv_s8_covers(&p, bias_data)) {
      tinyml_dwconv_s8(&p, tflite::micro::GetTensorData<int8_t>(input), filter_data, bias_data,
                       tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
  }
  return g_cmsis_depthwise.invoke(context, node);
}

}  // namespace

TfLiteRegistration Register_DEPTHWISE_CONV_2D() {
  return adapter::with_invoke(tflite::Register_DEPTHWISE_CONV_2D(), &g_cmsis_depthwise,
                              depthwise_invoke);
}

}  // namespace tinyml
