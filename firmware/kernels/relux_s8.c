// int8 standalone RELU6 as TFLite's reference kernel computes it (see tinyml_ref_ops.h): the
// input requantized to the output's scale and zero point, then clamped to [0, 6] in its units.
#include "tinyml_ref_ops_common.h"

int tinyml_relux_s8_covers(const tinyml_relux_params* p) {
  if (p->elements < 0) return 0;
  if (p->act_min < -128 || p->act_max > 127 || p->act_min > p->act_max) return 0;
  if (p->input_zp < -128 || p->input_zp > 127 || p->output_zp < -128 || p->output_zp > 127) return 0;
  return p->shift >= -31 && p->shift <= 30 && p->multiplier >= 0;
}

void tinyml_relux_s8(const tinyml_relux_params* p, const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < p->elements; ++i) {
    const int32_t v = p->output_zp + tr_mbqm((int32_t)input[i] - p->input_zp, p->multiplier, p->shift);
    output[i] = (int8_t)tr_clamp(v, p->act_min, p->act_max);
  }
}
