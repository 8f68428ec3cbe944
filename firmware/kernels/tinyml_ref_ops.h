// int8 FULLY_CONNECTED, MEAN, MUL and RELU6 computing exactly what TensorFlow Lite's builtin
// reference kernels compute (TF 2.21, tf.lite.Interpreter with OpResolverType.BUILTIN_REF), bit
// for bit (tests/test_ref_ops.py compares them byte by byte). Plain C99, no TFLM types (the TFLM
// adapters are firmware/tflm/tinyml_{fully_connected,mean,mul,relu6}.cc).
//
// Where TFLite's reference arithmetic is (tensorflow/lite/kernels/ at TF 2.21):
// - FULLY_CONNECTED (kernels/fully_connected.cc FullyConnectedInt8 / FullyConnectedPerChannelInt8,
//   kReference -> reference/integer_ops/fully_connected.h, the overloads taking float scales):
//     acc = sum_k w[n][k] * (x[b][k] - zp_in) + bias[n]                      (int32)
//     out = clamp((int32)round((double)acc * scale[n]) + zp_out, act_min, act_max)
//   scale[n] = (double)s_in * (double)s_w[n] / (double)s_out (left to right; round = half away
//   from zero). Per-tensor and per-channel filters take the same path. TFLite's optimized kernel
//   and TFLM use MultiplyByQuantizedMultiplier with QuantizeMultiplier(scale[n]) instead, which
//   differs in rare ties: `multiplier`/`shift` select that integer form.
// - MEAN (kernels/reduce.cc EvalMean -> EvalQuantizedMean -> reference/reduce.h
//   QuantizedMeanOrSum, for every axis set, keep_dims either way, equal scales or not):
//     (M, s) = QuantizeMultiplier((double)s_in / (double)s_out); n = elements reduced per output
//     k = min(floor(log2 n), 32, 31 + s); M' = (int32)(((int64)M << k) / n); s' = s - k
//     out = clamp(MultiplyByQuantizedMultiplier(sum(x) - zp_in * n, M', s') + zp_out, -128, 127)
// - MUL (kernels/mul.cc Prepare + reference/integer_ops/mul.h):
//     (M, s) = QuantizeMultiplier((double)(float)(s1 * s2 / s_out))   <- float arithmetic
//     out = clamp(MultiplyByQuantizedMultiplier((x1 - zp1) * (x2 - zp2), M, s) + zp_out, min, max)
//
// MultiplyByQuantizedMultiplier is TFLite's double-rounding form (gemmlowp
// SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT), with left shifts.
//
// Portability: needs arithmetic right shifts of negative int32 (GCC, Clang, armcc) and IEEE-754
// double (the FC reference form; soft-float on the Cortex-M4F is IEEE-exact). The FC product is
// stored through a volatile so no compiler flag (-ffp-contract) can fuse it with the rounding.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// --- FULLY_CONNECTED -----------------------------------------------------------------------------
typedef struct {
  int32_t batches;        // rows: the output's elements / out_c (TFLite FlatSizeSkipDim)
  int32_t accum_depth;    // filter dims[1]
  int32_t out_c;          // filter dims[0]
  int32_t input_offset;   // -input zero point (the filter's zero point must be 0: int8 spec)
  int32_t output_offset;  // output zero point
  int32_t act_min, act_max;
  int32_t quant_channels; // entries in scale / multiplier / shift: out_c, or 1 (the same for all)
  // The reference form when scale != 0: round((double)acc * scale[c]) (TFLite BUILTIN_REF).
  const double* scale;
  // Otherwise the integer form (TFLite's optimized kernel, TFLM, CMSIS-NN arithmetic).
  const int32_t* multiplier;
  const int32_t* shift;   // > 0 left, < 0 right
} tinyml_fc_params;

int tinyml_fc_s8_covers(const tinyml_fc_params* p);
// input [batches][accum_depth], filter [out_c][accum_depth], bias [out_c] or null,
// output [batches][out_c].
void tinyml_fc_s8(const tinyml_fc_params* p, const int8_t* input, const int8_t* filter,
                  const int32_t* bias, int8_t* output);

// --- MEAN ----------------------------------------------------------------------------------------
typedef struct {
  int32_t dims[4];        // input shape, right-aligned: a 2-D [B, C] is {1, 1, B, C}
  uint32_t axis_mask;     // bit d set: dims[d] is reduced (bit 0 = dims[0])
  int32_t input_zp;
  int32_t output_zp;
  int32_t multiplier;     // QuantizeMultiplier((double)s_in / (double)s_out), as TFLite's
  int32_t shift;          //   PrepareMeanOrSum (and TFLM's OpDataReduce) hold it: 1/n is folded
                          //   in by the kernel
} tinyml_mean_params;

// Any axis set but the empty one (TFLite copies the input then, without requantizing).
int tinyml_mean_s8_covers(const tinyml_mean_params* p);
// Output: the kept dimensions in input order (keep_dims only changes the shape, not the bytes).
void tinyml_mean_s8(const tinyml_mean_params* p, const int8_t* input, int8_t* output);

// --- MUL -----------------------------------------------------------------------------------------
typedef struct {
  int32_t in1_dims[4];    // right-aligned shapes; each input dim equals the output's or is 1
  int32_t in2_dims[4];
  int32_t out_dims[4];
  int32_t input1_offset;  // -zero point
  int32_t input2_offset;
  int32_t output_offset;  // zero point
  int32_t multiplier;     // tinyml_mul_multiplier
  int32_t shift;
  int32_t act_min, act_max;
} tinyml_mul_params;

int tinyml_mul_s8_covers(const tinyml_mul_params* p);
void tinyml_mul_s8(const tinyml_mul_params* p, const int8_t* input1, const int8_t* input2,
                   int8_t* output);

// --- RELU6 (standalone) --------------------------------------------------------------------------
// TFLite's Relu6Eval for int8 (kernels/activations.cc QuantizedReluX<int8_t>(0, 6)) requantizes
// to the output's scale and zero point; the pinned library copies the clamped input byte:
//     (M, s) = QuantizeMultiplier((double)(float)(s_in / s_out))            ReluPrepare, float
//     out = clamp(zp_out + MultiplyByQuantizedMultiplier(x - zp_in, M, s), act_min, act_max)
//   act_min = max(-128, zp_out + roundf(0 / s_out)), act_max = min(127, zp_out + roundf(6 / s_out)).
typedef struct {
  int32_t elements;
  int32_t input_zp;
  int32_t output_zp;
  int32_t multiplier;
  int32_t shift;
  int32_t act_min, act_max;
} tinyml_relux_params;

int tinyml_relux_s8_covers(const tinyml_relux_params* p);
void tinyml_relux_s8(const tinyml_relux_params* p, const int8_t* input, int8_t* output);

// --- Prepare-time parameters (TFLite's Prepare arithmetic; quant_params.c) ----------------------
// tflite::QuantizeMultiplier: frexp, round(q * 2^31) half away from zero, 2^31 -> 2^30 and shift
// + 1, shift < -31 -> (0, 0).
void tinyml_quantize_multiplier(double real, int32_t* multiplier, int32_t* shift);
// FULLY_CONNECTED reference scale of one channel: (double)s_in * (double)s_w / (double)s_out.
double tinyml_fc_scale(float input_scale, float filter_scale, float output_scale);
// MEAN: QuantizeMultiplier((double)s_in / (double)s_out) (not yet folded with 1/n).
void tinyml_mean_multiplier(float input_scale, float output_scale, int32_t* multiplier,
                            int32_t* shift);
// MEAN: the multiplier with 1/n folded in, as QuantizedMeanOrSum does at every Eval.
void tinyml_mean_fold(int32_t multiplier, int32_t shift, int64_t n, int32_t* folded_multiplier,
                      int32_t* folded_shift);
// MUL: QuantizeMultiplier of the float expression s1 * s2 / s_out.
void tinyml_mul_multiplier(float input1_scale, float input2_scale, float output_scale,
                           int32_t* multiplier, int32_t* shift);
// ReluPrepare: QuantizeMultiplier of the float quotient s_in / s_out.
void tinyml_relux_multiplier(float input_scale, float output_scale, int32_t* multiplier,
                             int32_t* shift);
// CalculateActivationRangeQuantized for int8: act 0 none, 1 relu, 2 relu_n1_to_1, 3 relu6
// (TfLiteFusedActivation numbering).
void tinyml_activation_range(int32_t act, float output_scale, int32_t output_zp, int32_t* act_min,
                             int32_t* act_max);

// Arena bytes these kernels need: none (no scratch; MEAN sums one output at a time).
#define TINYML_REF_OPS_SCRATCH_BYTES 0

#ifdef __cplusplus
}
#endif
