// int8 MEAN as TFLite's reference kernel computes it (reduce.h QuantizedMeanOrSum; see
// tinyml_ref_ops.h). One output at a time: its sum over the reduced dimensions, no scratch.
#include "tinyml_ref_ops_common.h"

int tinyml_mean_s8_covers(const tinyml_mean_params* p) {
  if ((p->axis_mask & 0xFu) == 0 || (p->axis_mask & ~0xFu) != 0) return 0;
  int64_t n = 1, total = 1;
  for (int d = 0; d < 4; ++d) {
    if (p->dims[d] < 1) return 0;
    total *= p->dims[d];
    if (p->axis_mask & (1u << d)) n *= p->dims[d];
  }
  if (p->input_zp < -128 || p->input_zp > 127 || p->output_zp < -128 || p->output_zp > 127) return 0;
  if (p->shift < -31 || p->shift > 30 || p->multiplier < 0) return 0;
  // The int32 sum of n int8 values (TFLite's temp_sum) must not overflow: n * 128 < 2^31.
  return n <= (1LL << 24) && total <= INT32_MAX;
}

void tinyml_mean_s8(const tinyml_mean_params* p, const int8_t* input, int8_t* output) {
  int32_t kept[4], red[4], stride[4];
  int64_t n = 1;
  int32_t s = 1;
  for (int d = 3; d >= 0; --d) {
    const int reduced = (p->axis_mask >> d) & 1u;
    kept[d] = reduced ? 1 : p->dims[d];
    red[d] = reduced ? p->dims[d] : 1;
    stride[d] = s;
    s *= p->dims[d];
    if (reduced) n *= p->dims[d];
  }
  int32_t multiplier, shift;
  tinyml_mean_fold(p->multiplier, p->shift, n, &multiplier, &shift);
  const int32_t zp_n = (int32_t)((int64_t)p->input_zp * n);  // |zp * n| < 2^31 (covers)
  int8_t* out = output;
  for (int32_t i0 = 0; i0 < kept[0]; ++i0)
    for (int32_t i1 = 0; i1 < kept[1]; ++i1)
      for (int32_t i2 = 0; i2 < kept[2]; ++i2)
        for (int32_t i3 = 0; i3 < kept[3]; ++i3) {
          const int8_t* base = input + i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3];
          int32_t sum = 0;
          for (int32_t j0 = 0; j0 < red[0]; ++j0)
            for (int32_t j1 = 0; j1 < red[1]; ++j1) {
              const int8_t* row = base + j0 * stride[0] + j1 * stride[1];
              for (int32_t j2 = 0; j2 < red[2]; ++j2) {
                const int8_t* q = row + j2 * stride[2];  // stride[3] is 1
                for (int32_t j3 = 0; j3 < red[3]; ++j3) sum += q[j3];
              }
            }
          // TFLite: static_cast<int32>(temp_sum - input_zero_point * num_elements_in_axis).
          const int32_t shifted = (int32_t)((uint32_t)sum - (uint32_t)zp_n);
          const int32_t v = tr_mbqm(shifted, multiplier, shift) + p->output_zp;
          *out++ = (int8_t)tr_clamp(v, -128, 127);
        }
}
