# The TFLM Arduino library (tensorflow/tflite-micro-arduino-examples) as one static library.
# Input: TFLM_SRC (its src/ folder), TFLM_KERNEL_OPT, TFLM_OTHER_OPT. Output: target `tflm`.
file(GLOB_RECURSE tflm_sources CONFIGURE_DEPENDS "${TFLM_SRC}/*.cpp" "${TFLM_SRC}/*.c")

# Arduino-only parts: board peripherals (they #error off the Nano), the serial test harness, and the
# platform files that include Arduino.h (tflm_platform.cc provides DebugLog and the time source).
# Audio front end and FFT are not needed by the benchmark.
list(FILTER tflm_sources EXCLUDE REGEX "^${TFLM_SRC}/(peripherals|test_over_serial)/")
list(FILTER tflm_sources EXCLUDE REGEX "/tensorflow/lite/micro/(system_setup|micro_time)\\.cpp$")
list(FILTER tflm_sources EXCLUDE REGEX "/tensorflow/lite/experimental/microfrontend/")
list(FILTER tflm_sources EXCLUDE REGEX "/third_party/kissfft/")

# CMSIS-NN kernels replace the reference kernels of the same file name.
file(GLOB cmsis_nn_kernels "${TFLM_SRC}/tensorflow/lite/micro/kernels/cmsis_nn/*.cpp")
foreach(kernel IN LISTS cmsis_nn_kernels)
  get_filename_component(name "${kernel}" NAME)
  list(REMOVE_ITEM tflm_sources "${TFLM_SRC}/tensorflow/lite/micro/kernels/${name}")
endforeach()

# Only the kernels the models' resolvers need, when the pipeline lists them (else all).
if(TFLM_KERNEL_SOURCES)
  include("${CMAKE_CURRENT_LIST_DIR}/tflm_kernel_selection.cmake")
endif()

set(tflm_kernel_sources ${tflm_sources})
list(FILTER tflm_kernel_sources INCLUDE REGEX
     "/(tensorflow/lite/micro/kernels|third_party/cmsis_nn)/")

add_library(tflm STATIC ${tflm_sources})
target_include_directories(tflm SYSTEM PUBLIC
  "${TFLM_SRC}"
  "${TFLM_SRC}/third_party/flatbuffers/include"
  "${TFLM_SRC}/third_party/gemmlowp"
  "${TFLM_SRC}/third_party/ruy")
# The library refuses other boards and switches CMSIS-NN on with ARDUINO; TF_LITE_MCU_DEBUG_LOG
# makes a TFLM abort print "HALTED" and spin (as on the board) instead of calling abort().
target_compile_definitions(tflm PUBLIC ARDUINO=10819 ARDUINO_ARDUINO_NANO33BLE TF_LITE_MCU_DEBUG_LOG)
target_compile_options(tflm PRIVATE ${TFLM_OTHER_OPT} -w
  $<$<COMPILE_LANGUAGE:CXX>:${TINYML_CXX_OPTIONS}>)
# Source options come after target options on the command line, so the kernels' level wins.
set_source_files_properties(${tflm_kernel_sources} TARGET_DIRECTORY tflm
  PROPERTIES COMPILE_OPTIONS "${TFLM_KERNEL_OPT}")
