// TFLM MEAN computing TFLite's reference arithmetic (TF 2.21 BUILTIN_REF: reference/reduce.h
// QuantizedMeanOrSum for every int8 MEAN, kernels/tinyml_ref_ops.h). The pinned library instead
// truncates sum / n when the input and output share scale and zero point and otherwise rescales
// in float (micro/kernels/reduce_common.cpp EvalIntegerMean).
//
// Only Invoke changes: the library's Init and Prepare run as they are, and its OpDataReduce
// (micro/kernels/reduce.h) already holds what the kernel needs: multiplier and shift of
// QuantizeMultiplier((double)s_in / (double)s_out) (the same as TFLite's PrepareMeanOrSum),
// input and output zero points. Arena: unchanged (the library's Prepare still asks for its int32
// scratch of one word per output, which this kernel does not use: a Prepare of our own would save
// 4 * output elements of head).
//
// The pinned MicroMutableOpResolver::AddMean() takes no registration, so the generated resolver
// calls `r.AddMean()` and then `tinyml::UseReferenceMean(r)`, which swaps the invoke function of
// the registration the resolver holds.
#include "tensorflow/lite/micro/kernels/reduce.h"
#include "tinyml_ref_ops_adapter.h"
#include "tinyml_ref_ops_registrations.h"

namespace tinyml {
namespace {

TfLiteRegistration g_library_mean;

TfLiteStatus mean_invoke(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteEvalTensor* input = tflite::micro::GetEvalInput(context, node, 0);
  const TfLiteEvalTensor* axis = tflite::micro::GetEvalInput(context, node, 1);
  TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, 0);
  const auto* op_data = static_cast<const tflite::OpDataReduce*>(node->user_data);
  tinyml_mean_params p;
  if (input->type == kTfLiteInt8 && output->type == kTfLiteInt8 && axis->type == kTfLiteInt32 &&
      ref_adapter::dims4(input, p.dims)) {
    const int rank = input->dims->size;
    const int32_t* axes = tflite::micro::GetTensorData<int32_t>(axis);
    const int64_t count = ref_adapter::elements(axis);
    p.axis_mask = 0;
    bool valid = true;
    for (int64_t i = 0; i < count; ++i) {
      const int32_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
      if (a < 0 || a >= rank) valid = false;
      else p.axis_mask |= 1u << (a + 4 - rank);
    }
    p.input_zp = op_data->input_zp;
    p.output_zp = op_data->output_zp;
    p.multiplier = op_data->multiplier;
    p.shift = op_data->shift;
    if (valid && tinyml_mean_s8_covers(&p)) {
      tinyml_mean_s8(&p, tflite::micro::GetTensorData<int8_t>(input),
                     tflite::micro::GetTensorData<int8_t>(output));
      return kTfLiteOk;
    }
  }
  return g_library_mean.invoke(context, node);
}

}  // namespace

TfLiteRegistration Register_MEAN() {
  g_library_mean = tflite::Register_MEAN();
  TfLiteRegistration r = g_library_mean;
  r.invoke = mean_invoke;
  return r;
}

TfLiteStatus UseReferenceMean(tflite::MicroOpResolver& resolver) {
  const TfLiteRegistration* registered = resolver.FindOp(tflite::BuiltinOperator_MEAN);
  if (registered == nullptr) return kTfLiteError;
  g_library_mean = *registered;
  // The resolver keeps its registrations in a plain member array: this writes that entry.
  const_cast<TfLiteRegistration*>(registered)->invoke = mean_invoke;
  return kTfLiteOk;
}

}  // namespace tinyml
