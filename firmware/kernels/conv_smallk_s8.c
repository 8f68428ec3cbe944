// Convolution with a small receptive field (k_h*k_w*in_c <= TINYML_SMALLK_MAX_TAPS), int8: the
// first layer of an image network (1 or 3 input channels), where CMSIS-NN's im2col + matrix
// multiply has too little depth to amortise its overheads (see tinyml_kernels.h).
//
// Per output pixel the input patch is gathered once, offset added and padded taps set to 0, into
// int16 pairs laid out as SXTB16 unpacks a filter word: (p[4j], p[4j+2]) and (p[4j+1], p[4j+3]).
// Every output channel then costs one LDR, two SXTB16 and two SMLAD per four taps.
#include "tinyml_kernels_common.h"

int tinyml_conv_smallk_s8_covers(const tinyml_conv_params* p, const int32_t* bias) {
  const int32_t taps = p->k_h * p->k_w * p->in_c;
  if (p->in_c < 1 || p->in_c > TINYML_SMALLK_MAX_IN_C || p->k_h < 1 || p->k_w < 1) return 0;
  if (taps > TINYML_SMALLK_MAX_TAPS || p->out_c < 1) return 0;
  if (p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0) return 0;
  if (p->out_h < 1 || p->out_w < 1) return 0;
  return tk_quant_covered(p, bias, taps);
}

#define TK_WORDS (TINYML_SMALLK_MAX_TAPS / 4)

// Gathers the patch of the output pixel whose top-left input is (iy0, ix0).
TK_INLINE void smallk_patch(const tinyml_conv_params* p, const int8_t* input, int32_t iy0,
                            int32_t ix0, int32_t taps, uint32_t* even, uint32_t* odd) {
  int16_t v[TINYML_SMALLK_MAX_TAPS + 4];
  const int32_t C = p->in_c;
  int32_t t = 0;
  const int cols_ok = ix0 >= 0 && ix0 + p->k_w <= p->in_w;
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky;
    const int row_ok = iy >= 0 && iy < p->in_h;
    if (row_ok && cols_ok) {  // the whole kernel row is inside: contiguous bytes
      const int8_t* ip = input + (iy * p->in_w + ix0) * C;
      for (int32_t i = 0; i < p->k_w * C; ++i) v[t++] = (int16_t)(ip[i] + p->input_offset);
      continue;
    }
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx;
      if (row_ok && ix >= 0 && ix < p->in_w) {
        const int8_t* ip = input + (iy * p->in_w + ix) * C;
        for (int32_t ci = 0; ci < C; ++ci) v[t++] = (int16_t)(ip[ci] + p->input_offset);
      } else {
        for (int32_t ci = 0; ci < C; ++ci) v[t++] = 0;
      }
    }
  }
  for (; t < ((taps + 3) & ~3); ++t) v[t] = 0;
  for (int32_t j = 0; 4 * j < taps; ++j) {
    even[j] = (uint32_t)(uint16_t)v[4 * j] | ((uint32_t)(uint16_t)v[4 * j + 2] << 16);
    odd[j] = (uint32_t)(uint16_t)v[4 * j + 1] | ((uint32_t)(uint16_t)v[4 * j + 3] << 16);
  }
}

// The filter's last (taps % 4) bytes of one channel as a word, zeros after them (no read past the
// channel: the last channel ends the filter tensor).
TK_INLINE uint32_t smallk_tail(const int8_t* kp, int32_t rest) {
  uint32_t w = (uint8_t)kp[0];
  if (rest > 1) w |= (uint32_t)(uint8_t)kp[1] << 8;
  if (rest > 2) w |= (uint32_t)(uint8_t)kp[2] << 16;
  return w;
}

TK_INLINE void smallk_run(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                          const int32_t* bias, int8_t* output, const int32_t taps,
                          int full_range) {
  uint32_t even[TK_WORDS], odd[TK_WORDS];
  const int32_t words = taps / 4, rest = taps % 4;
  const int32_t offset2p1 = 2 * p->output_offset + 1;
  int8_t* out = output;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      smallk_patch(p, input, oy * p->stride_h - p->pad_h, ox * p->stride_w - p->pad_w, taps,
                   even, odd);
      const int8_t* kp = filter;
      for (int32_t oc = 0; oc < p->out_c; ++oc) {
        int32_t acc = bias ? bias[oc] : 0;
        int32_t j = 0;
        for (; j < words; ++j) {
          const uint32_t w = tk_read32(kp + 4 * j);
          acc = tk_smlad(even[j], tk_sxtb16(w), acc);
          acc = tk_smlad(odd[j], tk_sxtb16_ror8(w), acc);
        }
        if (rest) {
          const uint32_t w = smallk_tail(kp + 4 * j, rest);
          acc = tk_smlad(even[j], tk_sxtb16(w), acc);
          if (rest > 1) acc = tk_smlabb(odd[j], tk_sxtb16_ror8(w), acc);
        }
        out[oc] = tk_output(acc, p->multiplier[oc], p->shift[oc], offset2p1, p->act_min,
                            p->act_max, full_range);
        kp += taps;
      }
      out += p->out_c;
    }
  }
}

// One input channel, 3x3 (the first layer of a grayscale network): the patch of an inner pixel
// comes from three word loads (bytes 0-3 of each window row), unpacked by SXTAB16 and rearranged
// by PKHBT/PKHTB into the filter word order; the nine taps stay in five registers.
static void smallk_c1_3x3(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                          const int32_t* bias, int8_t* output) {
  tk_requant rq[TK_CHUNK];
  const int32_t W = p->in_w, out_c = p->out_c;
  const uint32_t ioff2 = (uint32_t)(uint16_t)p->input_offset * 0x00010001u;
  const int32_t offset2p1 = 2 * p->output_offset + 1;
  tk_requant_chunk(p, 0, out_c, rq);
  for (int32_t oc = 0; oc < out_c; ++oc) rq[oc].start = bias ? bias[oc] : 0;
  int8_t* out = output;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int rows_in = iy0 >= 0 && iy0 + 3 <= p->in_h;
    for (int32_t ox = 0; ox < p->out_w; ++ox, out += out_c) {
      const int32_t ix0 = ox * p->stride_w - p->pad_w;
      uint32_t e0, o0, e1, o1, t8;
      if (rows_in && ix0 >= 0 && ix0 + 4 <= W) {
        const int8_t* ip = input + iy0 * W + ix0;
        const uint32_t r0 = tk_read32(ip), r1 = tk_read32(ip + W), r2 = tk_read32(ip + 2 * W);
        const uint32_t r0_02 = tk_sxtab16(ioff2, r0), r0_13 = tk_sxtab16_ror8(ioff2, r0);
        const uint32_t r1_02 = tk_sxtab16(ioff2, r1), r1_13 = tk_sxtab16_ror8(ioff2, r1);
        const uint32_t r2_02 = tk_sxtab16(ioff2, r2), r2_13 = tk_sxtab16_ror8(ioff2, r2);
        e0 = r0_02;                                      // (v0, v2)
        o0 = (r0_13 & 0xFFFFu) | (r1_02 << 16);          // (v1, v3)
        e1 = (r1_13 & 0xFFFFu) | (r2_02 << 16);          // (v4, v6)
        o1 = (r1_02 >> 16) | (r2_13 << 16);              // (v5, v7)
        t8 = r2_02 >> 16;                                // v8
      } else {
        uint32_t even[TK_WORDS], odd[TK_WORDS];
        smallk_patch(p, input, iy0, ix0, 9, even, odd);
        e0 = even[0];
        o0 = odd[0];
        e1 = even[1];
        o1 = odd[1];
        t8 = even[2];
      }
      const int8_t* kp = filter;
      const tk_requant* r = rq;
      int8_t* o = out;
      for (int32_t oc = 0; oc < out_c; ++oc, kp += 9) {
        int32_t acc = r->start;
        const uint32_t w0 = tk_read32(kp), w1 = tk_read32(kp + 4);
        acc = tk_smlad(e0, tk_sxtb16(w0), acc);
        acc = tk_smlad(o0, tk_sxtb16_ror8(w0), acc);
        acc = tk_smlad(e1, tk_sxtb16(w1), acc);
        acc = tk_smlad(o1, tk_sxtb16_ror8(w1), acc);
        acc = tk_smlabb(t8, (uint32_t)(int32_t)kp[8], acc);
        *o++ = tk_output_rq(acc, r++, offset2p1, p->act_min, p->act_max, 1);
      }
    }
  }
}

void tinyml_conv_smallk_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                           const int32_t* bias, int8_t* output) {
  const int32_t taps = p->k_h * p->k_w * p->in_c;
  const int full_range = p->act_min == -128 && p->act_max == 127;
  // The first layers of image networks, specialised: grayscale 3x3, and RGB 3x3 (constant taps
  // unroll the channel loop).
  if (p->in_c == 1 && p->k_h == 3 && p->k_w == 3 && full_range && p->out_c <= TK_CHUNK) {
    smallk_c1_3x3(p, input, filter, bias, output);
  } else if (taps == 27 && full_range) {
    smallk_run(p, input, filter, bias, output, 27, 1);
  } else {
    smallk_run(p, input, filter, bias, output, taps, full_range);
  }
}
