// int8 MUL with up-to-4-D broadcast as TFLite's reference kernel computes it (see
// tinyml_ref_ops.h): (x1 - zp1) * (x2 - zp2) requantized, zero point, activation clamp.
#include "tinyml_ref_ops_common.h"

int tinyml_mul_s8_covers(const tinyml_mul_params* p) {
  for (int d = 0; d < 4; ++d) {
    const int32_t o = p->out_dims[d];
    if (o < 1) return 0;
    if (p->in1_dims[d] != o && p->in1_dims[d] != 1) return 0;
    if (p->in2_dims[d] != o && p->in2_dims[d] != 1) return 0;
    const int32_t m = p->in1_dims[d] > p->in2_dims[d] ? p->in1_dims[d] : p->in2_dims[d];
    if (m != o) return 0;
  }
  if (p->act_min < -128 || p->act_max > 127 || p->act_min > p->act_max) return 0;
  if (p->input1_offset < -127 || p->input1_offset > 128) return 0;
  if (p->input2_offset < -127 || p->input2_offset > 128) return 0;
  return p->shift >= -31 && p->shift <= 30 && p->multiplier >= 0;
}

void tinyml_mul_s8(const tinyml_mul_params* p, const int8_t* input1, const int8_t* input2,
                   int8_t* output) {
  int32_t s1[4], s2[4];
  int32_t a = 1, b = 1;
  for (int d = 3; d >= 0; --d) {
    s1[d] = p->in1_dims[d] == 1 ? 0 : a;
    s2[d] = p->in2_dims[d] == 1 ? 0 : b;
    a *= p->in1_dims[d];
    b *= p->in2_dims[d];
  }
  const int32_t* od = p->out_dims;
  int8_t* out = output;
  for (int32_t i0 = 0; i0 < od[0]; ++i0)
    for (int32_t i1 = 0; i1 < od[1]; ++i1)
      for (int32_t i2 = 0; i2 < od[2]; ++i2) {
        const int8_t* x1 = input1 + i0 * s1[0] + i1 * s1[1] + i2 * s1[2];
        const int8_t* x2 = input2 + i0 * s2[0] + i1 * s2[1] + i2 * s2[2];
        for (int32_t i3 = 0; i3 < od[3]; ++i3) {
          const int32_t v1 = x1[i3 * s1[3]] + p->input1_offset;
          const int32_t v2 = x2[i3 * s2[3]] + p->input2_offset;
          const int32_t v = p->output_offset + tr_mbqm(v1 * v2, p->multiplier, p->shift);
          *out++ = (int8_t)tr_clamp(v, p->act_min, p->act_max);
        }
      }
}
