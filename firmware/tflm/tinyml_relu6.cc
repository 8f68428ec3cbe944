// TFLM RELU6 computing TFLite's reference arithmetic for a standalone int8 RELU6 (TF 2.21
// BUILTIN_REF, kernels/tinyml_ref_ops.h): the input requantized to the output's scale and zero
// point. The pinned library (micro/kernels/activations_common.cpp Relu6Prepare/Relu6Quantized)
// clamps the input byte with bounds quantized by the input's scale and ignores the output's; the
// converter gives a standalone RELU6 its own output range, so the two always differ there.
// RELU6 fused into a convolution is the convolution's clamp and never reaches this kernel.
//
// Arena: the library's Init and Prepare run as they are, plus, persistent, this adapter's
// Relu6Data (36 bytes on the Cortex-M4: 48 with the 16-byte alignment of persistent buffers).
//
// The pinned MicroMutableOpResolver::AddRelu6() takes no registration, so the generated resolver
// calls `r.AddRelu6()` and then `tinyml::UseReferenceRelu6(r)`, which replaces the registration
// the resolver holds.
#include "tensorflow/lite/micro/kernels/micro_ops.h"
#include "tensorflow/lite/micro/micro_context.h"
#include "tinyml_ref_ops_adapter.h"
#include "tinyml_ref_ops_registrations.h"

namespace tinyml {
namespace {

using ref_adapter::with_user_data;

TfLiteRegistration g_library_relu6;

struct Relu6Data {
  void* library_data;
  tinyml_relux_params params;
  bool ours;  // int8 in and out: the reference arithmetic; else the library's kernel
};

void* relu6_init(TfLiteContext* context, const char* buffer, size_t length) {
  void* library_data = g_library_relu6.init != nullptr ? g_library_relu6.init(context, buffer, length) : nullptr;
  auto* data = static_cast<Relu6Data*>(context->AllocatePersistentBuffer(context, sizeof(Relu6Data)));
  if (data == nullptr) return nullptr;
  data->library_data = library_data;
  data->ours = false;
  return data;
}

TfLiteStatus relu6_prepare(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<Relu6Data*>(node->user_data);
  TF_LITE_ENSURE_OK(context, with_user_data(node, data->library_data,
                                            [&] { return g_library_relu6.prepare(context, node); }));
  tflite::MicroContext* micro_context = tflite::GetMicroContext(context);
  TfLiteTensor* input = micro_context->AllocateTempInputTensor(node, 0);
  TfLiteTensor* output = micro_context->AllocateTempOutputTensor(node, 0);
  data->ours = input->type == kTfLiteInt8 && output->type == kTfLiteInt8;
  if (data->ours) {
    tinyml_relux_params& p = data->params;
    p.input_zp = input->params.zero_point;
    p.output_zp = output->params.zero_point;
    tinyml_relux_multiplier(input->params.scale, output->params.scale, &p.multiplier, &p.shift);
    tinyml_activation_range(3 /* kTfLiteActRelu6 */, output->params.scale, p.output_zp, &p.act_min,
                            &p.act_max);
    p.elements = 0;  // set per Invoke from the tensor
  }
  micro_context->DeallocateTempTfLiteTensor(input);
  micro_context->DeallocateTempTfLiteTensor(output);
  return kTfLiteOk;
}

TfLiteStatus relu6_invoke(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<Relu6Data*>(node->user_data);
  if (data->ours) {
    const TfLiteEvalTensor* input = tflite::micro::GetEvalInput(context, node, 0);
    TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, 0);
    tinyml_relux_params p = data->params;
    p.elements = static_cast<int32_t>(ref_adapter::elements(input));
    if (tinyml_relux_s8_covers(&p)) {
      tinyml_relux_s8(&p, tflite::micro::GetTensorData<int8_t>(input),
                      tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
  }
  return with_user_data(node, data->library_data, [&] { return g_library_relu6.invoke(context, node); });
}

}  // namespace

TfLiteStatus UseReferenceRelu6(tflite::MicroOpResolver& resolver) {
  const TfLiteRegistration* registered = resolver.FindOp(tflite::BuiltinOperator_RELU6);
  if (registered == nullptr) return kTfLiteError;
  g_library_relu6 = *registered;
  // The resolver keeps its registrations in a plain member array: this writes that entry.
  auto* entry = const_cast<TfLiteRegistration*>(registered);
  entry->init = relu6_init;
  entry->prepare = relu6_prepare;
  entry->invoke = relu6_invoke;
  return kTfLiteOk;
}

}  // namespace tinyml
