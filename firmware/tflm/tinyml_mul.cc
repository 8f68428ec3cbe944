// TFLM MUL computing TFLite's reference arithmetic (TF 2.21 BUILTIN_REF, kernels/tinyml_ref_ops.h).
// The pinned library's element arithmetic is TFLite's already (CMSIS-NN arm_elementwise_mul_s8 and
// the reference BroadcastMul4DSlow requantize like MultiplyByQuantizedMultiplier); only its
// multiplier differs: mul_common.cpp computes s1 * s2 / s_out in double, TFLite's mul.cc in float.
// Prepare recomputes it TFLite's way into the library's own OpDataMul; broadcasting int8 MULs run
// the project kernel (strided loops instead of the reference's index arithmetic per element),
// the others the library's kernel with the corrected multiplier.
//
// Arena: unchanged (the library's Init allocates OpDataMul; nothing else).
#include "tensorflow/lite/kernels/internal/reference/process_broadcast_shapes.h"
#include "tensorflow/lite/micro/kernels/mul.h"
#include "tensorflow/lite/micro/micro_context.h"
#include "tinyml_ref_ops_adapter.h"
#include "tinyml_ref_ops_registrations.h"

namespace tinyml {
namespace {

TfLiteRegistration g_library_mul;

TfLiteStatus mul_prepare(TfLiteContext* context, TfLiteNode* node) {
  TF_LITE_ENSURE_OK(context, g_library_mul.prepare(context, node));
  auto* data = static_cast<tflite::OpDataMul*>(node->user_data);
  tflite::MicroContext* micro_context = tflite::GetMicroContext(context);
  TfLiteTensor* input1 = micro_context->AllocateTempInputTensor(node, tflite::kMulInput1Tensor);
  TfLiteTensor* input2 = micro_context->AllocateTempInputTensor(node, tflite::kMulInput2Tensor);
  TfLiteTensor* output = micro_context->AllocateTempOutputTensor(node, tflite::kMulOutputTensor);
  if (output->type == kTfLiteInt8) {
    int32_t multiplier, shift;
    tinyml_mul_multiplier(input1->params.scale, input2->params.scale, output->params.scale,
                          &multiplier, &shift);
    data->output_multiplier = multiplier;
    data->output_shift = shift;
  }
  micro_context->DeallocateTempTfLiteTensor(input1);
  micro_context->DeallocateTempTfLiteTensor(input2);
  micro_context->DeallocateTempTfLiteTensor(output);
  return kTfLiteOk;
}

TfLiteStatus mul_invoke(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteEvalTensor* input1 =
      tflite::micro::GetEvalInput(context, node, tflite::kMulInput1Tensor);
  const TfLiteEvalTensor* input2 =
      tflite::micro::GetEvalInput(context, node, tflite::kMulInput2Tensor);
  TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, tflite::kMulOutputTensor);
  const auto* data = static_cast<const tflite::OpDataMul*>(node->user_data);
  tinyml_mul_params p;
  if (input1->type == kTfLiteInt8 && input2->type == kTfLiteInt8 && output->type == kTfLiteInt8 &&
      ref_adapter::dims4(input1, p.in1_dims) && ref_adapter::dims4(input2, p.in2_dims) &&
      ref_adapter::dims4(output, p.out_dims)) {
    bool broadcast = false;
    for (int d = 0; d < 4; ++d) broadcast |= p.in1_dims[d] != p.in2_dims[d];
    p.input1_offset = -data->input1_zero_point;
    p.input2_offset = -data->input2_zero_point;
    p.output_offset = data->output_zero_point;
    p.multiplier = data->output_multiplier;
    p.shift = data->output_shift;
    p.act_min = data->output_activation_min;
    p.act_max = data->output_activation_max;
    if (broadcast && tinyml_mul_s8_covers(&p)) {
      tinyml_mul_s8(&p, tflite::micro::GetTensorData<int8_t>(input1),
                    tflite::micro::GetTensorData<int8_t>(input2),
                    tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
  }
  return g_library_mul.invoke(context, node);
}

}  // namespace

TfLiteRegistration Register_MUL() {
  g_library_mul = tflite::Register_MUL();
  TfLiteRegistration r = g_library_mul;
  r.prepare = mul_prepare;
  r.invoke = mul_invoke;
  return r;
}

}  // namespace tinyml
