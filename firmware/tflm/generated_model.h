// What the generated model sources (model_data.h from `tinyml firmware`) promise about the input,
// as the TFLM runner checks it, and the tensor arena they ask for. Shared by every board port.
#pragma once

#include "model_data.h"
#include "tflm_runner.h"

namespace tinyml {

constexpr int kGeneratedInputShape[] = TINYML_INPUT_SHAPE;
static_assert(sizeof kGeneratedInputShape / sizeof kGeneratedInputShape[0] == TINYML_INPUT_DIMS,
              "TINYML_INPUT_SHAPE and TINYML_INPUT_DIMS disagree");
static_assert(TINYML_INPUT_DIMS <= InputExpectation::kMaxRank, "input rank too large");

inline InputExpectation generated_input_expectation() {
  InputExpectation input{};
  input.type = TINYML_INPUT_TYPE_INT8 ? kTfLiteInt8 : kTfLiteFloat32;
  input.rank = TINYML_INPUT_DIMS;
  for (int i = 0; i < TINYML_INPUT_DIMS; ++i) input.dims[i] = kGeneratedInputShape[i];
  return input;
}

}  // namespace tinyml
