// The project's int8 convolution kernels (no TFLM types: the TFLM adapter is
// firmware/tflm/tinyml_{conv,depthwise}.cc). Arithmetic is TFLite's, bit for bit: per-channel
// MultiplyByQuantizedMultiplier (SaturatingRoundingDoublingHighMul then RoundingDivideByPOT),
// output zero point, activation clamp, and padded taps contributing nothing (SAME/VALID).
//
// Each kernel has a `covers` predicate. Outside it the caller uses another kernel (CMSIS-NN);
// pipeline/analysis/kernel_plan.py mirrors the predicates to say which layers used which kernels.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w;
  int32_t pad_h, pad_w;          // top and left padding (TFLM's TfLitePaddingValues width/height)
  int32_t input_offset;          // -input zero point
  int32_t output_offset;         // output zero point
  int32_t act_min, act_max;      // activation clamp, inside [-128, 127]
  const int32_t* multiplier;     // per output channel, TFLite's QuantizeMultiplier convention
  const int32_t* shift;          // per output channel: > 0 left, < 0 right
} tinyml_conv_params;

// Depthwise 3x3, channel multiplier 1 (in_c == out_c), strides 1 or 2, any padding, dilation 1.
int tinyml_dwconv3x3_s8_covers(const tinyml_conv_params* p, const int32_t* bias);
void tinyml_dwconv3x3_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                         const int32_t* bias, int8_t* output);

// Depthwise convolution of any kernel size (k_h <= 16, 2 <= k_w <= 15; k_h x 1 on a one-column
// map as 1 x k_h), column stride 1 or 2, any row stride, padding and channel multiplier
// (out_c = in_c * m), dilation 1: the layers tinyml_dwconv3x3_s8 does not take. Filter
// [k_h][k_w][out_c]. Refuses rows longer than its row pool (2,048 int16 over 2 k_h rows of one
// channel), multipliers whose filter constants overflow its stack buffer (352 words), and the
// shapes where CMSIS-NN is faster (one output column, under four output pixels, k_w of 1,
// column strides of 3 and more). Its buffers live on the stack: frames (GCC 12 -O2
// -fstack-usage) of 5,800 B (row pool and constants) + 216 B + 104 B, no arena scratch.
int tinyml_dwconv_s8_covers(const tinyml_conv_params* p, const int32_t* bias);
void tinyml_dwconv_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output);

// Convolution whose receptive field k_h*k_w*in_c is small (the first layer: 1-3 input channels),
// any kernel size, stride and padding, dilation 1. Filter layout [out_c][k_h][k_w][in_c].
int tinyml_conv_smallk_s8_covers(const tinyml_conv_params* p, const int32_t* bias);
void tinyml_conv_smallk_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                           const int32_t* bias, int8_t* output);

// Pointwise 1x1 convolution, stride 1, no padding, dilation 1, any channel counts (the unpacked
// weights of four output channels live on the stack, 256 input channels at a time). Filter
// [out_c][in_c]. `supports`: the layers it computes exactly; `covers`: those it also runs in fewer
// instructions than CMSIS-NN (a cost rule, see conv1x1_s8.c), the ones the adapter gives it.
// `route`: 1 covered, -1 a 1x1 layer the rule leaves to CMSIS-NN's 1x1 kernel (no other kernel
// of the project should take it), 0 not this kernel's (e.g. a left shift).
int tinyml_conv1x1_s8_supports(const tinyml_conv_params* p, const int32_t* bias);
int tinyml_conv1x1_s8_covers(const tinyml_conv_params* p, const int32_t* bias);
int tinyml_conv1x1_s8_route(const tinyml_conv_params* p, const int32_t* bias);
void tinyml_conv1x1_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output);

// Any other convolution (issue 21): KxK, 1xK / Kx1, strided 1x1, first layers beyond the small-k
// kernel; any stride and padding, dilation 1, any right shift and bias. Not a stride-1 unpadded
// 1x1: CMSIS-NN requests no scratch buffer for it. Filter [out_c][k_h][k_w][in_c]. `scratch`:
// TINYML_CONV_SCRATCH_BYTES(p), word-aligned: the buffer CMSIS-NN's conv Prepare requests for
// arm_convolve_s8 (2 * k_h * k_w * in_c int16), so the arena is unchanged. Its stack frame (GCC 12
// -O2 -fstack-usage): 2,296 B, channel constants and two int8 receptive fields.
int tinyml_conv_s8_covers(const tinyml_conv_params* p, const int32_t* bias);
void tinyml_conv_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                    const int32_t* bias, int8_t* output, void* scratch);
#define TINYML_CONV_SCRATCH_BYTES(p) (4 * (p)->k_h * (p)->k_w * (p)->in_c)

// Largest receptive field (k_h*k_w*in_c) and input channels tinyml_conv_smallk_s8 takes.
#define TINYML_SMALLK_MAX_TAPS 64
#define TINYML_SMALLK_MAX_IN_C 3

// Scratch bytes the kernels need in the tensor arena: none. Their buffers live on the stack, one
// path's at a time (frames from GCC 12 -O2 -fstack-usage): the depthwise rows' transposed input
// and channel constants 6,032 B, the small-k kernel's packed filter 4,632 B, the 1x1 kernel's
// unpacked weights of six channels for 256 input channels (or of four and the accumulators of 64
// pixels) 3,448 B, and 48 B its assembly pushes.
#define TINYML_KERNELS_SCRATCH_BYTES 0

#ifdef __cplusplus
}
#endif
