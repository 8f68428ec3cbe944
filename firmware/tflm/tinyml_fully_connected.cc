// TFLM registration of FULLY_CONNECTED computing TFLite's reference arithmetic (TF 2.21
// BUILTIN_REF, kernels/tinyml_ref_ops.h): per-channel weight scales honoured (the pinned CMSIS-NN
// kernel uses channel 0's multiplier for every output), requantization in double as the
// reference does. Everything but int8 runs the library's (CMSIS-NN) kernel.
//
// Arena: the library's Init and Prepare run unchanged (its OpData, its scratch request, its
// per-channel buffers of the 1x1-convolution path), plus, persistent, this adapter's FcData
// (3 words: 16 bytes with the 16-byte alignment of AllocatePersistentBuffer) and, for an int8
// layer, one double per output: 8 * N bytes for N outputs (per-channel or per-tensor: the buffer
// is taken before the scales are read, see fc_prepare), each rounded up to 16. Nothing in the head.
#include "tensorflow/lite/kernels/internal/types.h"
#include "tensorflow/lite/kernels/kernel_util.h"
#include "tensorflow/lite/micro/kernels/fully_connected.h"
#include "tensorflow/lite/micro/micro_context.h"
#include "tinyml_ref_ops_adapter.h"
#include "tinyml_ref_ops_registrations.h"

namespace tinyml {
namespace {

using ref_adapter::with_user_data;

TfLiteRegistration g_library_fc;

struct FcData {
  void* library_data;    // the CMSIS-NN kernel's OpData; starts with tflite::OpDataFullyConnected
  double* scale;         // (double)s_in * s_w[c] / s_out per weight scale; null: not int8
  int32_t scale_count;   // N (per-channel) or 1
};

void* fc_init(TfLiteContext* context, const char* buffer, size_t length) {
  void* library_data = g_library_fc.init(context, buffer, length);
  auto* data = static_cast<FcData*>(context->AllocatePersistentBuffer(context, sizeof(FcData)));
  if (data == nullptr) return nullptr;
  data->library_data = library_data;
  data->scale = nullptr;
  data->scale_count = 0;
  return data;
}

TfLiteStatus fc_prepare(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<FcData*>(node->user_data);
  // The scale buffer first, while no temp tensor is live: the pinned allocator checks a persistent
  // allocation against the arena head only, so one made later can land on the temp tensors of
  // this Prepare (their TfLiteTensor structs and per-channel quantization) and corrupt them. The
  // eval tensors give types and sizes without temp allocation; the weight scales' count is not
  // known yet, so the buffer holds one double per output (a per-tensor filter uses the first).
  const TfLiteEvalTensor* input_eval =
      tflite::micro::GetEvalInput(context, node, tflite::kFullyConnectedInputTensor);
  const TfLiteEvalTensor* filter_eval =
      tflite::micro::GetEvalInput(context, node, tflite::kFullyConnectedWeightsTensor);
  const TfLiteEvalTensor* output_eval =
      tflite::micro::GetEvalOutput(context, node, tflite::kFullyConnectedOutputTensor);
  const bool int8 = input_eval != nullptr && filter_eval != nullptr && output_eval != nullptr &&
                    input_eval->type == kTfLiteInt8 && filter_eval->type == kTfLiteInt8 &&
                    output_eval->type == kTfLiteInt8 && filter_eval->dims->size == 2;
  const int out_c = int8 ? filter_eval->dims->data[0] : 0;
  double* scale = nullptr;
  if (int8) {
    scale = static_cast<double*>(context->AllocatePersistentBuffer(context, sizeof(double) * out_c));
    if (scale == nullptr) return kTfLiteError;
  }
  TF_LITE_ENSURE_OK(context, with_user_data(node, data->library_data, [&] {
                      return g_library_fc.prepare(context, node);
                    }));
  if (!int8) return kTfLiteOk;
  tflite::MicroContext* micro_context = tflite::GetMicroContext(context);
  TfLiteTensor* input =
      micro_context->AllocateTempInputTensor(node, tflite::kFullyConnectedInputTensor);
  TfLiteTensor* filter =
      micro_context->AllocateTempInputTensor(node, tflite::kFullyConnectedWeightsTensor);
  TfLiteTensor* output =
      micro_context->AllocateTempOutputTensor(node, tflite::kFullyConnectedOutputTensor);
  if (filter->quantization.type == kTfLiteAffineQuantization && filter->quantization.params != nullptr) {
    const auto* q = static_cast<const TfLiteAffineQuantization*>(filter->quantization.params);
    const int count = q->scale->size;
    if (count == 1 || count == out_c) {
      for (int c = 0; c < count; ++c) {
        scale[c] = tinyml_fc_scale(input->params.scale, q->scale->data[c], output->params.scale);
      }
      data->scale = scale;
      data->scale_count = count;
    }
  }
  micro_context->DeallocateTempTfLiteTensor(input);
  micro_context->DeallocateTempTfLiteTensor(filter);
  micro_context->DeallocateTempTfLiteTensor(output);
  return kTfLiteOk;
}

TfLiteStatus fc_invoke(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<FcData*>(node->user_data);
  const TfLiteEvalTensor* input =
      tflite::micro::GetEvalInput(context, node, tflite::kFullyConnectedInputTensor);
  const TfLiteEvalTensor* filter =
      tflite::micro::GetEvalInput(context, node, tflite::kFullyConnectedWeightsTensor);
  const TfLiteEvalTensor* bias =
      node->inputs->size > tflite::kFullyConnectedBiasTensor
          ? tflite::micro::GetEvalInput(context, node, tflite::kFullyConnectedBiasTensor)
          : nullptr;
  TfLiteEvalTensor* output =
      tflite::micro::GetEvalOutput(context, node, tflite::kFullyConnectedOutputTensor);
  if (data->scale != nullptr && input->type == kTfLiteInt8 && filter->type == kTfLiteInt8 &&
      (bias == nullptr || bias->type == kTfLiteInt32) && filter->dims->size == 2) {
    const auto& ref = *static_cast<const tflite::OpDataFullyConnected*>(data->library_data);
    const tflite::RuntimeShape out_shape = tflite::micro::GetTensorShape(output);
    const int out_dims = out_shape.DimensionsCount();
    tinyml_fc_params p;
    p.batches = tflite::FlatSizeSkipDim(out_shape, out_dims - 1);
    p.accum_depth = filter->dims->data[1];
    p.out_c = filter->dims->data[0];
    p.input_offset = -ref.input_zero_point;
    p.output_offset = ref.output_zero_point;
    p.act_min = ref.output_activation_min;
    p.act_max = ref.output_activation_max;
    p.quant_channels = data->scale_count;
    p.scale = data->scale;
    p.multiplier = nullptr;
    p.shift = nullptr;
    if (out_shape.Dims(out_dims - 1) == p.out_c && tinyml_fc_s8_covers(&p)) {
      tinyml_fc_s8(&p, tflite::micro::GetTensorData<int8_t>(input),
                   tflite::micro::GetTensorData<int8_t>(filter),
                   tflite::micro::GetOptionalTensorData<int32_t>(bias),
                   tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
  }
  return with_user_data(node, data->library_data,
                        [&] { return g_library_fc.invoke(context, node); });
}

}  // namespace

TfLiteRegistration Register_FULLY_CONNECTED() {
  g_library_fc = tflite::Register_FULLY_CONNECTED();
  TfLiteRegistration r = g_library_fc;
  r.init = fc_init;
  r.prepare = fc_prepare;
  r.invoke = fc_invoke;
  return r;
}

}  // namespace tinyml
