// Any int8 convolution (see tinyml_kernels.h): the standard KxK convolution, 1xK / Kx1 of 1-D
// models, strided 1x1, first layers with too many taps for the small-k kernel.
//
// Per pair of output pixels the receptive fields (K = k_h * k_w * in_c taps each) are gathered
// once into int16 with the input offset added (padded taps 0), in the order SXTB16 unpacks a
// filter word: for each group of four taps, pixel 0's (x0, x2), (x1, x3), then pixel 1's; the
// last K % 4 taps follow in plain order. Then every pair of output channels reads its int8 filter
// rows straight from the model and accumulates both pixels: per four taps two filter words, four
// SXTB16, two LDRD and eight SMLAD (16 MACs in 16 instructions, 16.5 with the loop).
//
// Gathering: a pair whose fields lie inside the input with whole groups per kernel row
// (in_c % 4 == 0) in one assembly loop (about 1.25 instructions per tap and pixel, shared by all
// output channels); fields with in_c % 4 != 0 are first copied as int8 with the zero point in
// padded taps; border pixels run by run. In the fast requantization (right shifts of 1..23) one
// assembly block does all channel pairs of a pixel pair, outputs in the k form
// (tinyml_kernels_common.h) and the activation clamp in a pass at the end; K < 4, an odd last
// pixel or channel, and the exact requantization take the C loop.
//
// The int16 buffer is the scratch buffer CMSIS-NN's conv Prepare already requests for
// arm_convolve_s8 (2 * K int16, arm_convolve_s8_get_buffer_size): the arena is unchanged.
#include <stddef.h>

#include "tinyml_kernels_common.h"

int tinyml_conv_s8_covers(const tinyml_conv_params* p, const int32_t* bias) {
  (void)bias;  // any bias: channels the fast requantization cannot take requantize exactly
  if (p->in_c < 1 || p->out_c < 1 || p->k_h < 1 || p->k_w < 1) return 0;
  if (p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0) return 0;
  if (p->out_h < 1 || p->out_w < 1 || p->in_h < 1 || p->in_w < 1) return 0;
  // CMSIS-NN requests no scratch for a stride-1 unpadded 1x1 (arm_convolve_1x1_s8_fast).
  if (p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
      p->pad_w == 0) {
    return 0;
  }
  return tk_quant_exact_covered(p);
}

// Halfword index of tap t of pixel slot s (0, 1) in the buffer (G groups of four taps, R rest).
TK_INLINE int32_t cv_index(int32_t t, int32_t s, int32_t G, int32_t R) {
  if (t < 4 * G) return 2 * (t & ~3) + 4 * s + 2 * (t & 1) + ((t >> 1) & 1);
  return 8 * G + s * R + (t - 4 * G);
}

TK_INLINE void cv_put(uint32_t* buf, int32_t index, int32_t value) {
  const int16_t v = (int16_t)value;
  memcpy((int16_t*)buf + index, &v, 2);
}

// Writes the n taps of a run from tap t on (ip: n contiguous input bytes; NULL: padding, zeros);
// returns the next tap. Whole groups of four take the word path.
static int32_t cv_run(uint32_t* buf, int32_t s, int32_t G, int32_t R, int32_t t, const int8_t* ip,
                      int32_t n, int32_t input_offset, uint32_t offset2) {
  for (; n > 0 && (t & 3); --n, ++t) cv_put(buf, cv_index(t, s, G, R), ip ? *ip++ + input_offset : 0);
  int32_t words = t < 4 * G ? (4 * G - t) / 4 : 0;  // whole groups left before the tail
  if (words > n / 4) words = n / 4;
  uint32_t* d = buf + t + 2 * s;
  t += 4 * words, n -= 4 * words;
  if (ip) {
    for (; words > 0; --words, ip += 4, d += 4) {
      const uint32_t w = tk_read32(ip);
      d[0] = tk_sxtab16(offset2, w);       // (x0, x2) + offset
      d[1] = tk_sxtab16_ror8(offset2, w);  // (x1, x3) + offset
    }
  } else {
    for (; words > 0; --words, d += 4) d[0] = d[1] = 0;
  }
  for (; n > 0; --n, ++t) cv_put(buf, cv_index(t, s, G, R), ip ? *ip++ + input_offset : 0);
  return t;
}

// The receptive field of output pixel n into slot s.
static void cv_gather(const tinyml_conv_params* p, const int8_t* input, int32_t n, int32_t s,
                      uint32_t* buf, int32_t G, int32_t R, uint32_t offset2) {
  const int32_t C = p->in_c, oy = n / p->out_w, ox = n - oy * p->out_w;
  const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
  const int cols_in = ix0 >= 0 && ix0 + p->k_w <= p->in_w;
  int32_t t = 0;
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky;
    const int row_in = iy >= 0 && iy < p->in_h;
    const int8_t* row = input + (iy * p->in_w + ix0) * C;
    if (row_in && cols_in) {  // the whole kernel row: contiguous bytes
      t = cv_run(buf, s, G, R, t, row, p->k_w * C, p->input_offset, offset2);
      continue;
    }
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int in = row_in && ix0 + kx >= 0 && ix0 + kx < p->in_w;
      t = cv_run(buf, s, G, R, t, in ? row + kx * C : 0, C, p->input_offset, offset2);
    }
  }
}

// Both pixels of a pair whose whole receptive fields lie inside the input, in_c % 4 == 0 (every
// kernel row is whole groups): ip0, ip1 their first kernel rows, k_h rows of `row_words` words,
// `pitch` bytes apart.
static void cv_gather_pair_inner(const int8_t* ip0, const int8_t* ip1, int32_t k_h,
                                 int32_t row_words, int32_t pitch, uint32_t* d, uint32_t offset2) {
  for (int32_t ky = 0; ky < k_h; ++ky, ip0 += pitch, ip1 += pitch) {
    const int8_t* a = ip0;
    const int8_t* b = ip1;
#ifdef TINYML_KERNELS_DSP
    const int8_t* a_end = a + 4 * row_words;
    uint32_t w0, w1, e0, e1;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[w0], [%[a]], #4\n\t"
        "ldr %[w1], [%[b]], #4\n\t"
        "sxtab16 %[e0], %[o], %[w0]\n\t"
        "sxtab16 %[w0], %[o], %[w0], ror #8\n\t"
        "sxtab16 %[e1], %[o], %[w1]\n\t"
        "sxtab16 %[w1], %[o], %[w1], ror #8\n\t"
        "strd %[e1], %[w1], [%[d], #8]\n\t"
        "strd %[e0], %[w0], [%[d]], #16\n\t"
        "cmp %[a], %[end]\n\t"
        "bne 1b\n\t"
        : [a] "+r"(a), [b] "+r"(b), [d] "+r"(d), [w0] "=&r"(w0), [w1] "=&r"(w1), [e0] "=&r"(e0),
          [e1] "=&r"(e1)
        : [o] "r"(offset2), [end] "r"(a_end)
        : "memory", "cc");
#else
    for (int32_t i = 0; i < row_words; ++i, a += 4, b += 4, d += 4) {
      const uint32_t w0 = tk_read32(a), w1 = tk_read32(b);
      d[0] = tk_sxtab16(offset2, w0);
      d[1] = tk_sxtab16_ror8(offset2, w0);
      d[2] = tk_sxtab16(offset2, w1);
      d[3] = tk_sxtab16_ror8(offset2, w1);
    }
#endif
  }
}

// Receptive fields up to this many taps whose kernel rows are not whole groups (in_c % 4 != 0: a
// first layer of 3 channels) are first copied as int8, padded with the zero point, into two
// stack buffers (1 KiB), then expanded like inner pixels; longer ones go tap by tap.
#define CV_PATCH_MAX 512

// n bytes from ip (NULL: n bytes of the zero point zp4, replicated) to d: words, then bytes.
TK_INLINE int8_t* cv_copy(int8_t* d, const int8_t* ip, int32_t n, uint32_t zp4) {
  int32_t i = 0;
  if (ip) {
    for (; i + 4 <= n; i += 4) tk_write32(d + i, tk_read32(ip + i));
    for (; i < n; ++i) d[i] = ip[i];
  } else {
    for (; i + 4 <= n; i += 4) tk_write32(d + i, zp4);
    for (; i < n; ++i) d[i] = (int8_t)zp4;
  }
  return d + n;
}

// Output pixel n's receptive field as int8, the zero point in padded taps (the offset makes them 0).
static void cv_patch(const tinyml_conv_params* p, const int8_t* input, int32_t n, int8_t* d) {
  const int32_t C = p->in_c, oy = n / p->out_w, ox = n - oy * p->out_w;
  const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
  const uint32_t zp4 = (uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u;
  const int cols_in = ix0 >= 0 && ix0 + p->k_w <= p->in_w;
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky;
    const int row_in = iy >= 0 && iy < p->in_h;
    const int8_t* row = input + (iy * p->in_w + ix0) * C;
    if (!row_in || cols_in) {
      d = cv_copy(d, row_in ? row : 0, p->k_w * C, zp4);
      continue;
    }
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int in = ix0 + kx >= 0 && ix0 + kx < p->in_w;
      d = cv_copy(d, in ? row + kx * C : 0, C, zp4);
    }
  }
}

// Where output pixel n's receptive field starts in the input, and whether it lies wholly inside.
TK_INLINE const int8_t* cv_inner_start(const tinyml_conv_params* p, const int8_t* input, int32_t n) {
  const int32_t oy = n / p->out_w, ox = n - oy * p->out_w;
  const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
  if (iy0 < 0 || iy0 + p->k_h > p->in_h || ix0 < 0 || ix0 + p->k_w > p->in_w) return 0;
  return input + (iy0 * p->in_w + ix0) * p->in_c;
}

TK_INLINE int32_t cv_half(const uint32_t* buf, int32_t index) {
  int16_t v;
  memcpy(&v, (const int16_t*)buf + index, 2);
  return v;
}

#ifdef TINYML_KERNELS_DSP
// One group of four taps, two channels (weights at wp and wp + K), both pixels (xp). In C, GCC
// spills accumulators; here 14 registers hold everything.
#define CV_GROUP                              \
  "ldr %[w1e], [%[wp], %[k]]\n\t"             \
  "ldr %[w0e], [%[wp]], #4\n\t"               \
  "ldrd %[xa], %[xb], [%[xp]], #16\n\t"       \
  "sxtb16 %[w1o], %[w1e], ror #8\n\t"         \
  "sxtb16 %[w1e], %[w1e]\n\t"                 \
  "sxtb16 %[w0o], %[w0e], ror #8\n\t"         \
  "sxtb16 %[w0e], %[w0e]\n\t"                 \
  "smlad %[a00], %[xa], %[w0e], %[a00]\n\t"   \
  "smlad %[a00], %[xb], %[w0o], %[a00]\n\t"   \
  "smlad %[a01], %[xa], %[w1e], %[a01]\n\t"   \
  "smlad %[a01], %[xb], %[w1o], %[a01]\n\t"   \
  "ldrd %[xa], %[xb], [%[xp], #-8]\n\t"       \
  "smlad %[a10], %[xa], %[w0e], %[a10]\n\t"   \
  "smlad %[a10], %[xb], %[w0o], %[a10]\n\t"   \
  "smlad %[a11], %[xa], %[w1e], %[a11]\n\t"   \
  "smlad %[a11], %[xb], %[w1o], %[a11]\n\t"
#define CV_OPERANDS                                                                          \
  : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [xp] "+r"(xp),      \
    [wp] "+r"(wp), [w0e] "=&r"(w0e), [w0o] "=&r"(w0o), [w1e] "=&r"(w1e), [w1o] "=&r"(w1o), \
    [xa] "=&r"(xa), [xb] "=&r"(xb)
#endif

// Two output channels (filter rows at wp, wp + K) of both pixels: acc[0..3] = (px0 ch0, px0 ch1,
// px1 ch0, px1 ch1), started by the caller.
TK_INLINE void cv_two_channels(const uint32_t* buf, const int8_t* wp, int32_t K, int32_t G,
                               int32_t R, int32_t* acc) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  const uint32_t* xp = buf;
#ifdef TINYML_KERNELS_DSP
  uint32_t w0e, w0o, w1e, w1o, xa, xb;
  if (G & 1) {
    __asm__(CV_GROUP CV_OPERANDS : [k] "r"(K) : "memory");
  }
  if (G >= 2) {
    const uint32_t* xend = buf + 4 * G;
    __asm__("1:\n\t" CV_GROUP CV_GROUP
            "cmp %[xp], %[xend]\n\t"
            "bne 1b\n\t" CV_OPERANDS
            : [k] "r"(K), [xend] "r"(xend)
            : "memory", "cc");
  }
#else
  for (int32_t g = 0; g < G; ++g, wp += 4, xp += 4) {
    const uint32_t w0 = tk_read32(wp), w1 = tk_read32(wp + K);
    const uint32_t w0e = tk_sxtb16(w0), w0o = tk_sxtb16_ror8(w0);
    const uint32_t w1e = tk_sxtb16(w1), w1o = tk_sxtb16_ror8(w1);
    a00 = tk_smlad(xp[0], w0e, tk_smlad(xp[1], w0o, a00));
    a01 = tk_smlad(xp[0], w1e, tk_smlad(xp[1], w1o, a01));
    a10 = tk_smlad(xp[2], w0e, tk_smlad(xp[3], w0o, a10));
    a11 = tk_smlad(xp[2], w1e, tk_smlad(xp[3], w1o, a11));
  }
#endif
  for (int32_t r = 0; r < R; ++r) {  // the last K % 4 taps (wp now at tap 4 * G)
    const int32_t x0 = cv_half(buf, 8 * G + r), x1 = cv_half(buf, 8 * G + R + r);
    const int32_t w0 = wp[r], w1 = wp[K + r];
    a00 += x0 * w0;
    a01 += x0 * w1;
    a10 += x1 * w0;
    a11 += x1 * w1;
  }
  acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

// One output channel (the last of an odd count) of both pixels.
TK_INLINE void cv_one_channel(const uint32_t* buf, const int8_t* wp, int32_t G, int32_t R,
                              int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1];
  const uint32_t* xp = buf;
  for (int32_t g = 0; g < G; ++g, wp += 4, xp += 4) {
    const uint32_t w = tk_read32(wp);
    const uint32_t we = tk_sxtb16(w), wo = tk_sxtb16_ror8(w);
    a0 = tk_smlad(xp[0], we, tk_smlad(xp[1], wo, a0));
    a1 = tk_smlad(xp[2], we, tk_smlad(xp[3], wo, a1));
  }
  for (int32_t r = 0; r < R; ++r) {
    a0 += cv_half(buf, 8 * G + r) * wp[r];
    a1 += cv_half(buf, 8 * G + R + r) * wp[r];
  }
  acc[0] = a0, acc[1] = a1;
}

// The constants of a pair of output channels, in the order the assembly loads them: accumulator
// starts (bias), then per channel multiplier, k (tk_k_offset; exact mode: the shift) and rs - 1.
typedef struct {
  int32_t start[2];
  int32_t multiplier0, k0, rs1_0;
  int32_t multiplier1, k1, rs1_1;
} cv_pair;

// Output channels whose constants are on the stack at a time (1 KiB); a layer with more gathers
// its receptive fields once per chunk.
#define CV_CHUNK 64

// CV_FAST: every channel takes the fast requantization in its k form (right shifts of 1..23,
// accumulators below 2^30), outputs saturated to int8 and the activation range clamped in a pass
// at the end; CV_EXACT: TFLite's 64-bit arithmetic for every channel, clamped as it goes.
enum { CV_FAST, CV_EXACT };

TK_INLINE int8_t cv_output(int32_t acc, int32_t multiplier, int32_t k_or_shift, int32_t rs1,
                           const tinyml_conv_params* p, int mode) {
  if (mode == CV_EXACT) {
    return tk_output_exact(acc, multiplier, k_or_shift, p->output_offset, p->act_min, p->act_max);
  }
  return (int8_t)tk_output_k(2 * acc, multiplier, k_or_shift, rs1);
}

#ifdef TINYML_KERNELS_DSP
// What the assembly of one pixel pair reloads between channel pairs (it has no register left: its
// pointer waits on the stack).
typedef struct {
  const cv_pair* q;       // the channel pair's constants
  const cv_pair* q_end;
  int8_t* out;            // pixel 0's output of the pair's first channel
  int32_t out_step;       // M: pixel 1's output is out + M
  const uint32_t* buf;
  int32_t skip;           // (-G) % 4: the loop runs four groups a pass, the first 4 - skip
  int32_t w_step;         // 2K - 4G - R: from where one filter row's taps end to the next pair's
  int32_t tail;           // R = K % 4
} cv_state;
// The assembly's literal offsets into cv_state and cv_pair: the compiler checks they agree.
_Static_assert(offsetof(cv_state, q) == 0 && offsetof(cv_state, q_end) == 4, "q #0, q_end #4");
_Static_assert(offsetof(cv_state, out) == 8 && offsetof(cv_state, out_step) == 12, "#8, #12");
_Static_assert(offsetof(cv_state, buf) == 16 && offsetof(cv_state, skip) == 20, "#16, #20");
_Static_assert(offsetof(cv_state, w_step) == 24 && offsetof(cv_state, tail) == 28, "#24, #28");
_Static_assert(offsetof(cv_pair, multiplier0) == 8 && offsetof(cv_pair, rs1_0) == 16, "#8, #16");
_Static_assert(offsetof(cv_pair, multiplier1) == 20 && offsetof(cv_pair, rs1_1) == 28, "#20");
_Static_assert(sizeof(cv_pair) == 32, "next pair #32");

// Every channel pair of one pixel pair in the fast mode (at least one group of four taps): per
// pair the two filter rows against both pixels (CV_GROUP; with CV_TAIL the K % 4 last taps one by
// one), then the four outputs in the k form. The state pointer is pushed so that its register
// serves as a temporary (xb).
#define CV_PAIRS_LOOP \
      "str %[xb], [sp, #-8]!\n\t" /* the state pointer (8-byte aligned stack) */ \
      "2:\n\t" \
      "ldr %[xb], [sp]\n\t" \
      "ldr %[xa], [%[xb]]\n\t" /* q */ \
      "ldrd %[a00], %[a01], [%[xa]]\n\t" \
      "mov %[a10], %[a00]\n\t" \
      "mov %[a11], %[a01]\n\t" \
      "ldr %[xp], [%[xb], #16]\n\t" /* buf */ \
      "ldr %[xb], [%[xb], #20]\n\t" /* skip: the first pass runs 4 - skip groups */ \
      "cmp %[xb], #2\n\t" \
      "beq 5f\n\t" \
      "bhi 6f\n\t" \
      "cmp %[xb], #1\n\t" \
      "beq 4f\n\t" \
      "1:\n\t" CV_GROUP \
      "4:\n\t" CV_GROUP \
      "5:\n\t" CV_GROUP \
      "6:\n\t" CV_GROUP \
      "cmp %[xp], %[xend]\n\t" \
      "bne 1b\n\t"
#define CV_TAIL \
      /* the last K % 4 taps, one at a time: pixel 0's after the groups (xp), then pixel 1's */ \
      "ldr %[xb], [sp]\n\t" \
      "ldr %[xb], [%[xb], #28]\n\t" /* tail: R > 0 */ \
      "add %[xa], %[xp], %[xb], lsl #1\n\t" \
      "8:\n\t" \
      "ldrsh %[w0e], [%[xp]], #2\n\t" \
      "ldrsh %[w0o], [%[xa]], #2\n\t" \
      "ldrsb %[w1e], [%[wp], %[k]]\n\t" \
      "ldrsb %[w1o], [%[wp]], #1\n\t" \
      "mla %[a00], %[w0e], %[w1o], %[a00]\n\t" \
      "mla %[a01], %[w0e], %[w1e], %[a01]\n\t" \
      "mla %[a10], %[w0o], %[w1o], %[a10]\n\t" \
      "mla %[a11], %[w0o], %[w1e], %[a11]\n\t" \
      "subs %[xb], %[xb], #1\n\t" \
      "bne 8b\n\t"
#define CV_PAIRS_OUTPUTS \
      /* outputs: channel 0 of both pixels, then channel 1 */ \
      "ldr %[xp], [sp]\n\t" \
      "ldr %[xa], [%[xp]]\n\t" /* q */ \
      "ldr %[xb], [%[xp], #8]\n\t" /* out */ \
      "ldr %[xp], [%[xp], #12]\n\t" /* out_step */ \
      "ldrd %[w0e], %[w0o], [%[xa], #8]\n\t" \
      "ldr %[w1e], [%[xa], #16]\n\t" \
      "add %[a00], %[a00], %[a00]\n\t" \
      TK_OUTPUT_K_ASM("w1o", "a00", "w0e", "w0o", "w1e") \
      "strb %[w1o], [%[xb]]\n\t" \
      "add %[a10], %[a10], %[a10]\n\t" \
      TK_OUTPUT_K_ASM("w1o", "a10", "w0e", "w0o", "w1e") \
      "strb %[w1o], [%[xb], %[xp]]\n\t" \
      "ldrd %[w0e], %[w0o], [%[xa], #20]\n\t" \
      "ldr %[w1e], [%[xa], #28]\n\t" \
      "add %[xb], %[xb], #1\n\t" \
      "add %[a01], %[a01], %[a01]\n\t" \
      TK_OUTPUT_K_ASM("w1o", "a01", "w0e", "w0o", "w1e") \
      "strb %[w1o], [%[xb]]\n\t" \
      "add %[a11], %[a11], %[a11]\n\t" \
      TK_OUTPUT_K_ASM("w1o", "a11", "w0e", "w0o", "w1e") \
      "strb %[w1o], [%[xb], %[xp]]\n\t" \
      "add %[xb], %[xb], #1\n\t" \
      "ldr %[xp], [sp]\n\t" \
      "str %[xb], [%[xp], #8]\n\t" /* out */ \
      "add %[xa], %[xa], #32\n\t" \
      "str %[xa], [%[xp]]\n\t" /* q */ \
      "ldr %[w0e], [%[xp], #24]\n\t" /* w_step */ \
      "add %[wp], %[wp], %[w0e]\n\t" \
      "ldr %[w0e], [%[xp], #4]\n\t" /* q_end */ \
      "cmp %[xa], %[w0e]\n\t" \
      "bne 2b\n\t" \
      "add sp, sp, #8\n\t"
#define CV_PAIRS_OPERANDS \
      : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [xp] "=&r"(xp), \
        [wp] "+r"(wp), [w0e] "=&r"(w0e), [w0o] "=&r"(w0o), [w1e] "=&r"(w1e), [w1o] "=&r"(w1o), \
        [xa] "=&r"(xa), [xb] "+r"(st) \
      : [k] "r"(K), [xend] "r"(xend) \
      : "memory", "cc"

#define CV_PAIRS_FUNCTION(NAME, TAIL)                                                     \
  static __attribute__((noinline)) void NAME(cv_state* st, const int8_t* wp, int32_t K,   \
                                             const uint32_t* xend) {                      \
    int32_t a00, a01, a10, a11;                                                           \
    uint32_t w0e, w0o, w1e, w1o, xa;                                                      \
    const uint32_t* xp;                                                                   \
    __asm__ volatile(CV_PAIRS_LOOP TAIL CV_PAIRS_OUTPUTS CV_PAIRS_OPERANDS);              \
  }
CV_PAIRS_FUNCTION(cv_pairs_asm, "")
CV_PAIRS_FUNCTION(cv_pairs_tail_asm, CV_TAIL)
#endif

TK_INLINE void cv_run_layer(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                            const int32_t* bias, int8_t* output, uint32_t* buf, int mode) {
  cv_pair ch[CV_CHUNK / 2];
  const int32_t K = p->k_h * p->k_w * p->in_c, G = K / 4, R = K % 4;
  const int32_t N = p->out_h * p->out_w, M = p->out_c;
  const int32_t o2 = 2 * p->output_offset + 1;
  const uint32_t offset2 = tk_half(p->input_offset) * 0x00010001u;
  const int rows_whole = p->in_c % 4 == 0;  // kernel rows of whole groups: the paired gather
  const int patched = !rows_whole && K <= CV_PATCH_MAX;
  uint32_t patch[2][CV_PATCH_MAX / 4];  // words: the expansion reads them aligned
  for (int32_t c0 = 0; c0 < M; c0 += CV_CHUNK) {
    const int32_t chunk = M - c0 < CV_CHUNK ? M - c0 : CV_CHUNK;
    for (int32_t i = 0; i < chunk; ++i) {
      const int32_t c = c0 + i;
      cv_pair* e = ch + i / 2;
      const int32_t k = mode == CV_EXACT ? p->shift[c] : tk_k_offset(o2, ~p->shift[c]);
      e->start[i & 1] = bias ? bias[c] : 0;
      if (i & 1) {
        e->multiplier1 = p->multiplier[c], e->k1 = k, e->rs1_1 = ~p->shift[c];
      } else {
        e->multiplier0 = p->multiplier[c], e->k0 = k, e->rs1_0 = ~p->shift[c];
      }
    }
    const cv_pair* q_end = ch + chunk / 2;
    const int8_t* filter0 = filter + c0 * K;
    for (int32_t n = 0; n < N; n += 2) {
      const int pair = n + 1 < N;  // an odd last pixel is gathered twice, written once
      const int8_t* ip0 = rows_whole ? cv_inner_start(p, input, n) : 0;
      const int8_t* ip1 = ip0 && pair ? cv_inner_start(p, input, n + 1) : 0;
      if (patched) {
        cv_patch(p, input, n, (int8_t*)patch[0]);
        cv_patch(p, input, pair ? n + 1 : n, (int8_t*)patch[1]);
        if (G > 0) {
          cv_gather_pair_inner((const int8_t*)patch[0], (const int8_t*)patch[1], 1, G, 0, buf,
                               offset2);
        }
        for (int32_t r = 0; r < R; ++r) {
          cv_put(buf, 8 * G + r, ((const int8_t*)patch[0])[4 * G + r] + p->input_offset);
          cv_put(buf, 8 * G + R + r, ((const int8_t*)patch[1])[4 * G + r] + p->input_offset);
        }
      } else if (ip1) {
        cv_gather_pair_inner(ip0, ip1, p->k_h, p->k_w * p->in_c / 4, p->in_w * p->in_c, buf,
                             offset2);
      } else {
        cv_gather(p, input, n, 0, buf, G, R, offset2);
        cv_gather(p, input, pair ? n + 1 : n, 1, buf, G, R, offset2);
      }
      int8_t* out0 = output + n * M + c0;
      const cv_pair* q = ch;
      const int8_t* wp = filter0;
#ifdef TINYML_KERNELS_DSP
      if (mode == CV_FAST && G > 0 && pair && q != q_end) {
        cv_state st = {q, q_end, out0, M, buf, (4 - G % 4) % 4, 2 * K - 4 * G - R, R};
        if (R) {  // advances st: read no more of it
          cv_pairs_tail_asm(&st, wp, K, buf + 4 * G);
        } else {
          cv_pairs_asm(&st, wp, K, buf + 4 * G);
        }
        wp += (q_end - q) * 2 * K;
        out0 += (q_end - q) * 2;
        q = q_end;
      }
#endif
      for (; q != q_end; ++q, wp += 2 * K, out0 += 2) {
        int32_t acc[4] = {q->start[0], q->start[1], q->start[0], q->start[1]};
        cv_two_channels(buf, wp, K, G, R, acc);
        out0[0] = cv_output(acc[0], q->multiplier0, q->k0, q->rs1_0, p, mode);
        out0[1] = cv_output(acc[1], q->multiplier1, q->k1, q->rs1_1, p, mode);
        if (pair) {
          out0[M] = cv_output(acc[2], q->multiplier0, q->k0, q->rs1_0, p, mode);
          out0[M + 1] = cv_output(acc[3], q->multiplier1, q->k1, q->rs1_1, p, mode);
        }
      }
      if (chunk & 1) {
        int32_t acc[2] = {q->start[0], q->start[0]};
        cv_one_channel(buf, wp, G, R, acc);
        out0[0] = cv_output(acc[0], q->multiplier0, q->k0, q->rs1_0, p, mode);
        if (pair) out0[M] = cv_output(acc[1], q->multiplier0, q->k0, q->rs1_0, p, mode);
      }
    }
  }
  if (mode == CV_FAST && (p->act_min > -128 || p->act_max < 127)) {
    tk_clamp_outputs(output, N * M, p->act_min, p->act_max);
  }
}

void tinyml_conv_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                    const int32_t* bias, int8_t* output, void* scratch) {
  const int32_t K = p->k_h * p->k_w * p->in_c;
  uint32_t* buf = (uint32_t*)scratch;
  if (tk_quant_covered(p, bias, K) && tk_k_form_covered(p)) {
    cv_run_layer(p, input, filter, bias, output, buf, CV_FAST);
  } else {
    cv_run_layer(p, input, filter, bias, output, buf, CV_EXACT);
  }
}
