// Convolution with a small receptive field (k_h*k_w*in_c <= TINYML_SMALLK_MAX_TAPS), int8: the
// first layer of an image network (1 or 3 input channels), where CMSIS-NN's im2col + matrix
// multiply has too little depth to amortise its overheads (see tinyml_kernels.h).
//
// Per output pixel the input patch is gathered once, offset added and padded taps set to 0, into
// int16 pairs laid out as SXTB16 unpacks a filter word: (p[4j], p[4j+2]) and (p[4j+1], p[4j+3]).
// Three paths, fastest first: one input channel 3x3 (the patch in five registers), any kernel
// (kernel rows read as whole words, filter packed once, channels in assembly: "kernel rows padded
// to words"), both saturating to int8 and clamping a narrower activation range in a pass over the
// output, and the general one (right shifts beyond 23: one LDR, two SXTB16 and two SMLAD per four
// taps of each output channel).
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

// The patch of output pixel (iy0, ix0) of a one-channel 3x3 convolution, as the filter words pair
// its taps: e0 = (v0, v2), o0 = (v1, v3), e1 = (v4, v6), o1 = (v5, v7), and v8 in the top half of
// t8 (v = input + input offset, padded taps 0).
typedef struct {
  uint32_t e0, o0, e1, o1, t8;
} c1_patch;

// Inner pixels: three word loads (bytes 0-3 of each window row), SXTAB16 adds the offset and
// unpacks, PKHBT/PKHTB put the halfwords in filter order: 12 instructions.
TK_INLINE c1_patch c1_3x3_inner(const int8_t* ip, int32_t W, uint32_t ioff2) {
  c1_patch v;
  const uint32_t r0 = tk_read32(ip), r1 = tk_read32(ip + W), r2 = tk_read32(ip + 2 * W);
  const uint32_t r0_13 = tk_sxtab16_ror8(ioff2, r0);    // (v1, -)
  const uint32_t r1_20 = tk_sxtab16_ror16(ioff2, r1);   // (v5, v3)
  const uint32_t r1_13 = tk_sxtab16_ror8(ioff2, r1);    // (v4, -)
  const uint32_t r2_13 = tk_sxtab16_ror8(ioff2, r2);    // (v7, -)
  v.e0 = tk_sxtab16(ioff2, r0);                         // (v0, v2)
  v.t8 = tk_sxtab16(ioff2, r2);                         // (v6, v8)
  v.o0 = tk_pkhtb(r1_20, r0_13);
  v.e1 = tk_pkhbt16(r1_13, v.t8);
  v.o1 = tk_pkhbt16(r1_20, r2_13);
  return v;
}

TK_INLINE c1_patch c1_3x3_patch(const tinyml_conv_params* p, const int8_t* input, uint32_t ioff2,
                                int32_t iy0, int32_t ix0) {
  if (iy0 >= 0 && iy0 + 3 <= p->in_h && ix0 >= 0 && ix0 + 4 <= p->in_w) {
    return c1_3x3_inner(input + iy0 * p->in_w + ix0, p->in_w, ioff2);
  }
  uint32_t even[TK_WORDS], odd[TK_WORDS];
  smallk_patch(p, input, iy0, ix0, 9, even, odd);
  c1_patch v = {even[0], odd[0], even[1], odd[1], even[2] << 16};
  return v;
}

// Per output channel of the fast one-channel 3x3 path, nine words (one block of loads, in the
// order the assembly reads them): rs - 1, the filter unpacked and doubled as the patch pairs it
// ((w0, w2), (w1, w3), (w4, w6), (w5, w7), w8), 2 * bias, multiplier, k (tk_k_offset).
enum { C1_RS1, C1_W0, C1_W1, C1_W2, C1_W3, C1_W4, C1_START, C1_MULT, C1_K, C1_WORDS };
// c1_channels' assembly reads these words at literal byte offsets: the compiler checks they agree.
_Static_assert(4 * C1_RS1 == 0 && 4 * C1_WORDS == 36, "ldr rs - 1 from [kp], #36 (next channel)");
_Static_assert(4 * C1_W0 == 4 && 4 * C1_W2 == 12, "ldrd of (w0, w2) (w1, w3) at #4, (w4, w6) (w5, w7) at #12");
_Static_assert(4 * C1_W4 == 20 && C1_START == C1_W4 + 1, "ldrd of w8 and the start at [kp, #20]");
_Static_assert(4 * C1_MULT == 28 && C1_K == C1_MULT + 1, "ldrd of multiplier and k at [kp, #28]");

TK_INLINE uint32_t c1_pair2(int8_t a, int8_t b) {
  return (uint32_t)(uint16_t)(2 * a) | ((uint32_t)(uint16_t)(2 * b) << 16);
}

// All output channels of one pixel: per channel 9 MACs, 17 instructions with the requantization.
TK_INLINE void c1_channels(const c1_patch* v, const int32_t* kp, const int32_t* end, int8_t* out) {
#ifdef TINYML_KERNELS_DSP
  int32_t A, B, S, R;
  __asm__ volatile(
      "1:\n\t"
      "ldrd %[A], %[S], [%[kp], #20]\n\t"  // w8, start
      "smlatb %[S], %[t8], %[A], %[S]\n\t"
      "ldrd %[A], %[B], [%[kp], #4]\n\t"
      "smlad %[S], %[e0], %[A], %[S]\n\t"
      "smlad %[S], %[o0], %[B], %[S]\n\t"
      "ldrd %[A], %[B], [%[kp], #12]\n\t"
      "smlad %[S], %[e1], %[A], %[S]\n\t"
      "smlad %[S], %[o1], %[B], %[S]\n\t"
      "ldrd %[A], %[B], [%[kp], #28]\n\t"  // multiplier, k
      "ldr %[R], [%[kp]], #36\n\t"         // rs - 1; next channel
      TK_OUTPUT_K_ASM("A", "S", "A", "B", "R")
      "strb %[A], [%[out]], #1\n\t"
      "cmp %[kp], %[end]\n\t"
      "bne 1b\n\t"
      : [kp] "+r"(kp), [out] "+r"(out), [A] "=&r"(A), [B] "=&r"(B), [S] "=&r"(S), [R] "=&r"(R)
      : [e0] "r"(v->e0), [o0] "r"(v->o0), [e1] "r"(v->e1), [o1] "r"(v->o1), [t8] "r"(v->t8),
        [end] "r"(end)
      : "memory", "cc");
#else
  for (; kp != end; kp += C1_WORDS) {
    int32_t acc = kp[C1_START];
    acc = tk_smlabb(v->t8 >> 16, (uint32_t)kp[C1_W4], acc);
    acc = tk_smlad(v->e0, (uint32_t)kp[C1_W0], acc);
    acc = tk_smlad(v->o0, (uint32_t)kp[C1_W1], acc);
    acc = tk_smlad(v->e1, (uint32_t)kp[C1_W2], acc);
    acc = tk_smlad(v->o1, (uint32_t)kp[C1_W3], acc);
    *out++ = (int8_t)tk_output_k(acc, kp[C1_MULT], kp[C1_K], kp[C1_RS1]);
  }
#endif
}

// The fast path: right shifts of at most TK_K_MAX_RIGHT_SHIFT, outputs saturated to int8.
static __attribute__((noinline)) void smallk_c1_3x3_k(const tinyml_conv_params* p,
                                                       const int8_t* input, const int8_t* filter,
                                                       const int32_t* bias, int8_t* output) {
  int32_t block[TK_CHUNK * C1_WORDS];
  const int32_t out_c = p->out_c;
  const uint32_t ioff2 = (uint32_t)(uint16_t)p->input_offset * 0x00010001u;
  const int32_t offset2p1 = 2 * p->output_offset + 1;
  for (int32_t oc = 0; oc < out_c; ++oc) {
    const int8_t* k = filter + 9 * oc;
    int32_t* b = block + C1_WORDS * oc;
    b[C1_RS1] = ~p->shift[oc];
    b[C1_W0] = (int32_t)c1_pair2(k[0], k[2]);
    b[C1_W1] = (int32_t)c1_pair2(k[1], k[3]);
    b[C1_W2] = (int32_t)c1_pair2(k[4], k[6]);
    b[C1_W3] = (int32_t)c1_pair2(k[5], k[7]);
    b[C1_W4] = (int32_t)c1_pair2(k[8], 0);
    b[C1_START] = 2 * (bias ? bias[oc] : 0);
    b[C1_MULT] = p->multiplier[oc];
    b[C1_K] = tk_k_offset(offset2p1, ~p->shift[oc]);
  }
  const int32_t* end = block + C1_WORDS * out_c;
  // Output columns whose patch is three whole words inside the input: [ox_lo, ox_hi).
  const int32_t sw = p->stride_w, W = p->in_w;
  const int32_t ox_lo = (p->pad_w + sw - 1) / sw;
  int32_t ox_hi = W - 4 + p->pad_w >= 0 ? (W - 4 + p->pad_w) / sw + 1 : 0;
  if (ox_hi > p->out_w) ox_hi = p->out_w;
  if (ox_hi < ox_lo) ox_hi = ox_lo;
  int8_t* out = output;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int rows_in = iy0 >= 0 && iy0 + 3 <= p->in_h;
    for (int32_t ox = 0; ox < p->out_w; ++ox, out += out_c) {
      if (rows_in && ox == ox_lo) {  // the run of inner pixels
        const int8_t* ip = input + iy0 * W + ox_lo * sw - p->pad_w;
        for (; ox < ox_hi; ++ox, out += out_c, ip += sw) {
          const c1_patch v = c1_3x3_inner(ip, W, ioff2);
          c1_channels(&v, block, end, out);
        }
        if (ox == p->out_w) break;
      }
      const c1_patch v = c1_3x3_patch(p, input, ioff2, iy0, ox * sw - p->pad_w);
      c1_channels(&v, block, end, out);
    }
  }
}

// --- Any small receptive field: kernel rows padded to words ------------------------------------
//
// Each kernel row's k_w * in_c taps are read as R = ceil(k_w * in_c / 4) words straight from the
// input row (the bytes past the row's taps meet zero weights), unpacked by SXTAB16 with the input
// offset into the halfword pairs SMLAD takes, and stored once per pixel as (even, odd) word pairs.
// Every output channel then costs, per four taps, one LDRD of the patch, one of its packed filter
// and two SMLAD; the requantization is the SMMLAR form.

// Per output channel: rs - 1, 2 * bias, multiplier, k, then its filter as (even, odd) word pairs,
// doubled, group by group: the order the assembly reads them.
enum { RK_RS1, RK_START, RK_MULT, RK_K, RK_WEIGHTS };
// RK_CHANNELS' assembly reads these words at literal byte offsets: the compiler checks they agree.
_Static_assert(4 * RK_RS1 == 0 && 4 * RK_START == 4, "ldr rs - 1 from [kp], the start from [kp, #4]");
_Static_assert(4 * RK_MULT == 8 && RK_K == RK_MULT + 1, "ldrd of multiplier and k at [kp, #8]");
_Static_assert(4 * RK_WEIGHTS == 16, "the packed filter starts at kp + 16");
#define RK_MAX_GROUPS 24
#define RK_BLOCK_BYTES 4096  // the stack the packed filter of a chunk of channels may take

TK_INLINE int32_t rk_row_words(const tinyml_conv_params* p) { return (p->k_w * p->in_c + 3) / 4; }

static int rk_applies(const tinyml_conv_params* p) {
  const int32_t groups = p->k_h * rk_row_words(p);
  return groups <= RK_MAX_GROUPS && (RK_WEIGHTS + 2 * groups) * 4 <= RK_BLOCK_BYTES &&
         tk_k_form_covered(p);
}

// One channel of the patch's groups: ldrd of the patch and of the filter, two SMLAD.
#ifdef TINYML_KERNELS_DSP
#define RK_GROUP                                  \
  "ldrd %[pe], %[po], [%[pp]], #8\n\t"            \
  "ldrd %[we], %[wo], [%[wp]], #8\n\t"            \
  "smlad %[s], %[pe], %[we], %[s]\n\t"            \
  "smlad %[s], %[po], %[wo], %[s]\n\t"
#endif

// All channels [block, block_end) of one pixel whose patch (groups pairs) is at patch.
TK_INLINE void rk_channels(const uint32_t* patch, int32_t groups, const int32_t* block,
                           const int32_t* block_end, int8_t* out) {
#ifdef TINYML_KERNELS_DSP
  const uint32_t* const patch_end = patch + 2 * groups;
  const int32_t* wp;
  const uint32_t* pp;
  int32_t s, pe, po, we, wo;
  // The group loop: straight code for the RGB 3x3 patch (nine groups), else unrolled by three
  // (kernel rows of three words) or not at all.
#define RK_CHANNELS(GROUPS, LOOP)                                                              \
  __asm__ volatile(                                                                            \
      "1:\n\t"                                                                                 \
      "ldr %[s], [%[kp], #4]\n\t"                                                              \
      "add %[wp], %[kp], #16\n\t"                                                              \
      "mov %[pp], %[patch]\n\t"                                                                \
      "2:\n\t" GROUPS LOOP                                                                     \
      "ldrd %[pe], %[po], [%[kp], #8]\n\t"                                                     \
      "ldr %[we], [%[kp]]\n\t"                                                                 \
      TK_OUTPUT_K_ASM("pe", "s", "pe", "po", "we")                                            \
      "strb %[pe], [%[out]], #1\n\t"                                                           \
      "mov %[kp], %[wp]\n\t"                                                                   \
      "cmp %[kp], %[kp_end]\n\t"                                                               \
      "bne 1b\n\t"                                                                             \
      : [kp] "+r"(block), [out] "+r"(out), [wp] "=&r"(wp), [pp] "=&r"(pp), [s] "=&r"(s),     \
        [pe] "=&r"(pe), [po] "=&r"(po), [we] "=&r"(we), [wo] "=&r"(wo)                        \
      : [patch] "r"(patch), [patch_end] "r"(patch_end), [kp_end] "r"(block_end)               \
      : "memory", "cc")
#define RK_NINE RK_GROUP RK_GROUP RK_GROUP RK_GROUP RK_GROUP RK_GROUP RK_GROUP RK_GROUP RK_GROUP
  if (groups == 9) {
    RK_CHANNELS(RK_NINE, "");
  } else if (groups % 3 == 0) {
    RK_CHANNELS(RK_GROUP RK_GROUP RK_GROUP, "cmp %[pp], %[patch_end]\n\tbne 2b\n\t");
  } else {
    RK_CHANNELS(RK_GROUP, "cmp %[pp], %[patch_end]\n\tbne 2b\n\t");
  }
#undef RK_NINE
#undef RK_CHANNELS
#else
  while (block != block_end) {
    int32_t acc = block[RK_START];
    const int32_t* w = block + RK_WEIGHTS;
    for (int32_t g = 0; g < groups; ++g, w += 2) {
      acc = tk_smlad(patch[2 * g], (uint32_t)w[0], acc);
      acc = tk_smlad(patch[2 * g + 1], (uint32_t)w[1], acc);
    }
    *out++ = (int8_t)tk_output_k(acc, block[RK_MULT], block[RK_K], block[RK_RS1]);
    block = w;
  }
#endif
}

// One kernel row of an inner pixel: R words of taps as (even, odd) pairs.
TK_INLINE void rk_unpack_row(const int8_t* ip, int32_t R, uint32_t ioff2, uint32_t* patch) {
  for (int32_t j = 0; j < R; ++j) {
    const uint32_t w = tk_read32(ip + 4 * j);
    patch[2 * j] = tk_sxtab16(ioff2, w);
    patch[2 * j + 1] = tk_sxtab16_ror8(ioff2, w);
  }
}

// Whether pixel (iy0, ix0) reads whole words inside the input for every kernel row.
TK_INLINE int rk_inner(const tinyml_conv_params* p, int32_t iy0, int32_t ix0, int32_t R) {
  return iy0 >= 0 && iy0 + p->k_h <= p->in_h && ix0 >= 0 &&
         ix0 * p->in_c + 4 * R <= p->in_w * p->in_c;
}

// The patch of output pixel (iy0, ix0): per kernel row, R words of taps as (even, odd) pairs.
TK_INLINE void rk_patch(const tinyml_conv_params* p, const int8_t* input, int32_t iy0,
                        int32_t ix0, int32_t R, uint32_t ioff2, uint32_t* patch) {
  const int32_t C = p->in_c, W = p->in_w, row_taps = p->k_w * C;
  if (rk_inner(p, iy0, ix0, R)) {
    const int8_t* ip = input + (iy0 * W + ix0) * C;
    if (R == 3 && p->k_h == 3) {  // RGB 3x3: constant trip counts
      rk_unpack_row(ip, 3, ioff2, patch);
      rk_unpack_row(ip + W * C, 3, ioff2, patch + 6);
      rk_unpack_row(ip + 2 * W * C, 3, ioff2, patch + 12);
      return;
    }
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      rk_unpack_row(ip + ky * W * C, R, ioff2, patch + 2 * R * ky);
    }
    return;
  }
  for (int32_t ky = 0; ky < p->k_h; ++ky, patch += 2 * R) {
    const int32_t iy = iy0 + ky;
    int16_t v[4 * RK_MAX_GROUPS];  // this row's taps, padding and the word tail 0
    for (int32_t t = 0; t < 4 * R; ++t) {
      const int32_t ix = ix0 + t / C;
      const int inside = t < row_taps && iy >= 0 && iy < p->in_h && ix >= 0 && ix < W;
      v[t] = inside ? (int16_t)(input[(iy * W + ix) * C + t % C] + p->input_offset) : 0;
    }
    for (int32_t j = 0; j < R; ++j) {
      patch[2 * j] = tk_half(v[4 * j]) | (tk_half(v[4 * j + 2]) << 16);
      patch[2 * j + 1] = tk_half(v[4 * j + 1]) | (tk_half(v[4 * j + 3]) << 16);
    }
  }
}

static __attribute__((noinline)) void smallk_rows_k(const tinyml_conv_params* p,
                                                     const int8_t* input, const int8_t* filter,
                                                     const int32_t* bias, int8_t* output) {
  int32_t block[RK_BLOCK_BYTES / 4];
  uint32_t patch[2 * RK_MAX_GROUPS];
  const int32_t R = rk_row_words(p), groups = p->k_h * R, row_taps = p->k_w * p->in_c;
  const int32_t words = RK_WEIGHTS + 2 * groups, chunk = (RK_BLOCK_BYTES / 4) / words;
  const uint32_t ioff2 = (uint32_t)(uint16_t)p->input_offset * 0x00010001u;
  const int32_t offset2p1 = 2 * p->output_offset + 1, taps = p->k_h * row_taps;
  for (int32_t c0 = 0; c0 < p->out_c; c0 += chunk) {
    const int32_t n = p->out_c - c0 < chunk ? p->out_c - c0 : chunk;
    for (int32_t oc = 0; oc < n; ++oc) {
      int32_t* b = block + oc * words;
      const int8_t* k = filter + (c0 + oc) * taps;
      b[RK_RS1] = ~p->shift[c0 + oc];
      b[RK_START] = 2 * (bias ? bias[c0 + oc] : 0);
      b[RK_MULT] = p->multiplier[c0 + oc];
      b[RK_K] = tk_k_offset(offset2p1, b[RK_RS1]);
      uint32_t* w = (uint32_t*)b + RK_WEIGHTS;
      for (int32_t ky = 0; ky < p->k_h; ++ky) {
        for (int32_t t = 0; t < 4 * R; t += 4, w += 2) {
          int32_t q[4];
          for (int32_t i = 0; i < 4; ++i) {
            q[i] = t + i < row_taps ? 2 * k[ky * row_taps + t + i] : 0;
          }
          w[0] = tk_half(q[0]) | (tk_half(q[2]) << 16);
          w[1] = tk_half(q[1]) | (tk_half(q[3]) << 16);
        }
      }
    }
    const int32_t* block_end = block + n * words;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        rk_patch(p, input, oy * p->stride_h - p->pad_h, ox * p->stride_w - p->pad_w, R, ioff2,
                 patch);
        rk_channels(patch, groups, block, block_end,
                    output + (oy * p->out_w + ox) * p->out_c + c0);
      }
    }
  }
}

void tinyml_conv_smallk_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                           const int32_t* bias, int8_t* output) {
  const int32_t taps = p->k_h * p->k_w * p->in_c;
  const int full_range = p->act_min == -128 && p->act_max == 127;
  // The first layers of image networks: grayscale 3x3 specialised, then any kernel. The fast
  // paths saturate to int8; a narrower activation range is a pass over the output.
  if (p->in_c == 1 && p->k_h == 3 && p->k_w == 3 && p->out_c <= TK_CHUNK &&
      tk_k_form_covered(p)) {
    smallk_c1_3x3_k(p, input, filter, bias, output);
  } else if (rk_applies(p)) {
    smallk_rows_k(p, input, filter, bias, output);
  } else {
    smallk_run(p, input, filter, bias, output, taps, full_range);
    return;
  }
  if (!full_range) {
    tk_clamp_outputs(output, p->out_h * p->out_w * p->out_c, p->act_min, p->act_max);
  }
}
