// Pointwise 1x1 convolution, stride 1, no padding, int8 (see tinyml_kernels.h).
//
// Register blocking: four output channels x two pixels, eight accumulators. The weights of a
// block of four channels are unpacked once (SXTB16 into int16 pairs, interleaved per four input
// channels) into a stack buffer and reused for every pixel, so each four input channels of a
// pixel pair cost two input words, four SXTB16, eight weight loads and sixteen SMLAD (32 MACs).
// The input offset is folded into the accumulator start (bias + input offset * sum of weights).
// CMSIS-NN's arm_convolve_1x1_s8_fast (pinned library) unpacks both operands in a 2x2 block.
#include "tinyml_kernels_common.h"

// Any right shift and bias: blocks of four channels that the fast requantization does not take
// (a shift of 0, an accumulator that may reach 2^30) accumulate undoubled and requantize exactly.
int tinyml_conv1x1_s8_covers(const tinyml_conv_params* p, const int32_t* bias) {
  (void)bias;
  if (p->k_h != 1 || p->k_w != 1 || p->stride_h != 1 || p->stride_w != 1) return 0;
  if (p->pad_h != 0 || p->pad_w != 0 || p->in_c < 1 || p->out_c < 1) return 0;
  if (p->in_c > TINYML_1X1_MAX_IN_C) return 0;
  if (p->out_h != p->in_h || p->out_w != p->in_w || p->out_h < 1 || p->out_w < 1) return 0;
  return tk_quant_exact_covered(p);
}

// The last (in_c % 4) bytes of a run as a word, zeros after them (no read past the run).
TK_INLINE uint32_t pw_tail(const int8_t* q, int32_t rest) {
  uint32_t w = (uint8_t)q[0];
  if (rest > 1) w |= (uint32_t)(uint8_t)q[1] << 8;
  if (rest > 2) w |= (uint32_t)(uint8_t)q[2] << 16;
  return w;
}

// Weights of channels [c0, c0 + 4), doubled when `doubled` (2 * int8 fits int16: the accumulators
// come out doubled, as the fast requantization's SMMULR wants them; |2 * acc| < 2^31): per step of
// four input channels, the words (w0 even, w1 even, w2 even, w3 even, w0 odd, ..., w3 odd) as
// SXTB16 leaves them. sums[o]: the sum of channel o's packed weights (SMLAD with (1, 1)).
static void pw_pack(const int8_t* filter, int32_t in_c, int32_t c0, uint32_t* pk, int32_t* sums,
                    int doubled) {
  const int32_t steps = in_c / 4, rest = in_c % 4;
  const uint32_t ones = 0x00010001u;
  for (int32_t o = 0; o < 4; ++o) {
    const int8_t* k = filter + (c0 + o) * in_c;
    int32_t sum = 0;
    int32_t j = 0;
    for (; j < steps + (rest != 0); ++j) {
      const uint32_t w = j < steps ? tk_read32(k + 4 * j) : pw_tail(k + 4 * j, rest);
      uint32_t e = tk_sxtb16(w), d = tk_sxtb16_ror8(w);
      if (doubled) {
        e = tk_double16(e);
        d = tk_double16(d);
      }
      pk[8 * j + o] = e;
      pk[8 * j + 4 + o] = d;
      sum = tk_smlad(e, ones, tk_smlad(d, ones, sum));
    }
    sums[o] = sum;
  }
}

// One step (four input channels) of two pixels against four channels.
#define PW_STEP(h0, h1, pk)                                                     \
  do {                                                                          \
    const uint32_t e0 = tk_sxtb16(h0), e1 = tk_sxtb16(h1);                      \
    a00 = tk_smlad(e0, (pk)[0], a00);                                           \
    a10 = tk_smlad(e1, (pk)[0], a10);                                           \
    a01 = tk_smlad(e0, (pk)[1], a01);                                           \
    a11 = tk_smlad(e1, (pk)[1], a11);                                           \
    a02 = tk_smlad(e0, (pk)[2], a02);                                           \
    a12 = tk_smlad(e1, (pk)[2], a12);                                           \
    a03 = tk_smlad(e0, (pk)[3], a03);                                           \
    a13 = tk_smlad(e1, (pk)[3], a13);                                           \
    const uint32_t d0 = tk_sxtb16_ror8(h0), d1 = tk_sxtb16_ror8(h1);            \
    a00 = tk_smlad(d0, (pk)[4], a00);                                           \
    a10 = tk_smlad(d1, (pk)[4], a10);                                           \
    a01 = tk_smlad(d0, (pk)[5], a01);                                           \
    a11 = tk_smlad(d1, (pk)[5], a11);                                           \
    a02 = tk_smlad(d0, (pk)[6], a02);                                           \
    a12 = tk_smlad(d1, (pk)[6], a12);                                           \
    a03 = tk_smlad(d0, (pk)[7], a03);                                           \
    a13 = tk_smlad(d1, (pk)[7], a13);                                           \
  } while (0)

#ifdef TINYML_KERNELS_DSP
// The steps of a pixel pair in assembly (x0, x1: the pixels' inputs; q: the packed weights, up to
// q_end): in C, GCC spills accumulators and pointers (measured 47, then 40 instructions a step).
// Each half: the even (then odd) input halfwords of both pixels against four channels' words.
#define PW_HALF(SX, POST)                                     \
  "ldr %[h0], [%[x0]]" POST "\n\t"                           \
  "ldr %[h1], [%[x1]]" POST "\n\t"                           \
  "sxtb16 %[h0], %[h0]" SX "\n\t"                            \
  "sxtb16 %[h1], %[h1]" SX "\n\t"                            \
  "ldr %[w], [%[q]], #4\n\t"                                 \
  "smlad %[a00], %[h0], %[w], %[a00]\n\t"                    \
  "smlad %[a10], %[h1], %[w], %[a10]\n\t"                    \
  "ldr %[w], [%[q]], #4\n\t"                                 \
  "smlad %[a01], %[h0], %[w], %[a01]\n\t"                    \
  "smlad %[a11], %[h1], %[w], %[a11]\n\t"                    \
  "ldr %[w], [%[q]], #4\n\t"                                 \
  "smlad %[a02], %[h0], %[w], %[a02]\n\t"                    \
  "smlad %[a12], %[h1], %[w], %[a12]\n\t"                    \
  "ldr %[w], [%[q]], #4\n\t"                                 \
  "smlad %[a03], %[h0], %[w], %[a03]\n\t"                    \
  "smlad %[a13], %[h1], %[w], %[a13]\n\t"
#define PW_STEPS_ASM(q_end)                                                                    \
  __asm__("1:\n\t" PW_HALF("", "") PW_HALF(", ror #8", ", #4")                                \
          "ldr %[w], %[end]\n\t"                                                             \
          "cmp %[q], %[w]\n\t"                                                               \
          "bne 1b\n\t"                                                                       \
          : [a00] "+r"(a00), [a01] "+r"(a01), [a02] "+r"(a02), [a03] "+r"(a03),              \
            [a10] "+r"(a10), [a11] "+r"(a11), [a12] "+r"(a12), [a13] "+r"(a13),              \
            [x0] "+r"(x0), [x1] "+r"(x1), [q] "+r"(q), [h0] "=&r"(h0), [h1] "=&r"(h1),       \
            [w] "=&r"(w)                                                                     \
          : [end] "m"(q_end)                                                                 \
          : "memory", "cc")
#endif

// Output o of a block: the fast requantization of a doubled accumulator, or the exact one.
#define PW_OUT(acc, o)                                                                   \
  (exact ? tk_output_exact(acc, rq[o].multiplier, ~rq[o].rs1, p->output_offset, lo, hi) \
         : tk_output_rq_x2(acc, rq + (o), o2, lo, hi, full_range))

// Every pixel of one block of four output channels (weights pk, starts in rq).
TK_INLINE void pw_block(const tinyml_conv_params* p, const int8_t* input, const uint32_t* pk,
                        const tk_requant* rq, int8_t* out, int full_range, int exact) {
  const int32_t C = p->in_c, K = p->out_c, N = p->out_h * p->out_w;
  const int32_t steps = C / 4, rest = C % 4;
  const int32_t o2 = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
  const int8_t* x = input;
  int32_t n = 0;
  for (; n + 2 <= N; n += 2, x += 2 * C, out += 2 * K) {
    int32_t a00 = rq[0].start, a01 = rq[1].start, a02 = rq[2].start, a03 = rq[3].start;
    int32_t a10 = a00, a11 = a01, a12 = a02, a13 = a03;
    const int8_t* x0 = x;
    const int8_t* x1 = x + C;
    const uint32_t* q = pk;
#ifdef TINYML_KERNELS_DSP
    if (steps > 0) {
      uint32_t h0, h1, w;
      const uint32_t* volatile q_end = pk + 8 * steps;  // in memory: no register is left
      PW_STEPS_ASM(q_end);
    }
#else
    for (int32_t j = 0; j < steps; ++j, x0 += 4, x1 += 4, q += 8) {
      const uint32_t h0 = tk_read32(x0), h1 = tk_read32(x1);
      PW_STEP(h0, h1, q);
    }
#endif
    if (rest) {
      const uint32_t h0 = pw_tail(x0, rest), h1 = pw_tail(x1, rest);
      PW_STEP(h0, h1, q);
    }
    out[0] = PW_OUT(a00, 0);
    out[1] = PW_OUT(a01, 1);
    out[2] = PW_OUT(a02, 2);
    out[3] = PW_OUT(a03, 3);
    out[K + 0] = PW_OUT(a10, 0);
    out[K + 1] = PW_OUT(a11, 1);
    out[K + 2] = PW_OUT(a12, 2);
    out[K + 3] = PW_OUT(a13, 3);
  }
  if (n < N) {  // an odd last pixel: the pair code with itself as the second pixel
    int32_t a00 = rq[0].start, a01 = rq[1].start, a02 = rq[2].start, a03 = rq[3].start;
    int32_t a10 = a00, a11 = a01, a12 = a02, a13 = a03;
    const int8_t* x0 = x;
    const uint32_t* q = pk;
    for (int32_t j = 0; j < steps; ++j, x0 += 4, q += 8) {
      const uint32_t h0 = tk_read32(x0);
      PW_STEP(h0, h0, q);
    }
    if (rest) {
      const uint32_t h0 = pw_tail(x0, rest);
      PW_STEP(h0, h0, q);
    }
    (void)a10, (void)a11, (void)a12, (void)a13;
    out[0] = PW_OUT(a00, 0);
    out[1] = PW_OUT(a01, 1);
    out[2] = PW_OUT(a02, 2);
    out[3] = PW_OUT(a03, 3);
  }
}

TK_INLINE void pw_run(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output, int full_range) {
  uint32_t pk[2 * TINYML_1X1_MAX_IN_C + 8];
  tk_requant rq[4];
  const int32_t C = p->in_c, K = p->out_c, N = p->out_h * p->out_w;
  const int32_t o2 = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
  int32_t c0 = 0;
  for (; c0 + 4 <= K; c0 += 4) {
    const int fast = tk_channel_fast(p, bias, c0, C) && tk_channel_fast(p, bias, c0 + 1, C) &&
                     tk_channel_fast(p, bias, c0 + 2, C) && tk_channel_fast(p, bias, c0 + 3, C);
    int32_t sum[4];
    pw_pack(filter, C, c0, pk, sum, fast);
    tk_requant_chunk(p, c0, 4, rq);
    for (int32_t o = 0; o < 4; ++o) {  // wraps like TFLite's int32 accumulator when not fast
      const uint32_t b = bias ? (uint32_t)bias[c0 + o] : 0u;
      rq[o].start = (int32_t)((fast ? 2u * b : b) + (uint32_t)p->input_offset * (uint32_t)sum[o]);
    }
    if (fast) {
      pw_block(p, input, pk, rq, output + c0, full_range, 0);
    } else {
      pw_block(p, input, pk, rq, output + c0, full_range, 1);
    }
  }
  // The last out_c % 4 channels, one at a time.
  for (; c0 < K; ++c0) {
    tk_requant r;
    tk_requant_chunk(p, c0, 1, &r);
    const int fast = tk_channel_fast(p, bias, c0, C);
    const int8_t* k = filter + c0 * C;
    const int32_t start = bias ? bias[c0] : 0;
    for (int32_t n = 0; n < N; ++n) {
      const int8_t* x0 = input + n * C;
      uint32_t acc = (uint32_t)start;
      for (int32_t i = 0; i < C; ++i) acc += (uint32_t)((x0[i] + p->input_offset) * k[i]);
      output[n * K + c0] = fast ? tk_output_rq((int32_t)acc, &r, o2, lo, hi, full_range)
                                : tk_output_exact((int32_t)acc, p->multiplier[c0], p->shift[c0],
                                                  p->output_offset, lo, hi);
    }
  }
}

void tinyml_conv1x1_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output) {
  if (p->act_min == -128 && p->act_max == 127) {
    pw_run(p, input, filter, bias, output, 1);
  } else {
    pw_run(p, input, filter, bias, output, 0);
  }
}
