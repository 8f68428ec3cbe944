#include "trace_marks.h"

// noinline and an empty asm keep each function a real, separate call target at every -O level.
#define TINYML_TRACE_MARK(name) \
  extern "C" __attribute__((noinline, used)) void name(void) { __asm volatile(""); }

TINYML_TRACE_MARK(tinyml_trace_invoke_begin)
TINYML_TRACE_MARK(tinyml_trace_invoke_end)
TINYML_TRACE_MARK(tinyml_trace_layer_begin)
TINYML_TRACE_MARK(tinyml_trace_layer_end)
