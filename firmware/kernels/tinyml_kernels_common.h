// Helpers shared by the kernel sources (private to firmware/kernels).
#pragma once
#include "tinyml_kernels.h"
#include "tinyml_simd.h"

// The activation range and zero points every kernel needs: inside int8.
static inline int tk_ranges_covered(const tinyml_conv_params* p) {
  if (p->act_min < -128 || p->act_max > 127 || p->act_min > p->act_max) return 0;
  if (p->input_offset < -127 || p->input_offset > 128) return 0;
  return p->output_offset >= -128 && p->output_offset <= 127;
}

// Whether channel c takes the fast requantization: a right shift of at least 1 and an
// accumulator below 2^30 in magnitude, whatever the input (|input - zero point| <= 255,
// |weight| <= 128, taps values summed onto the bias).
static inline int tk_channel_fast(const tinyml_conv_params* p, const int32_t* bias, int32_t c,
                                  int32_t taps) {
  const int64_t limit = (1LL << 30) - 1 - (int64_t)taps * 255 * 128;
  const int64_t b = bias == 0 ? 0 : bias[c] < 0 ? -(int64_t)bias[c] : (int64_t)bias[c];
  return p->shift[c] <= -1 && b <= limit;
}

// The fast requantization's preconditions for every output channel (right shifts of 1..31).
static inline int tk_quant_covered(const tinyml_conv_params* p, const int32_t* bias, int32_t taps) {
  if (!tk_ranges_covered(p) || (1LL << 30) - 1 - (int64_t)taps * 255 * 128 <= 0) return 0;
  for (int32_t c = 0; c < p->out_c; ++c) {
    if (p->shift[c] < -31 || !tk_channel_fast(p, bias, c, taps)) return 0;
  }
  return 1;
}

// What the exact requantization needs: int8 ranges and right shifts (shift <= 0).
static inline int tk_quant_exact_covered(const tinyml_conv_params* p) {
  if (!tk_ranges_covered(p)) return 0;
  for (int32_t c = 0; c < p->out_c; ++c) {
    if (p->shift[c] > 0 || p->shift[c] < -31 || p->multiplier[c] < 0) return 0;
  }
  return 1;
}

// TFLite's MultiplyByQuantizedMultiplier for any int32 accumulator and shift <= 0 (the reference
// arithmetic: SaturatingRoundingDoublingHighMul in 64 bits, then RoundingDivideByPOT), zero point
// and clamp: for the channels the fast form does not take (no right shift, or an accumulator that
// may reach 2^30).
TK_INLINE int8_t tk_output_exact(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset,
                                 int32_t act_min, int32_t act_max) {
  // multiplier >= 0: no saturation case; floor((a * m + 2^30) / 2^31) is the truncating
  // division of the reference with its sign-dependent nudge.
  int32_t x = (int32_t)(((int64_t)acc * multiplier + (1LL << 30)) >> 31);
  if (shift < 0) {
    const int32_t rs = -shift;
    const int32_t mask = (int32_t)((1u << rs) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0);
    x = (x >> rs) + (remainder > threshold);
  }
  int32_t v = x + offset;
  v = v < act_min ? act_min : v;
  return (int8_t)(v > act_max ? act_max : v);
}

// One output value from its accumulator: requantize, zero point, clamp.
TK_INLINE int8_t tk_output(int32_t acc, int32_t mult, int32_t shift, int32_t offset2p1,
                           int32_t act_min, int32_t act_max, int full_range) {
  int32_t v = tk_ssat8_asr1(tk_requant_x2(acc, mult, shift, offset2p1));
  if (!full_range) {
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
  }
  return (int8_t)v;
}

// Per-channel requantization constants in the form the fast path uses (one LDRD per output).
typedef struct {
  int32_t multiplier;
  int32_t rs1;    // right shift - 1 (= ~shift)
  int32_t start;  // accumulator start: bias (+ input offset terms where a kernel folds them in)
  int32_t pad_;   // 16-byte entries: one LDM
} tk_requant;

// Channels whose requantization constants are precomputed on the stack at a time.
#define TK_CHUNK 64

TK_INLINE void tk_requant_chunk(const tinyml_conv_params* p, int32_t c0, int32_t n, tk_requant* rq) {
  for (int32_t i = 0; i < n; ++i) {
    rq[i].multiplier = p->multiplier[c0 + i];
    rq[i].rs1 = ~p->shift[c0 + i];
  }
}

// tk_output with precomputed constants, for an accumulator that is already doubled (2 * acc:
// kernels that double the filter and start values instead of every output).
TK_INLINE int8_t tk_output_rq_x2(int32_t acc2, const tk_requant* rq, int32_t offset2p1,
                                 int32_t act_min, int32_t act_max, int full_range) {
  int32_t x = tk_smmulr(acc2, rq->multiplier);
  x = (x + (x >> 31)) >> rq->rs1;
  int32_t v = tk_ssat8_asr1(x + offset2p1);
  if (!full_range) {
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
  }
  return (int8_t)v;
}

// tk_output with precomputed constants.
TK_INLINE int8_t tk_output_rq(int32_t acc, const tk_requant* rq, int32_t offset2p1, int32_t act_min,
                              int32_t act_max, int full_range) {
  return tk_output_rq_x2(acc * 2, rq, offset2p1, act_min, act_max, full_range);
}

// The requantization with the output offset inside the multiply (SMMLAR), for right shifts of
// 1..TK_K_MAX_RIGHT_SHIFT and a doubled accumulator acc2 = 2 * acc; the same result as
// tk_output_rq_x2 with the full int8 range, two instructions fewer:
// - k = (2 * output offset + 1) * 2^(rs - 1): a multiple of 2^(rs - 1) added before the floor
//   shift comes out added after it, and SMMLAR adds it to the high word exactly;
//   |SMMULR(acc2, m)| < 2^30 and |k| < 2^30 need rs <= 23;
// - [x < 0] for x = SMMULR(acc2, m) becomes [acc < 0] (multipliers are >= 0): they differ only
//   when x = 0 and acc < 0, where (-1 >> (rs - 1)) and (0 >> (rs - 1)) round to the same output.
#define TK_K_MAX_RIGHT_SHIFT 23

static inline int tk_k_form_covered(const tinyml_conv_params* p) {
  for (int32_t c = 0; c < p->out_c; ++c) {
    if (p->shift[c] < -TK_K_MAX_RIGHT_SHIFT || p->multiplier[c] < 0) return 0;
  }
  return 1;
}

// k of one channel: (2 * output offset + 1) << (rs - 1), rs1 = rs - 1 = ~shift.
TK_INLINE int32_t tk_k_offset(int32_t offset2p1, int32_t rs1) {
  return (int32_t)((uint32_t)offset2p1 << rs1);
}

TK_INLINE int32_t tk_output_k(int32_t acc2, int32_t multiplier, int32_t k, int32_t rs1) {
  const int32_t y = tk_smmlar(acc2, multiplier, k);
  return tk_ssat8_asr1((y + (acc2 >> 31)) >> rs1);
}

// tk_output_k inside the kernels' assembly, on named operands: OUT = the output byte of ACC
// (OUT may be MULT's register, not ACC's).
#define TK_OUTPUT_K_ASM(OUT, ACC, MULT, K, RS1)              \
  "smmlar %[" OUT "], %[" ACC "], %[" MULT "], %[" K "]\n\t" \
  "add %[" OUT "], %[" OUT "], %[" ACC "], asr #31\n\t"      \
  "asr %[" OUT "], %[" OUT "], %[" RS1 "]\n\t"               \
  "ssat %[" OUT "], #8, %[" OUT "], asr #1\n\t"

// The activation clamp as a pass over n outputs that hold the full int8 range (the fast paths
// saturate to int8 only; a range inside int8 clamps the same after saturation).
static inline void tk_clamp_outputs(int8_t* out, int32_t n, int32_t act_min, int32_t act_max) {
  const uint32_t lo4 = (uint32_t)(uint8_t)act_min * 0x01010101u;
  const uint32_t hi4 = (uint32_t)(uint8_t)act_max * 0x01010101u;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) tk_write32(out + i, tk_clamp8x4(tk_read32(out + i), lo4, hi4));
  for (; i < n; ++i) {
    out[i] = (int8_t)(out[i] < act_min ? act_min : out[i] > act_max ? act_max : out[i]);
  }
}
