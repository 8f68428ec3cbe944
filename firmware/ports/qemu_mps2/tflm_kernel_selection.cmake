# Lean TFLM build: of tensorflow/lite/micro/kernels/ only the sources in TFLM_KERNEL_SOURCES (paths
# relative to TFLM_SRC), which pipeline/emulator/kernel_sources.py derives from the models' generated
# model_ops.h: the kernels their resolvers register, their *_common.cpp and kernel_util.cpp.
# Also left out: the all-ops resolver (it references every kernel; the generated resolver replaces
# it) and TFLM's own test doubles. Input/output: the list `tflm_sources` of tflm_library.cmake.
set(tflm_kept_kernels "")
foreach(relative IN LISTS TFLM_KERNEL_SOURCES)
  list(APPEND tflm_kept_kernels "${TFLM_SRC}/${relative}")
endforeach()
set(tflm_all_kernels ${tflm_sources})
list(FILTER tflm_all_kernels INCLUDE REGEX "/tensorflow/lite/micro/kernels/")
foreach(kernel IN LISTS tflm_all_kernels)
  if(NOT kernel IN_LIST tflm_kept_kernels)
    list(REMOVE_ITEM tflm_sources "${kernel}")
  endif()
endforeach()
list(FILTER tflm_sources EXCLUDE REGEX
     "/tensorflow/lite/micro/(all_ops_resolver|test_helpers|test_helper_custom_ops|mock_micro_graph|fake_micro_context)\\.cpp$")
list(LENGTH tflm_sources tflm_source_count)
message(STATUS "TFLM: ${tflm_source_count} sources (kernels for the models' ops only)")
