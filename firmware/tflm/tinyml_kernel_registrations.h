// TFLM kernel registrations of the project's int8 kernels (firmware/kernels): CONV_2D and
// DEPTHWISE_CONV_2D that run the project kernel on every layer whose shape and quantization it
// covers, and CMSIS-NN's kernel on the others, layer by layer. Init and Prepare are CMSIS-NN's,
// so the arena is the same with either kernel set. The generated model_ops.h registers these
// when the firmware is generated with `--kernels tinyml`.
#pragma once

#include "tensorflow/lite/c/common.h"

namespace tinyml {

TfLiteRegistration Register_CONV_2D();
TfLiteRegistration Register_DEPTHWISE_CONV_2D();

}  // namespace tinyml
