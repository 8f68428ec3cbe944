// Helpers shared by the reference-exact kernels (private to this folder): TFLite's fixed-point
// requantization and std::round, in C99.
#pragma once
#include <stdint.h>
#include "tinyml_ref_ops.h"

#if defined(__GNUC__)
#define TR_INLINE static inline __attribute__((always_inline))
#else
#define TR_INLINE static inline
#endif

// gemmlowp::SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2^31 with C's truncating
// division, nudge = 2^30 for a non-negative product and 1 - 2^30 otherwise.
TR_INLINE int32_t tr_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));
  return (int32_t)((ab + nudge) / (1LL << 31));
}

// gemmlowp::RoundingDivideByPOT: x / 2^e rounded half away from zero (e in 0..31).
TR_INLINE int32_t tr_rdbp(int32_t x, int32_t e) {
  const int32_t mask = (int32_t)((1ULL << e) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

// tflite::MultiplyByQuantizedMultiplier(int32 x, int32 multiplier, int shift), double rounding.
// x * 2^left wraps in int32 like the C++ on every target TFLite runs on.
TR_INLINE int32_t tr_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return tr_rdbp(tr_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

// std::round of a double to an integer (half away from zero), exact for |v| < 2^62: the
// fractional part v - trunc(v) is exact in binary floating point.
TR_INLINE int64_t tr_round_half_away(double v) {
  const int64_t t = (int64_t)v;
  const double frac = v - (double)t;
  if (frac >= 0.5) return t + 1;
  if (frac <= -0.5) return t - 1;
  return t;
}

TR_INLINE int32_t tr_clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}
