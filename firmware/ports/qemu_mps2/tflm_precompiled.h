// Precompiled once per build tree and reused by every model's firmware (CMakeLists.txt): the TFLM
// headers that generated_model.h and tflm_check_main.cc include, most of a model's compile time.
#pragma once

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tflm_runner.h"
