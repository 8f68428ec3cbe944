// TFLM registrations that make FULLY_CONNECTED, MEAN, MUL and RELU6 compute what TFLite's
// reference kernels compute (TF 2.21 BUILTIN_REF), bit for bit, on int8 (kernels/tinyml_ref_ops.h);
// every other type runs the library's kernel. Registered with both kernel sets (the pinned
// library computes these differently); in the generated model_ops.h:
//   r.AddFullyConnected(tinyml::Register_FULLY_CONNECTED());
//   r.AddMul(tinyml::Register_MUL());
//   r.AddMean(); tinyml::UseReferenceMean(r);    // AddMean() and AddRelu6() of the pinned library
//   r.AddRelu6(); tinyml::UseReferenceRelu6(r);  // take no registration
#pragma once

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_op_resolver.h"

namespace tinyml {

TfLiteRegistration Register_FULLY_CONNECTED();
TfLiteRegistration Register_MUL();
TfLiteRegistration Register_MEAN();
TfLiteStatus UseReferenceMean(tflite::MicroOpResolver& resolver);
TfLiteStatus UseReferenceRelu6(tflite::MicroOpResolver& resolver);

}  // namespace tinyml
