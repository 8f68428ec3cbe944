// The source of tinyml_tflm_pch, the target that precompiles tflm_precompiled.h (CMakeLists.txt).
