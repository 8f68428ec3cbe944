// Depthwise 3x3 convolution, channel multiplier 1, int8 (see tinyml_kernels.h).
//
// Four channels at a time: one word of input and one of filter per tap, unpacked by SXTAB16 (adds
// the input offset to channels 0/2, and with ROR 8 to 1/3) and SXTB16, then SMLABB/SMLATT into
// four accumulators. CMSIS-NN's arm_depthwise_conv_3x3_s8 (pinned library) extracts each byte with
// shifts and uses scalar MLA. Border pixels take the same arithmetic over their valid taps only.
// Channels go in chunks of TK_CHUNK whose requantization constants sit on the stack.
#include "tinyml_kernels_common.h"

int tinyml_dwconv3x3_s8_covers(const tinyml_conv_params* p, const int32_t* bias) {
  if (p->k_h != 3 || p->k_w != 3 || p->in_c != p->out_c || p->in_c < 1) return 0;
  if (p->stride_h < 1 || p->stride_h > 2 || p->stride_w < 1 || p->stride_w > 2) return 0;
  if (p->pad_h < 0 || p->pad_w < 0 || p->out_h < 1 || p->out_w < 1) return 0;
  return tk_quant_covered(p, bias, 9);
}

#define TK_MAC4(iv, kv)                                 \
  do {                                                  \
    const uint32_t i_ = (iv), k_ = (kv);                \
    const uint32_t i02 = tk_sxtab16(ioff2, i_);         \
    const uint32_t i13 = tk_sxtab16_ror8(ioff2, i_);    \
    const uint32_t k02 = tk_sxtb16(k_);                 \
    const uint32_t k13 = tk_sxtb16_ror8(k_);            \
    a0 = tk_smlabb(i02, k02, a0);                       \
    a2 = tk_smlatt(i02, k02, a2);                       \
    a1 = tk_smlabb(i13, k13, a1);                       \
    a3 = tk_smlatt(i13, k13, a3);                       \
  } while (0)

typedef struct {
  int32_t C, row;          // input strides: pixel, row
  uint32_t ioff2;          // input offset in both halfwords
  int32_t offset2p1;       // 2 * output offset + 1
  int32_t act_min, act_max;
} dw_ctx;

// Filter of a chunk of channels repacked on the stack for SMLAD, doubled (the requantization's
// SMMULR takes 2 * acc; |2 * acc| < 2^31 as |acc| < 2^30): per group of four channels, for
// each tap pair (0,1) (2,3) (4,5) (6,7) the words (w[t][c], w[t+1][c]) for c = 0..3, then tap 8 as
// SXTB16 leaves it: (w[8][0], w[8][2]) and (w[8][1], w[8][3]).
#define TK_PACK_WORDS 18

static void dw_pack_filter(const int8_t* filter, int32_t C, int32_t c0, int32_t groups,
                           uint32_t* pack) {
  for (int32_t g = 0; g < groups; ++g) {
    const int8_t* k = filter + c0 + 4 * g;
    for (int32_t pair = 0; pair < 4; ++pair) {
      for (int32_t c = 0; c < 4; ++c) {
        *pack++ = (uint32_t)(uint16_t)(2 * k[2 * pair * C + c]) |
                  ((uint32_t)(uint16_t)(2 * k[(2 * pair + 1) * C + c]) << 16);
      }
    }
    *pack++ = (uint32_t)(uint16_t)(2 * k[8 * C]) | ((uint32_t)(uint16_t)(2 * k[8 * C + 2]) << 16);
    *pack++ = (uint32_t)(uint16_t)(2 * k[8 * C + 1]) |
              ((uint32_t)(uint16_t)(2 * k[8 * C + 3]) << 16);
  }
}

#ifdef TINYML_KERNELS_DSP
// Two taps of four channels: PKHBT/PKHTB pair the taps' bytes, SXTB16 sign-extends them into
// (tap t, tap t+1) halfwords per channel, SMLAD does both MACs. Inline assembly: GCC hoists the
// loads of an unrolled window and spills them (6-7 instructions per MAC instead of about 3).
#define TK_DW_PAIR(addr_a, addr_b) "ldr %[A], " addr_a "\n\t" TK_DW_PAIR_B(addr_b)
#define TK_DW_PAIR_B(addr_b)                           \
  "ldr %[B], " addr_b "\n\t"                           \
  "pkhbt %[T], %[A], %[B], lsl #16\n\t"                \
  "pkhtb %[A], %[B], %[A], asr #16\n\t"                \
  "sxtb16 %[B], %[T]\n\t"                              \
  "sxtb16 %[T], %[T], ror #8\n\t"                      \
  "ldrd %[K], %[K2], [%[kq]], #8\n\t"                  \
  "smlad %[a0], %[B], %[K], %[a0]\n\t"                 \
  "smlad %[a1], %[T], %[K2], %[a1]\n\t"                \
  "sxtb16 %[B], %[A]\n\t"                              \
  "sxtb16 %[T], %[A], ror #8\n\t"                      \
  "ldrd %[K], %[K2], [%[kq]], #8\n\t"                  \
  "smlad %[a2], %[B], %[K], %[a2]\n\t"                 \
  "smlad %[a3], %[T], %[K2], %[a3]\n\t"

// ip: the window's top-left input (channel group); R = row stride - 2 * C.
TK_INLINE const uint32_t* dw_window4(const int8_t* ip, const uint32_t* kq, int32_t C, int32_t R,
                                     int32_t* acc) {
  uint32_t A, B, T, K, K2;
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  __asm__(TK_DW_PAIR("[%[ip]]", "[%[ip], %[C]]")            // taps (0,0) (0,1)
          "add %[ip], %[ip], %[C], lsl #1\n\t"
          TK_DW_PAIR("[%[ip]]", "[%[ip], %[R]]")            // (0,2) (1,0)
          "add %[ip], %[ip], %[R]\n\t"
          "ldr %[A], [%[ip], %[C]]\n\t"                     // (1,1) (1,2)
          "add %[ip], %[ip], %[C], lsl #1\n\t"
          TK_DW_PAIR_B("[%[ip]]")
          "add %[ip], %[ip], %[R]\n\t"
          TK_DW_PAIR("[%[ip]]", "[%[ip], %[C]]")            // (2,0) (2,1)
          "ldr %[A], [%[ip], %[C], lsl #1]\n\t"             // (2,2)
          "sxtb16 %[B], %[A]\n\t"
          "sxtb16 %[T], %[A], ror #8\n\t"
          "ldrd %[K], %[K2], [%[kq]], #8\n\t"
          "smlabb %[a0], %[B], %[K], %[a0]\n\t"
          "smlatt %[a2], %[B], %[K], %[a2]\n\t"
          "smlabb %[a1], %[T], %[K2], %[a1]\n\t"
          "smlatt %[a3], %[T], %[K2], %[a3]\n\t"
          : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ip] "+r"(ip),
            [kq] "+r"(kq), [A] "=&r"(A), [B] "=&r"(B), [T] "=&r"(T), [K] "=&r"(K), [K2] "=&r"(K2)
          : [C] "r"(C), [R] "r"(R)
          : "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
  return kq;
}
#else
TK_INLINE const uint32_t* dw_window4(const int8_t* ip, const uint32_t* kq, int32_t C, int32_t R,
                                     int32_t* acc) {
  const int32_t row = R + 2 * C;
  const int32_t offsets[9] = {0, C, 2 * C, row, row + C, row + 2 * C, 2 * row, 2 * row + C,
                              2 * row + 2 * C};
  for (int32_t pair = 0; pair < 4; ++pair) {
    const uint32_t A = tk_read32(ip + offsets[2 * pair]), B = tk_read32(ip + offsets[2 * pair + 1]);
    const uint32_t lo = (A & 0xFFFFu) | (B << 16), hi = (A >> 16) | (B & 0xFFFF0000u);
    acc[0] = tk_smlad(tk_sxtb16(lo), kq[0], acc[0]);
    acc[1] = tk_smlad(tk_sxtb16_ror8(lo), kq[1], acc[1]);
    acc[2] = tk_smlad(tk_sxtb16(hi), kq[2], acc[2]);
    acc[3] = tk_smlad(tk_sxtb16_ror8(hi), kq[3], acc[3]);
    kq += 4;
  }
  const uint32_t A = tk_read32(ip + offsets[8]);
  acc[0] = tk_smlabb(tk_sxtb16(A), kq[0], acc[0]);
  acc[2] = tk_smlatt(tk_sxtb16(A), kq[0], acc[2]);
  acc[1] = tk_smlabb(tk_sxtb16_ror8(A), kq[1], acc[1]);
  acc[3] = tk_smlatt(tk_sxtb16_ror8(A), kq[1], acc[3]);
  return kq + 2;
}
#endif

// One output pixel whose 3x3 window lies inside the input, channels [c0, c0 + 4 * groups);
// rq[i].start = 2 * (bias + input offset * (sum of the channel's nine weights)): the filter is
// packed doubled, so the accumulators come out doubled, as the requantization wants them.
// C and row: the input's pixel and row strides.
TK_INLINE void dw_full(const dw_ctx* x, const int8_t* ip, int32_t C, int32_t row,
                       const uint32_t* pack, const tk_requant* rq, int8_t* out, int32_t groups,
                       int full_range) {
  const int32_t R = row - 2 * C;
  const int32_t o2 = x->offset2p1, lo = x->act_min, hi = x->act_max;
  for (int32_t g = 0; g < groups; ++g) {
    int32_t acc[4] = {rq[0].start, rq[1].start, rq[2].start, rq[3].start};
    pack = dw_window4(ip, pack, C, R, acc);
    out[0] = tk_output_rq_x2(acc[0], rq + 0, o2, lo, hi, full_range);
    out[1] = tk_output_rq_x2(acc[1], rq + 1, o2, lo, hi, full_range);
    out[2] = tk_output_rq_x2(acc[2], rq + 2, o2, lo, hi, full_range);
    out[3] = tk_output_rq_x2(acc[3], rq + 3, o2, lo, hi, full_range);
    out += 4;
    rq += 4;
    ip += 4;
  }
}

// Any output pixel (valid taps only), channels [c0, c0 + n): groups of four, then one at a time.
static void dw_border(const tinyml_conv_params* p, const dw_ctx* x, const int8_t* input,
                      const int8_t* filter, const int32_t* bias, const tk_requant* rq, int8_t* out,
                      int32_t iy0, int32_t ix0, int32_t c0, int32_t n) {
  const int32_t C = x->C, row = x->row;
  const uint32_t ioff2 = x->ioff2;
  const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
  const int32_t ky_hi = p->in_h - iy0 < 3 ? p->in_h - iy0 : 3;
  const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
  const int32_t kx_hi = p->in_w - ix0 < 3 ? p->in_w - ix0 : 3;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t c = c0 + i;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    if (bias) {
      a0 = bias[c];
      a1 = bias[c + 1];
      a2 = bias[c + 2];
      a3 = bias[c + 3];
    }
    for (int32_t ky = ky_lo; ky < ky_hi; ++ky) {
      for (int32_t kx = kx_lo; kx < kx_hi; ++kx) {
        TK_MAC4(tk_read32(input + (iy0 + ky) * row + (ix0 + kx) * C + c),
                tk_read32(filter + (ky * 3 + kx) * C + c));
      }
    }
    out[i] = tk_output_rq(a0, rq + i, x->offset2p1, x->act_min, x->act_max, 0);
    out[i + 1] = tk_output_rq(a1, rq + i + 1, x->offset2p1, x->act_min, x->act_max, 0);
    out[i + 2] = tk_output_rq(a2, rq + i + 2, x->offset2p1, x->act_min, x->act_max, 0);
    out[i + 3] = tk_output_rq(a3, rq + i + 3, x->offset2p1, x->act_min, x->act_max, 0);
  }
  for (; i < n; ++i) {
    const int32_t c = c0 + i;
    int32_t acc = bias ? bias[c] : 0;
    for (int32_t ky = ky_lo; ky < ky_hi; ++ky) {
      for (int32_t kx = kx_lo; kx < kx_hi; ++kx) {
        const int32_t v = input[(iy0 + ky) * row + (ix0 + kx) * C + c] + p->input_offset;
        acc += v * filter[(ky * 3 + kx) * C + c];
      }
    }
    out[i] = tk_output_rq(acc, rq + i, x->offset2p1, x->act_min, x->act_max, 0);
  }
}

TK_INLINE void dw_run(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output, int full_range) {
  tk_requant rq[TK_CHUNK];
  uint32_t pack[TK_CHUNK / 4 * TK_PACK_WORDS];
  uint32_t window_words[9 * TK_CHUNK / 4];  // a border pixel's window, padding = zero point
  int8_t* window = (int8_t*)window_words;
  const uint32_t zp4 = (uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u;
  dw_ctx x;
  x.C = p->in_c;
  x.row = p->in_w * p->in_c;
  x.ioff2 = (uint32_t)(uint16_t)p->input_offset * 0x00010001u;
  x.offset2p1 = 2 * p->output_offset + 1;
  x.act_min = p->act_min;
  x.act_max = p->act_max;
  const int32_t C = p->in_c;
  for (int32_t c0 = 0; c0 < C; c0 += TK_CHUNK) {
    const int32_t n = C - c0 < TK_CHUNK ? C - c0 : TK_CHUNK;
    const int32_t groups = n / 4;
    tk_requant_chunk(p, c0, n, rq);
    dw_pack_filter(filter, C, c0, groups, pack);
    for (int32_t i = 0; i < n; ++i) {
      int32_t sum = 0;
      for (int32_t t = 0; t < 9; ++t) sum += filter[t * C + c0 + i];
      rq[i].start = 2 * ((bias ? bias[c0 + i] : 0) + p->input_offset * sum);
    }
    // Output columns whose window lies inside the input: [ox_lo, ox_hi).
    const int32_t sw = p->stride_w;
    const int32_t ox_lo = (p->pad_w + sw - 1) / sw;
    int32_t ox_hi = p->in_w - 3 + p->pad_w >= 0 ? (p->in_w - 3 + p->pad_w) / sw + 1 : 0;
    if (ox_hi > p->out_w) ox_hi = p->out_w;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int row_inside = iy0 >= 0 && iy0 + 3 <= p->in_h;
      int8_t* row_out = output + oy * p->out_w * C + c0;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * sw - p->pad_w;
        int8_t* out = row_out + ox * C;
        if (row_inside && ox >= ox_lo && ox < ox_hi) {
          if (groups > 0) {  // the run of inner pixels of this row
            const int8_t* ip = input + iy0 * x.row + ix0 * C + c0;
            for (int32_t i = ox; i < ox_hi; ++i, ip += sw * C, out += C) {
              dw_full(&x, ip, C, x.row, pack, rq, out, groups, full_range);
            }
          }
          if (groups * 4 < n) {
            for (int32_t i = ox; i < ox_hi; ++i) {
              dw_border(p, &x, input, filter, bias, rq + groups * 4,
                        row_out + i * C + groups * 4, iy0, i * sw - p->pad_w, c0 + groups * 4,
                        n - groups * 4);
            }
          }
          ox = ox_hi - 1;
          continue;
        }
        if (groups > 0) {
          // Padded taps read the zero point, so they add nothing beyond what `start` assumed.
          for (int32_t t = 0; t < 9; ++t) {
            const int32_t iy = iy0 + t / 3, ix = ix0 + t % 3;
            uint32_t* dst = window_words + t * groups;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
              const int8_t* src = input + iy * x.row + ix * C + c0;
              for (int32_t g = 0; g < groups; ++g) dst[g] = tk_read32(src + 4 * g);
            } else {
              for (int32_t g = 0; g < groups; ++g) dst[g] = zp4;
            }
          }
          dw_full(&x, window, 4 * groups, 12 * groups, pack, rq, out, groups, full_range);
        }
        if (groups * 4 < n) {
          dw_border(p, &x, input, filter, bias, rq + groups * 4, out + groups * 4, iy0, ix0,
                    c0 + groups * 4, n - groups * 4);
        }
      }
    }
  }
}

void tinyml_dwconv3x3_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                         const int32_t* bias, int8_t* output) {
  // Two copies: ReLU-style clamps are usually the whole int8 range (output zero point -128),
  // where SSAT alone clamps.
  if (p->act_min == -128 && p->act_max == 127) {
    dw_run(p, input, filter, bias, output, 1);
  } else {
    dw_run(p, input, filter, bias, output, 0);
  }
}
