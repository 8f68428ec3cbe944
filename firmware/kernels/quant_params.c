// TFLite's Prepare-time arithmetic for the reference-exact kernels (see tinyml_ref_ops.h).
#include <math.h>

#include "tinyml_ref_ops_common.h"

void tinyml_quantize_multiplier(double real, int32_t* multiplier, int32_t* shift) {
  if (real == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exponent = 0;
  const double q = frexp(real, &exponent);
  // static_cast<int64_t>(TfLiteRound(q * (1LL << 31))): |q| < 1, so the product is exact.
  int64_t q_fixed = tr_round_half_away(q * 2147483648.0);
  if (q_fixed == (1LL << 31)) {
    q_fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) {
    exponent = 0;
    q_fixed = 0;
  }
  *multiplier = (int32_t)q_fixed;
  *shift = exponent;
}

double tinyml_fc_scale(float input_scale, float filter_scale, float output_scale) {
  // effective_output_scale = static_cast<double>(input_scale) * filter_scale /
  //                          static_cast<double>(output_scale), evaluated left to right.
  const double product = (double)input_scale * (double)filter_scale;
  return product / (double)output_scale;
}

void tinyml_mean_multiplier(float input_scale, float output_scale, int32_t* multiplier,
                            int32_t* shift) {
  tinyml_quantize_multiplier((double)input_scale / (double)output_scale, multiplier, shift);
}

void tinyml_mean_fold(int32_t multiplier, int32_t shift, int64_t n, int32_t* folded_multiplier,
                      int32_t* folded_shift) {
  // shift = 63 - CountLeadingZeros(n) = floor(log2 n); min(shift, 32); min(shift, 31 + shift).
  int32_t k = 0;
  while (k < 62 && (n >> (k + 1)) != 0) ++k;
  if (k > 32) k = 32;
  if (k > 31 + shift) k = 31 + shift;
  *folded_multiplier = (int32_t)(((int64_t)multiplier << k) / n);
  *folded_shift = shift - k;
}

void tinyml_mul_multiplier(float input1_scale, float input2_scale, float output_scale,
                           int32_t* multiplier, int32_t* shift) {
  // `double real_multiplier = input1->params.scale * input2->params.scale /
  //  output->params.scale;`: float operands, so float arithmetic; volatile keeps each step in
  // float on targets that would evaluate in wider precision (FLT_EVAL_METHOD != 0).
  volatile float product = input1_scale * input2_scale;
  volatile float quotient = product / output_scale;
  tinyml_quantize_multiplier((double)quotient, multiplier, shift);
}

void tinyml_relux_multiplier(float input_scale, float output_scale, int32_t* multiplier,
                             int32_t* shift) {
  // `double real_multiplier = input->params.scale / output->params.scale;`: a float quotient.
  volatile float quotient = input_scale / output_scale;
  tinyml_quantize_multiplier((double)quotient, multiplier, shift);
}

static int32_t quantize_bound(float f, float scale, int32_t zero_point) {
  // Quantize(): zero_point + static_cast<int32_t>(TfLiteRound(f / scale)), roundf semantics.
  volatile float t = f / scale;
  return zero_point + (int32_t)tr_round_half_away((double)t);
}

void tinyml_activation_range(int32_t act, float output_scale, int32_t output_zp, int32_t* act_min,
                             int32_t* act_max) {
  int32_t lo = -128, hi = 127;
  if (act == 1 || act == 3) {  // kTfLiteActRelu, kTfLiteActRelu6
    const int32_t z = quantize_bound(0.0f, output_scale, output_zp);
    lo = z > lo ? z : lo;
    if (act == 3) {
      const int32_t six = quantize_bound(6.0f, output_scale, output_zp);
      hi = six < hi ? six : hi;
    }
  } else if (act == 2) {  // kTfLiteActReluN1To1
    const int32_t m1 = quantize_bound(-1.0f, output_scale, output_zp);
    const int32_t p1 = quantize_bound(1.0f, output_scale, output_zp);
    lo = m1 > lo ? m1 : lo;
    hi = p1 < hi ? p1 : hi;
  }
  *act_min = lo;
  *act_max = hi;
}
