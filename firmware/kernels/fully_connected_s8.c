// int8 FULLY_CONNECTED as TFLite's reference kernel computes it (see tinyml_ref_ops.h).
#include "tinyml_ref_ops_common.h"

int tinyml_fc_s8_covers(const tinyml_fc_params* p) {
  if (p->batches < 1 || p->accum_depth < 1 || p->out_c < 1) return 0;
  if (p->quant_channels != 1 && p->quant_channels != p->out_c) return 0;
  if (p->scale == 0 && (p->multiplier == 0 || p->shift == 0)) return 0;
  if (p->act_min < -128 || p->act_max > 127 || p->act_min > p->act_max) return 0;
  if (p->input_offset < -127 || p->input_offset > 128) return 0;
  if (p->scale == 0) {
    for (int32_t c = 0; c < p->quant_channels; ++c) {
      if (p->shift[c] < -31 || p->shift[c] > 30) return 0;
    }
  }
  // |acc| <= accum_depth * 128 * 255 + |bias| must stay inside int32 as in TFLite (its int32
  // accumulator would overflow first): the caller's bias is not checked here.
  return p->accum_depth <= (INT32_MAX / (128 * 255)) / 2;
}

// The reference form: (int32)round((double)acc * scale), as TFLite's
// static_cast<int32_t>(round(static_cast<double>(acc) * effective_output_scale)).
static int32_t fc_scale_output(int32_t acc, double scale) {
  // The product is rounded to double before std::round sees it: store it through a volatile so a
  // fused multiply-add cannot skip that rounding on targets that have one.
  volatile double product = (double)acc * scale;
  const int64_t r = tr_round_half_away(product);
  // TFLite casts to int32 (undefined beyond it); saturate, then clamping decides the same way.
  return r > INT32_MAX ? INT32_MAX : (r < INT32_MIN ? INT32_MIN : (int32_t)r);
}

static int32_t fc_dot(const int8_t* x, const int8_t* w, int32_t depth, int32_t input_offset) {
  // sum w * (x + input_offset) = sum w * x + input_offset * sum w (exact in int32 here).
  int32_t dot0 = 0, dot1 = 0, wsum0 = 0, wsum1 = 0;
  int32_t k = 0;
  for (; k + 2 <= depth; k += 2) {
    dot0 += (int32_t)w[k] * (int32_t)x[k];
    dot1 += (int32_t)w[k + 1] * (int32_t)x[k + 1];
    wsum0 += w[k];
    wsum1 += w[k + 1];
  }
  for (; k < depth; ++k) {
    dot0 += (int32_t)w[k] * (int32_t)x[k];
    wsum0 += w[k];
  }
  return dot0 + dot1 + input_offset * (wsum0 + wsum1);
}

void tinyml_fc_s8(const tinyml_fc_params* p, const int8_t* input, const int8_t* filter,
                  const int32_t* bias, int8_t* output) {
  const int32_t depth = p->accum_depth;
  const int per_channel = p->quant_channels > 1;
  for (int32_t c = 0; c < p->out_c; ++c) {
    const int32_t q = per_channel ? c : 0;
    const int8_t* w = filter + (int64_t)c * depth;
    const int32_t b = bias != 0 ? bias[c] : 0;
    for (int32_t row = 0; row < p->batches; ++row) {
      const int32_t acc = fc_dot(input + (int64_t)row * depth, w, depth, p->input_offset) + b;
      const int32_t scaled = p->scale != 0 ? fc_scale_output(acc, p->scale[q])
                                           : tr_mbqm(acc, p->multiplier[q], p->shift[q]);
      // TFLite adds the zero point in int32 (acc_scaled += output_offset), then clamps.
      const int32_t v = (int32_t)((uint32_t)scaled + (uint32_t)p->output_offset);
      output[(int64_t)row * p->out_c + c] = (int8_t)tr_clamp(v, p->act_min, p->act_max);
    }
  }
}
