// Cortex-M4 DSP-extension instructions the kernels use, as inline assembly (GCC 7, the board's
// compiler, has no ACLE SIMD32 intrinsics), with portable C equivalents for host tests. Both paths
// run the same kernel source; the tests run it on the host and in QEMU's Cortex-M4.
#pragma once
#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(TINYML_KERNELS_PORTABLE)
#define TINYML_KERNELS_DSP 1
#endif

#define TK_INLINE static inline __attribute__((always_inline))

// GCC's pre-register-allocation scheduler hoists every load of an unrolled 3x3 window to the top
// and then spills them (measured: 6.9 instructions/MAC instead of 4): keep loads where written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns")
#endif

TK_INLINE uint32_t tk_read32(const void* p) {
  uint32_t v;
  memcpy(&v, p, 4);  // one LDR on the M4 (unaligned access is allowed for LDR)
  return v;
}
TK_INLINE void tk_write32(void* p, uint32_t v) { memcpy(p, &v, 4); }
// The low 16 bits of v, as a halfword of a packed word.
TK_INLINE uint32_t tk_half(int32_t v) { return (uint32_t)(uint16_t)(int16_t)v; }

#ifdef TINYML_KERNELS_DSP

TK_INLINE uint32_t tk_sxtb16(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
  return r;
}
TK_INLINE uint32_t tk_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
TK_INLINE uint32_t tk_sxtab16(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
TK_INLINE uint32_t tk_sxtab16_ror8(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
TK_INLINE uint32_t tk_sxtab16_ror16(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #16" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
// (bottom of a | bottom of b << 16) and (top of a | bottom of b)
TK_INLINE uint32_t tk_pkhbt16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
TK_INLINE uint32_t tk_pkhtb(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// top of a | top of b >> 16
TK_INLINE uint32_t tk_pkhtb16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// Both halfwords doubled (wrapping per halfword).
TK_INLINE uint32_t tk_double16(uint32_t a) {
  uint32_t r;
  __asm__("sadd16 %0, %1, %1" : "=r"(r) : "r"(a));
  return r;
}
TK_INLINE int32_t tk_smlabb(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
TK_INLINE int32_t tk_smlabt(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlabt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
TK_INLINE int32_t tk_smlatb(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
TK_INLINE int32_t tk_smlatt(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
TK_INLINE int32_t tk_smlad(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
TK_INLINE int32_t tk_smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
TK_INLINE int32_t tk_smmlar(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
// Four int8 lanes clamped to [lo4, hi4] (both replicated in every byte): SSUB8 sets a lane's GE
// flag where the difference is >= 0, SEL picks per lane; one statement keeps the flags.
TK_INLINE uint32_t tk_clamp8x4(uint32_t v, uint32_t lo4, uint32_t hi4) {
  uint32_t t;
  __asm__("ssub8 %[t], %[v], %[lo]\n\t"
          "sel %[v], %[v], %[lo]\n\t"
          "ssub8 %[t], %[hi], %[v]\n\t"
          "sel %[v], %[v], %[hi]"
          : [v] "+r"(v), [t] "=&r"(t)
          : [lo] "r"(lo4), [hi] "r"(hi4)
          : "cc");
  return v;
}
// a + b saturated to int32.
TK_INLINE int32_t tk_qadd(int32_t a, int32_t b) {
  int32_t r;
  __asm__("qadd %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// Saturates (v >> 1) to int8.
TK_INLINE int32_t tk_ssat8_asr1(int32_t v) {
  int32_t r;
  __asm__("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(v));
  return r;
}

#else  // portable C, same results

TK_INLINE uint32_t tk_sxtb16(uint32_t x) {
  return tk_half((int8_t)x) | (tk_half((int8_t)(x >> 16)) << 16);
}
TK_INLINE uint32_t tk_sxtb16_ror8(uint32_t x) { return tk_sxtb16((x >> 8) | (x << 24)); }
TK_INLINE uint32_t tk_sxtab16(uint32_t a, uint32_t x) {
  return tk_half((int16_t)a + (int8_t)x) | (tk_half((int16_t)(a >> 16) + (int8_t)(x >> 16)) << 16);
}
TK_INLINE uint32_t tk_sxtab16_ror8(uint32_t a, uint32_t x) {
  return tk_sxtab16(a, (x >> 8) | (x << 24));
}
TK_INLINE uint32_t tk_sxtab16_ror16(uint32_t a, uint32_t x) {
  return tk_sxtab16(a, (x >> 16) | (x << 16));
}
TK_INLINE uint32_t tk_pkhbt16(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
TK_INLINE uint32_t tk_pkhtb(uint32_t a, uint32_t b) { return (a & 0xFFFF0000u) | (b & 0xFFFFu); }
TK_INLINE uint32_t tk_pkhtb16(uint32_t a, uint32_t b) { return (a & 0xFFFF0000u) | (b >> 16); }
TK_INLINE uint32_t tk_double16(uint32_t a) { return (a << 1) & 0xFFFEFFFEu; }
TK_INLINE int32_t tk_smlabb(uint32_t a, uint32_t b, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)a * (int16_t)b));
}
TK_INLINE int32_t tk_smlabt(uint32_t a, uint32_t b, int32_t acc) {
  return tk_smlabb(a, b >> 16, acc);
}
TK_INLINE int32_t tk_smlatb(uint32_t a, uint32_t b, int32_t acc) {
  return tk_smlabb(a >> 16, b, acc);
}
TK_INLINE int32_t tk_smlatt(uint32_t a, uint32_t b, int32_t acc) {
  return tk_smlabb(a >> 16, b >> 16, acc);
}
TK_INLINE int32_t tk_smlad(uint32_t a, uint32_t b, int32_t acc) {
  return tk_smlabb(a >> 16, b >> 16, tk_smlabb(a, b, acc));
}
TK_INLINE int32_t tk_smmulr(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + 0x80000000LL) >> 32);
}
TK_INLINE int32_t tk_smmlar(int32_t a, int32_t b, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)tk_smmulr(a, b));
}
TK_INLINE uint32_t tk_clamp8x4(uint32_t v, uint32_t lo4, uint32_t hi4) {
  uint32_t r = 0;
  for (int i = 0; i < 32; i += 8) {
    int32_t x = (int8_t)(v >> i);
    const int32_t lo = (int8_t)(lo4 >> i), hi = (int8_t)(hi4 >> i);
    x = x < lo ? lo : (x > hi ? hi : x);
    r |= (uint32_t)(uint8_t)x << i;
  }
  return r;
}
TK_INLINE int32_t tk_qadd(int32_t a, int32_t b) {
  const int64_t r = (int64_t)a + b;
  return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}
TK_INLINE int32_t tk_ssat8_asr1(int32_t v) {
  v >>= 1;
  return v < -128 ? -128 : (v > 127 ? 127 : v);
}

#endif

// TFLite's MultiplyByQuantizedMultiplier(acc, mult, shift) + 2 * out_offset + 1, before the final
// halving that tk_ssat8_asr1 does. Preconditions (the `covers` predicates check them):
// shift <= -1 (a right shift rs = -shift >= 1, no left shift) and |acc| < 2^30.
// - SaturatingRoundingDoublingHighMul(a, m) = floor((a*m + 2^30) / 2^31) = SMMULR(2a, m).
// - RoundingDivideByPOT(x, rs) rounds half away from zero: ((x - [x<0]) >> (rs-1) + 1) >> 1,
//   and rs - 1 = ~shift.
TK_INLINE int32_t tk_requant_x2(int32_t acc, int32_t mult, int32_t shift, int32_t offset2p1) {
  int32_t x = tk_smmulr(acc * 2, mult);
  x = (x + (x >> 31)) >> (~shift);
  return x + offset2p1;
}
