// Runs the kernel test vectors of the generated "kernel_vectors.h" (tests/kernel_vectors.py): for
// every case, the kernel's `covers` verdict and, when covered, every output byte against the numpy
// reference. Shared by the host driver (portable C path) and the QEMU one (DSP path).
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "tinyml_kernels.h"

enum { TK_DEPTHWISE = 0, TK_SMALLK = 1, TK_POINTWISE = 2, TK_DEPTHWISE_ANY = 10 };
enum { TK_CONV_ANY = 20 };  // tinyml_conv_s8

typedef struct {
  int kind;
  tinyml_conv_params p;
  const int8_t* input;
  const int8_t* filter;
  const int32_t* bias;
  const int8_t* expected;
  int32_t output_size;
  int covered;  // what the predicate must answer
  int32_t macs;
  int supported;  // the kernel computes it (1x1: also where the cost rule prefers CMSIS-NN)
} tk_case;

#include "kernel_vectors.h"  // kCases, kCaseCount, kOutputMax

typedef void (*tk_print_fn)(const char* line);
typedef uint32_t (*tk_ticks_fn)(void);

// Returns the number of failed cases; prints one line per case and a final DONE line.
static int tk_run_cases(tk_print_fn print, tk_ticks_fn ticks) {
  static int8_t output[kOutputMax];
  static uint32_t conv_scratch[kConvScratchMax / 4 + 4];
  char line[160];
  int failures = 0;
  for (int i = 0; i < kCaseCount; ++i) {
    const tk_case* c = &kCases[i];
    const int covered = c->kind == TK_DEPTHWISE       ? tinyml_dwconv3x3_s8_covers(&c->p, c->bias)
                        : c->kind == TK_DEPTHWISE_ANY ? tinyml_dwconv_s8_covers(&c->p, c->bias)
                        : c->kind == TK_POINTWISE     ? tinyml_conv1x1_s8_covers(&c->p, c->bias)
                        : c->kind == TK_CONV_ANY      ? tinyml_conv_s8_covers(&c->p, c->bias)
                                                      : tinyml_conv_smallk_s8_covers(&c->p, c->bias);
    if (covered != c->covered) {
      snprintf(line, sizeof line, "CASE %d FAIL covers=%d want %d", i, covered, c->covered);
      print(line);
      ++failures;
      continue;
    }
    const int run = c->kind == TK_POINTWISE ? tinyml_conv1x1_s8_supports(&c->p, c->bias) : covered;
    if (run != c->supported) {
      snprintf(line, sizeof line, "CASE %d FAIL supports=%d want %d", i, run, c->supported);
      print(line);
      ++failures;
      continue;
    }
    if (!run) {
      snprintf(line, sizeof line, "CASE %d ok not-covered", i);
      print(line);
      continue;
    }
    for (int32_t j = 0; j < c->output_size; ++j) output[j] = (int8_t)0x55;
    // tinyml_conv_s8's scratch, with a guard after it: the kernel must stay inside the size
    // CMSIS-NN's Prepare requests.
    for (int32_t j = 0; j < kConvScratchMax / 4 + 4; ++j) conv_scratch[j] = 0xA5A5A5A5u;
    const uint32_t start = ticks();
    if (c->kind == TK_DEPTHWISE) {
      tinyml_dwconv3x3_s8(&c->p, c->input, c->filter, c->bias, output);
    } else if (c->kind == TK_DEPTHWISE_ANY) {
      tinyml_dwconv_s8(&c->p, c->input, c->filter, c->bias, output);
    } else if (c->kind == TK_POINTWISE) {
      tinyml_conv1x1_s8(&c->p, c->input, c->filter, c->bias, output);
    } else if (c->kind == TK_CONV_ANY) {
      tinyml_conv_s8(&c->p, c->input, c->filter, c->bias, output, conv_scratch);
    } else {
      tinyml_conv_smallk_s8(&c->p, c->input, c->filter, c->bias, output);
    }
    const uint32_t spent = ticks() - start;
    int32_t bad = -1;
    int scratch_overrun = 0;
    if (c->kind == TK_CONV_ANY) {
      for (int32_t j = TINYML_CONV_SCRATCH_BYTES(&c->p) / 4; j < kConvScratchMax / 4 + 4; ++j) {
        if (conv_scratch[j] != 0xA5A5A5A5u) scratch_overrun = 1;
      }
    }
    if (scratch_overrun) {
      snprintf(line, sizeof line, "CASE %d FAIL wrote past its scratch", i);
      print(line);
      ++failures;
      continue;
    }
    for (int32_t j = 0; j < c->output_size; ++j) {
      if (output[j] != c->expected[j]) {
        bad = j;
        break;
      }
    }
    if (bad >= 0) {
      snprintf(line, sizeof line, "CASE %d FAIL at %ld got %d want %d", i, (long)bad,
               output[bad], c->expected[bad]);
      ++failures;
    } else {
      snprintf(line, sizeof line, "CASE %d ok ticks=%lu macs=%ld", i, (unsigned long)spent,
               (long)c->macs);
    }
    print(line);
  }
  snprintf(line, sizeof line, "DONE failures=%d cases=%d", failures, kCaseCount);
  print(line);
  return failures;
}
