// Pointwise 1x1 convolution, stride 1, no padding, int8 (see tinyml_kernels.h).
//
// One pixel at a time against a block of six (or four) output channels. The weights of a block
// (a chunk of up to PW_CHUNK input channels) are unpacked once into int16 pairs on the stack, in
// the order the inner step reads them, and reused for every pixel. A step takes four input
// channels: one input word, two SXTB16, LDM of four weight words per two channels, two SMLAD per
// channel: 18 instructions for 24 MACs with six channels (four steps a loop; the input offset
// is folded into the accumulator starts through the weight sums), 13 for 16 with four (the
// input offset added by SXTAB16; no sums, cheaper packing for small maps). The requantization
// then runs on the accumulators in place (5 instructions an output) and the outputs leave as a
// word (and a halfword), clamped by SSUB8/SEL. CMSIS-NN's arm_convolve_1x1_s8_fast (pinned
// library) unpacks both operands of a 2x2 block on every step.
//
// Layers with more than PW_CHUNK input channels go chunk by chunk in blocks of four, the
// accumulators of a group of PW_GROUP pixels kept on the stack between chunks. A block whose
// channels the fast requantization does not take (no right shift, or a multiplier below 2^30:
// see pw_fast) accumulates the same way and requantizes exactly in C. The last pixel(s) take
// plain C where a step would read past the input (in_c not a multiple of 4) or the output word
// past the output (out_c < 4). A cost rule (pw_wins) leaves CMSIS-NN the layers it runs in fewer
// instructions: small maps with few output channels.
#include <stddef.h>

#include "tinyml_kernels_common.h"

// Input channels whose unpacked weights (of four output channels) sit on the stack at a time,
// and pixels whose partial accumulators are kept between chunks.
#define PW_CHUNK 256
#define PW_GROUP 64
// Pixels from which blocks of six channels pay off: their packing adds the weight sums (measured
// in QEMU: a 3x3 map of 128 or 256 channels gains 2-3% with six, a 2x2 map of 256 loses 1-5%).
#define PW6_MIN_PIXELS 8
// Words after a block's weights: multiplier (doubled, see pw_fast) and rs - 1 per channel, the
// clamp bounds in every byte, the output pixel stride, how far the input pointer steps from the
// end of a pixel's chunk to the next pixel's, and 2 * output offset + 1.
// A block of six channels has the same after its twelve words of multipliers and shifts.
enum { PW_C_RQ = 0, PW_C_LO4 = 8, PW_C_HI4, PW_C_K, PW_C_XADJ, PW_C_O2, PW_C_WORDS };
enum { PW6_C_LO4 = 12, PW6_C_HI4, PW6_C_K, PW6_C_XADJ, PW6_C_O2, PW6_C_WORDS };
// Words of the packed blocks: four channels (with the kept accumulators of PW_GROUP pixels after
// them), or six.
#define PW_PK_WORDS (4 + 2 * PW_CHUNK + PW_C_WORDS)
#define PW_PK6_WORDS (6 + 3 * PW_CHUNK + PW6_C_WORDS)
#define PW_BUF_WORDS \
  (PW_PK_WORDS + 4 * PW_GROUP > PW_PK6_WORDS ? PW_PK_WORDS + 4 * PW_GROUP : PW_PK6_WORDS)

// The activation clamp the outputs need beyond int8: both bounds, or (ReLU6 with an output zero
// point of -128) the upper one only.
enum { PW_CLAMP_BOTH = 1, PW_CLAMP_HI = 2 };

// One run of pixels over one chunk, for the assembly (fields at fixed offsets).
typedef struct {
  const int8_t* x;        // the first pixel's chunk
  const int8_t* x_end;    // x after the last pixel (x steps in_c a pixel)
  int8_t* out;            // the first pixel's output of the block
  int32_t* partial;       // 4 accumulators a pixel, when kept between chunks
  const uint32_t* pk;     // accumulator starts, weights, constants
  int32_t entry;          // four channels: steps & 1 (an odd count enters the pair of steps at
                          // its second); six: (-steps) & 3, the steps skipped of the first four
  uint32_t io2;           // input offset in both halfwords
  const uint32_t* w_end;  // end of the weights
} pw_job;
#ifdef TINYML_KERNELS_DSP
_Static_assert(offsetof(pw_job, x) == 0 && offsetof(pw_job, x_end) == 4 &&
                   offsetof(pw_job, out) == 8 && offsetof(pw_job, partial) == 12 &&
                   offsetof(pw_job, pk) == 16 && offsetof(pw_job, entry) == 20 &&
                   offsetof(pw_job, io2) == 24 && offsetof(pw_job, w_end) == 28,
               "the assembly reads pw_job at these offsets");
#endif
_Static_assert(4 * PW_C_LO4 == 32 && 4 * PW_C_XADJ == 44 && 4 * PW_C_O2 == 48 &&
                   4 * PW6_C_LO4 == 48 && 4 * PW6_C_O2 == 64,
               "the assembly reads the constants at these offsets");

// A stride-1 1x1 convolution without padding.
static int pw_shape(const tinyml_conv_params* p) {
  if (p->k_h != 1 || p->k_w != 1 || p->stride_h != 1 || p->stride_w != 1) return 0;
  if (p->pad_h != 0 || p->pad_w != 0 || p->in_c < 1 || p->out_c < 1) return 0;
  return p->out_h == p->in_h && p->out_w == p->in_w && p->out_h >= 1 && p->out_w >= 1;
}

int tinyml_conv1x1_s8_supports(const tinyml_conv_params* p, const int32_t* bias) {
  (void)bias;
  return pw_shape(p) && tk_quant_exact_covered(p);
}

// Pixels pw_pixel takes (see tinyml_conv1x1_s8).
static int32_t pw_tail_pixels(int32_t C, int32_t K, int32_t N) {
  const int32_t tail_c = C % 4 == 0 ? 0 : C == 1 ? 3 : 1;
  const int32_t tail_k = K >= 4 ? 0 : K == 1 ? 3 : 1;
  const int32_t tail = tail_c > tail_k ? tail_c : tail_k;
  return tail > N ? N : tail;
}

// Blocks of six and of four channels tinyml_conv1x1_s8 takes for out_c K (all channels fast).
static void pw_blocks(int32_t C, int32_t K, int32_t NB, int32_t* six, int32_t* four) {
  // remainder of K / 6 -> blocks of four: 8 = 4 + 4 (one six fewer); odd ones overlap
  static const int8_t fours[6] = {0, 1, 2, 1, 1, 2};
  if (C > PW_CHUNK || NB < PW6_MIN_PIXELS || K < 6) {
    *six = 0;
    *four = NB > 0 ? (K + 3) / 4 : 0;
    return;
  }
  *six = K % 6 == 2 ? K / 6 - 1 : K / 6;
  *four = fours[K % 6];
}

// The cost rule: models of both kernels' instruction counts (x100, QEMU), one term per loop of
// their code: this kernel's steps, pixels, packing and blocks of six and four channels and its
// plain-C pixels; CMSIS-NN's arm_nn_mat_mult_nt_t_s8 (pinned library: 2x2 blocks of pixels and
// channels, 16 input channels a step, odd pixel, odd channel, its weight sums) when in_c % 4 == 0,
// else its im2col convolution. The coefficients (the instructions of each loop, and the per-call
// costs of TFLM, the adapter and CMSIS-NN's wrapper) are fitted to 204 1x1 layers measured with
// both kernel sets (chains of 1x1 convolutions, in_c and out_c 1 to 300, maps 1x1 to 10x10); each
// model is within 4% of every measurement, so this kernel takes a layer when its count is at most
// 94% of CMSIS-NN's.
// 64-bit products of 32-bit factors (one SMULL each): the adapter runs the rule on every invoke.
TK_INLINE int64_t pw_mul(int32_t a, int32_t b) { return (int64_t)a * b; }

static int pw_wins(const tinyml_conv_params* p) {
  const int32_t C = p->in_c, K = p->out_c, N = p->out_h * p->out_w;
  const int32_t T = pw_tail_pixels(C, K, N), NB = N - T;
  const int32_t S = (C + 3) / 4, chunks = (C + PW_CHUNK - 1) / PW_CHUNK;
  int32_t six, four;
  pw_blocks(C, K, NB, &six, &four);
  // per block: its pixels' steps and fixed work, then its packing and fixed work
  const int64_t block6 = pw_mul(NB, 1801 * S + 292 * ((S + 3) / 4) + 5222) + 5359 * S + 45490;
  const int64_t block4 = pw_mul(NB, 1393 * S + 3806 * chunks) + 2725 * S + 45460 * chunks;
  const int64_t ours = six * block6 + four * block4 + pw_mul(T * K, 598 * C + 5008) + 1365 * K +
                       58536;  // with this rule's own 120 instructions
  int64_t theirs;
  if (C % 4 == 0) {  // per pair of channels: weight sums, pairs of pixels, the odd pixel
    const int32_t C16 = C / 16, Cr = C % 16;
    const int64_t pair = 609 * C + 6316 + pw_mul(N / 2, 8832 * C16 + 1055 * Cr + 15477) +
                         (N % 2) * (5745 * C16 + 683 * Cr + 7996);
    theirs = (K / 2) * pair + (K % 2) * pw_mul(N, 601 * C + 4797) + 63919;
  } else {
    theirs = pw_mul(N, K) * (246 * C + 3970) + pw_mul(K, 400 * C + 3042) + 170 * N + 65355;
  }
  return 100 * ours <= 94 * theirs;
}

// The rule before the per-channel checks: a layer it declines costs the adapter less.
int tinyml_conv1x1_s8_route(const tinyml_conv_params* p, const int32_t* bias) {
  (void)bias;
  if (!pw_shape(p)) return 0;
  if (!pw_wins(p)) return -1;
  return tk_quant_exact_covered(p);
}

int tinyml_conv1x1_s8_covers(const tinyml_conv_params* p, const int32_t* bias) {
  return tinyml_conv1x1_s8_route(p, bias) > 0;
}

// Whether channel c takes the fast requantization (tk_output_rq_x2's arithmetic, for any int32
// accumulator): a right shift, and a multiplier of at least 2^30 (as QuantizeMultiplier writes
// them). Then m2 = 2 * multiplier - 2^32 is a negative int32 and
//   SMMLAR(acc, m2, acc) = floor((acc * 2 * multiplier + 2^31) / 2^32)
// = SaturatingRoundingDoublingHighMul(acc, multiplier) exactly, in 64 bits: no doubled
// accumulator, so no limit on it; QADD adds 2 * output offset + 1 without wrapping.
TK_INLINE int pw_fast(const tinyml_conv_params* p, int32_t c) {
  return p->shift[c] <= -1 && p->multiplier[c] >= (1 << 30);
}

// The last (in_c % 4) bytes of a run as a word, zeros after them (no read past the run).
TK_INLINE uint32_t pw_tail(const int8_t* q, int32_t rest) {
  uint32_t w = (uint8_t)q[0];
  if (rest > 1) w |= (uint32_t)(uint8_t)q[1] << 8;
  if (rest > 2) w |= (uint32_t)(uint8_t)q[2] << 16;
  return w;
}

// One channel's weights k[0, n) into every (2 * width)-th word pair of d: per step of four input
// channels the words (w0, w2) (w1, w3) as SXTB16 leaves them. Returns the weight sum when `sum`.
TK_INLINE int32_t pw_pack_channel(const int8_t* k, int32_t n, int32_t width, uint32_t* d,
                                  int sum) {
  const uint32_t ones = 0x00010001u;
  const int8_t* const end = k + (n & ~3);
  int32_t s = 0;
  for (; k != end; k += 4, d += 2 * width) {
    const uint32_t v = tk_read32(k);
    const uint32_t e = tk_sxtb16(v), o = tk_sxtb16_ror8(v);
    d[0] = e;
    d[1] = o;
    if (sum) s = tk_smlad(e, ones, tk_smlad(o, ones, s));
  }
  if (n & 3) {
    const uint32_t v = pw_tail(k, n & 3);
    const uint32_t e = tk_sxtb16(v), o = tk_sxtb16_ror8(v);
    d[0] = e;
    d[1] = o;
    if (sum) s = tk_smlad(e, ones, tk_smlad(o, ones, s));
  }
  return s;
}

// Weights of input channels [k0, k0 + n) of the block's `real` channels from c0 (the others of
// the four are zero), interleaved per step. Returns the steps.
static int32_t pw_pack(const int8_t* filter, int32_t C, int32_t k0, int32_t n, int32_t c0,
                       int32_t real, uint32_t* w) {
  const int32_t steps = (n + 3) / 4;
  for (int32_t o = 0; o < 4; ++o) {
    if (o < real) {
      pw_pack_channel(filter + (c0 + o) * C + k0, n, 4, w + 2 * o, 0);
    } else {
      for (int32_t j = 0; j < steps; ++j) w[8 * j + 2 * o] = w[8 * j + 2 * o + 1] = 0;
    }
  }
  return steps;
}

#ifdef TINYML_KERNELS_DSP
// The pixel loop in assembly, one function per mode (GAS macro parameters): LOADP starts from the
// kept accumulators instead of the block's starts, STOREP keeps them instead of requantizing,
// CLAMP clamps to an activation range inside int8 (2: the upper bound only). Registers: r0-r3 accumulators, r4 input,
// r5 packed words, r6/r7 the input word's halves, r8-r11 weights, r12 input offset, lr the end
// of the weights. Steps go in pairs; an odd count enters the pair at its second step.
__asm__(
    ".syntax unified\n"
    ".thumb\n"
    ".macro PW_STEP\n"
    "  ldr r6, [r4], #4\n"
    "  sxtab16 r7, r12, r6\n"
    "  sxtab16 r6, r12, r6, ror #8\n"
    "  ldm r5!, {r8-r11}\n"
    "  smlad r0, r7, r8, r0\n"
    "  smlad r0, r6, r9, r0\n"
    "  smlad r1, r7, r10, r1\n"
    "  smlad r1, r6, r11, r1\n"
    "  ldm r5!, {r8-r11}\n"
    "  smlad r2, r7, r8, r2\n"
    "  smlad r2, r6, r9, r2\n"
    "  smlad r3, r7, r10, r3\n"
    "  smlad r3, r6, r11, r3\n"
    ".endm\n"
    // The requantization of pw_fast on the accumulator A in place: m2 in M (see pw_fast), rs - 1 in RS,
    // 2 * output offset + 1 in OFS (r7 in the four-channel kernel, r9 in the six-channel one).
    ".macro PW_OUT a, m, rs, ofs\n"
    "  smmlar \\a, \\a, \\m, \\a\n"
    "  add \\a, \\a, \\a, asr #31\n"
    "  asr \\a, \\a, \\rs\n"
    "  qadd \\a, \\a, \\ofs\n"
    "  ssat \\a, #8, \\a, asr #1\n"
    ".endm\n"
    ".macro PW_KERNEL name, loadp, storep, clamp\n"
    "  .pushsection .text.\\name,\"ax\",%progbits\n"
    "  .p2align 2\n"
    "  .global \\name\n"
    "  .type \\name, %function\n"
    "  .thumb_func\n"
    "\\name:\n"
    "  push {r4-r11, lr}\n"
    "  push {r0}\n"  // the job at [sp]
    "  ldr r4, [r0, #0]\n"
    "  ldr r12, [r0, #24]\n"
    "  ldr lr, [r0, #28]\n"
    "  ldr r6, [r0, #4]\n"
    "  cmp r4, r6\n"
    "  beq 9f\n"
    "  mov r6, r0\n"
    "1:\n"  // r6: the job
    "  .if \\loadp\n"
    "  ldr r7, [r6, #12]\n"
    "  ldm r7, {r0-r3}\n"
    "  ldrd r5, r7, [r6, #16]\n"  // pk, odd
    "  adds r5, r5, #16\n"
    "  .else\n"
    "  ldrd r5, r7, [r6, #16]\n"
    "  ldm r5!, {r0-r3}\n"
    "  .endif\n"
    "  cbnz r7, 3f\n"
    "2:\n"
    "  PW_STEP\n"
    "3:\n"
    "  PW_STEP\n"
    "  cmp r5, lr\n"
    "  bne 2b\n"
    "  ldr r6, [sp]\n"
    "  .if \\storep\n"
    "  ldr r7, [r6, #12]\n"
    "  stm r7!, {r0-r3}\n"
    "  str r7, [r6, #12]\n"
    "  ldr r7, [r5, #44]\n"
    "  add r4, r4, r7\n"
    "  ldr r7, [r6, #4]\n"
    "  cmp r4, r7\n"
    "  .else\n"
    "  .if \\loadp\n"
    "  ldr r7, [r6, #12]\n"
    "  adds r7, r7, #16\n"
    "  str r7, [r6, #12]\n"
    "  .endif\n"
    "  ldm r5!, {r8-r11}\n"
    "  ldr r7, [r5, #32]\n"
    "  PW_OUT r0, r8, r9, r7\n"
    "  PW_OUT r1, r10, r11, r7\n"
    "  ldm r5!, {r8-r11}\n"
    "  PW_OUT r2, r8, r9, r7\n"
    "  PW_OUT r3, r10, r11, r7\n"
    "  bfi r0, r1, #8, #8\n"
    "  bfi r0, r2, #16, #8\n"
    "  bfi r0, r3, #24, #8\n"
    "  ldm r5, {r8-r11}\n"  // lo4 hi4 K xadj
    "  .if \\clamp == 1\n"
    "  ssub8 r1, r0, r8\n"
    "  sel r0, r0, r8\n"
    "  .endif\n"
    "  .if \\clamp\n"
    "  ssub8 r1, r9, r0\n"
    "  sel r0, r0, r9\n"
    "  .endif\n"
    "  ldrd r8, r7, [r6, #4]\n"  // x_end, out
    "  str r0, [r7]\n"
    "  add r7, r7, r10\n"
    "  str r7, [r6, #8]\n"
    "  add r4, r4, r11\n"
    "  cmp r4, r8\n"
    "  .endif\n"
    "  bne 1b\n"
    "9:\n"
    "  add sp, sp, #4\n"
    "  pop {r4-r11, pc}\n"
    "  .size \\name, . - \\name\n"
    "  .popsection\n"
    ".endm\n"
    // Six channels (no register left for the input offset: the starts hold its product with
    // the weight sums; the end of the weights at [sp, #4]): r0-r5 accumulators, r6 input, r7
    // packed words, r8/r9 the input word's halves, r10-r12 and lr weights. 18 instructions for
    // 24 MACs, four steps a loop (a count not a multiple of four enters it part way).
    ".macro PW6_STEP\n"
    "  ldr r8, [r6], #4\n"
    "  sxtb16 r9, r8\n"
    "  sxtb16 r8, r8, ror #8\n"
    "  ldm r7!, {r10, r11, r12, lr}\n"
    "  smlad r0, r9, r10, r0\n"
    "  smlad r0, r8, r11, r0\n"
    "  smlad r1, r9, r12, r1\n"
    "  smlad r1, r8, lr, r1\n"
    "  ldm r7!, {r10, r11, r12, lr}\n"
    "  smlad r2, r9, r10, r2\n"
    "  smlad r2, r8, r11, r2\n"
    "  smlad r3, r9, r12, r3\n"
    "  smlad r3, r8, lr, r3\n"
    "  ldm r7!, {r10, r11, r12, lr}\n"
    "  smlad r4, r9, r10, r4\n"
    "  smlad r4, r8, r11, r4\n"
    "  smlad r5, r9, r12, r5\n"
    "  smlad r5, r8, lr, r5\n"
    ".endm\n"
    ".macro PW6_KERNEL name, clamp\n"
    "  .pushsection .text.\\name,\"ax\",%progbits\n"
    "  .p2align 2\n"
    "  .global \\name\n"
    "  .type \\name, %function\n"
    "  .thumb_func\n"
    "\\name:\n"
    "  push {r4-r11, lr}\n"
    "  sub sp, sp, #12\n"
    "  str r0, [sp]\n"
    "  ldr r1, [r0, #28]\n"
    "  str r1, [sp, #4]\n"
    "  ldr r1, [r0, #20]\n"  // steps to skip of the first four
    "  movs r2, #72\n"  // bytes a step: 18 32-bit instructions (checked below)
    "  mul r1, r1, r2\n"
    "  adr.w r2, .Lpw6_body\\@\n"
    "  add r1, r1, r2\n"
    "  orr r1, r1, #1\n"  // Thumb
    "  str r1, [sp, #8]\n"
    "  ldr r6, [r0, #0]\n"
    "  ldr r1, [r0, #4]\n"
    "  cmp r6, r1\n"
    "  beq 9f\n"
    "  mov r9, r0\n"
    "1:\n"  // r9: the job
    "  ldr r7, [r9, #16]\n"
    "  ldm r7!, {r0-r5}\n"
    "  ldr r8, [sp, #8]\n"
    "  bx r8\n"
    ".Lpw6_body\\@:\n"
    "  PW6_STEP\n"
    "  PW6_STEP\n"
    "  PW6_STEP\n"
    "  PW6_STEP\n"
    ".Lpw6_body_end\\@:\n"
    "  .if .Lpw6_body_end\\@ - .Lpw6_body\\@ - 4 * 72\n"
    "  .error \"PW6_STEP is not 72 bytes\"\n"
    "  .endif\n"
    "  ldr r10, [sp, #4]\n"
    "  cmp r7, r10\n"
    "  bne .Lpw6_body\\@\n"
    "  ldr r9, [r7, #64]\n"
    "  ldm r7!, {r10, r11, r12, lr}\n"
    "  PW_OUT r0, r10, r11, r9\n"
    "  PW_OUT r1, r12, lr, r9\n"
    "  ldm r7!, {r10, r11, r12, lr}\n"
    "  PW_OUT r2, r10, r11, r9\n"
    "  PW_OUT r3, r12, lr, r9\n"
    "  ldm r7!, {r10, r11, r12, lr}\n"
    "  PW_OUT r4, r10, r11, r9\n"
    "  PW_OUT r5, r12, lr, r9\n"
    "  bfi r0, r1, #8, #8\n"
    "  bfi r0, r2, #16, #8\n"
    "  bfi r0, r3, #24, #8\n"
    "  bfi r4, r5, #8, #8\n"
    "  ldm r7, {r10, r11, r12, lr}\n"  // lo4 hi4 K xadj
    "  .if \\clamp == 1\n"
    "  ssub8 r8, r0, r10\n"
    "  sel r0, r0, r10\n"
    "  ssub8 r8, r4, r10\n"
    "  sel r4, r4, r10\n"
    "  .endif\n"
    "  .if \\clamp\n"
    "  ssub8 r8, r11, r0\n"
    "  sel r0, r0, r11\n"
    "  ssub8 r8, r11, r4\n"
    "  sel r4, r4, r11\n"
    "  .endif\n"
    "  ldr r9, [sp]\n"
    "  ldrd r10, r11, [r9, #4]\n"  // x_end, out
    "  str r0, [r11]\n"
    "  strh r4, [r11, #4]\n"
    "  add r11, r11, r12\n"
    "  str r11, [r9, #8]\n"
    "  add r6, r6, lr\n"
    "  cmp r6, r10\n"
    "  bne 1b\n"
    "9:\n"
    "  add sp, sp, #12\n"
    "  pop {r4-r11, pc}\n"
    "  .size \\name, . - \\name\n"
    "  .popsection\n"
    ".endm\n"
    "PW6_KERNEL tinyml_pw6_rq, 0\n"
    "PW6_KERNEL tinyml_pw6_rq_clamp, 1\n"
    "PW6_KERNEL tinyml_pw6_rq_hi, 2\n"
    ".purgem PW6_KERNEL\n"
    ".purgem PW6_STEP\n"
    "PW_KERNEL tinyml_pw4_rq, 0, 0, 0\n"
    "PW_KERNEL tinyml_pw4_rq_clamp, 0, 0, 1\n"
    "PW_KERNEL tinyml_pw4_rq_hi, 0, 0, 2\n"
    "PW_KERNEL tinyml_pw4_last, 1, 0, 0\n"
    "PW_KERNEL tinyml_pw4_last_clamp, 1, 0, 1\n"
    "PW_KERNEL tinyml_pw4_first, 0, 1, 0\n"
    "PW_KERNEL tinyml_pw4_mid, 1, 1, 0\n"
    ".purgem PW_KERNEL\n"
    ".purgem PW_OUT\n"
    ".purgem PW_STEP\n");
void tinyml_pw4_rq(pw_job* job);
void tinyml_pw4_rq_clamp(pw_job* job);
void tinyml_pw4_last(pw_job* job);
void tinyml_pw4_last_clamp(pw_job* job);
void tinyml_pw4_first(pw_job* job);
void tinyml_pw4_mid(pw_job* job);
void tinyml_pw6_rq(pw_job* job);
void tinyml_pw6_rq_clamp(pw_job* job);
void tinyml_pw4_rq_hi(pw_job* job);
void tinyml_pw6_rq_hi(pw_job* job);

static void pw6_run_job(pw_job* job, int clamp) {
  (clamp == PW_CLAMP_HI ? tinyml_pw6_rq_hi : clamp ? tinyml_pw6_rq_clamp : tinyml_pw6_rq)(job);
}

static void pw_run_job(pw_job* job, int loadp, int storep, int clamp) {
  if (storep) {
    (loadp ? tinyml_pw4_mid : tinyml_pw4_first)(job);
  } else if (loadp) {
    (clamp ? tinyml_pw4_last_clamp : tinyml_pw4_last)(job);
  } else {
    (clamp == PW_CLAMP_HI ? tinyml_pw4_rq_hi : clamp ? tinyml_pw4_rq_clamp : tinyml_pw4_rq)(job);
  }
}
#else
// The assembly's arithmetic in C (host tests).
static void pw_run_job(pw_job* job, int loadp, int storep, int clamp) {
  const uint32_t* c = job->w_end;
  for (const int8_t* x = job->x; x != job->x_end; x += (int32_t)c[PW_C_XADJ]) {
    int32_t a[4];
    memcpy(a, loadp ? (const uint32_t*)job->partial : job->pk, sizeof a);
    for (const uint32_t* q = job->pk + 4; q != job->w_end; q += 8, x += 4) {
      const uint32_t h = tk_read32(x);
      const uint32_t e = tk_sxtab16(job->io2, h), d = tk_sxtab16_ror8(job->io2, h);
      for (int o = 0; o < 4; ++o) a[o] = tk_smlad(d, q[2 * o + 1], tk_smlad(e, q[2 * o], a[o]));
    }
    if (storep) {
      memcpy(job->partial, a, sizeof a);
      job->partial += 4;
      continue;
    }
    if (loadp) job->partial += 4;
    uint32_t word = 0;
    for (int o = 0; o < 4; ++o) {
      int32_t v = tk_smmlar(a[o], (int32_t)c[PW_C_RQ + 2 * o], a[o]);
      v = (v + (v >> 31)) >> c[PW_C_RQ + 2 * o + 1];
      word |= (uint32_t)(uint8_t)tk_ssat8_asr1(tk_qadd(v, (int32_t)c[PW_C_O2])) << (8 * o);
    }
    if (clamp) word = tk_clamp8x4(word, c[PW_C_LO4], c[PW_C_HI4]);
    tk_write32(job->out, word);
    job->out += (int32_t)c[PW_C_K];
  }
}

// The six-channel assembly in C: plain int8 inputs (the starts hold the input offset's share).
static void pw6_run_job(pw_job* job, int clamp) {
  const uint32_t* c = job->w_end;
  for (const int8_t* x = job->x; x != job->x_end; x += (int32_t)c[PW6_C_XADJ]) {
    int32_t a[6];
    memcpy(a, job->pk, sizeof a);
    for (const uint32_t* q = job->pk + 6; q != job->w_end; q += 12, x += 4) {
      const uint32_t h = tk_read32(x);
      const uint32_t e = tk_sxtb16(h), d = tk_sxtb16_ror8(h);
      for (int o = 0; o < 6; ++o) a[o] = tk_smlad(d, q[2 * o + 1], tk_smlad(e, q[2 * o], a[o]));
    }
    int8_t v8[8];
    for (int o = 0; o < 6; ++o) {
      int32_t v = tk_smmlar(a[o], (int32_t)c[PW_C_RQ + 2 * o], a[o]);
      v = (v + (v >> 31)) >> c[PW_C_RQ + 2 * o + 1];
      v8[o] = (int8_t)tk_ssat8_asr1(tk_qadd(v, (int32_t)c[PW6_C_O2]));
    }
    uint32_t lo = tk_read32(v8), hi = (uint8_t)v8[4] | (uint32_t)(uint8_t)v8[5] << 8;
    if (clamp) {
      lo = tk_clamp8x4(lo, c[PW6_C_LO4], c[PW6_C_HI4]);
      hi = tk_clamp8x4(hi, c[PW6_C_LO4], c[PW6_C_HI4]);
    }
    tk_write32(job->out, lo);
    job->out[4] = (int8_t)hi;
    job->out[5] = (int8_t)(hi >> 8);
    job->out += (int32_t)c[PW6_C_K];
  }
}
#endif

// One pixel, every output channel, in plain C: the pixels the blocks leave out.
static void pw_pixel(const tinyml_conv_params* p, const int8_t* x, const int8_t* filter,
                     const int32_t* bias, int8_t* out) {
  const int32_t C = p->in_c, o2 = 2 * p->output_offset + 1;
  for (int32_t c = 0; c < p->out_c; ++c) {
    const int8_t* k = filter + c * C;
    uint32_t acc = bias ? (uint32_t)bias[c] : 0u;  // wraps like TFLite's int32 accumulator
    for (int32_t i = 0; i < C; ++i) acc += (uint32_t)((x[i] + p->input_offset) * k[i]);
    if (tk_channel_fast(p, bias, c, C)) {
      tk_requant r;
      tk_requant_chunk(p, c, 1, &r);
      out[c] = tk_output_rq((int32_t)acc, &r, o2, p->act_min, p->act_max, 0);
    } else {
      out[c] = tk_output_exact((int32_t)acc, p->multiplier[c], p->shift[c], p->output_offset,
                               p->act_min, p->act_max);
    }
  }
}

// Every pixel of six fast channels from c0 (in_c <= PW_CHUNK).
static void pw_block6(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output, int32_t c0, int32_t pixels, int clamp,
                      uint32_t* pk) {
  const int32_t C = p->in_c;
  int32_t sums[6];
  const int32_t steps = (C + 3) / 4;
  for (int32_t o = 0; o < 6; ++o) sums[o] = pw_pack_channel(filter + (c0 + o) * C, C, 6, pk + 6 + 2 * o, 1);
  uint32_t* cst = pk + 6 + 12 * steps;
  for (int32_t o = 0; o < 6; ++o) {  // wraps like TFLite's int32 accumulator
    pk[o] = (bias ? (uint32_t)bias[c0 + o] : 0u) + (uint32_t)p->input_offset * (uint32_t)sums[o];
    cst[PW_C_RQ + 2 * o] = 2u * (uint32_t)p->multiplier[c0 + o];
    cst[PW_C_RQ + 2 * o + 1] = (uint32_t)~p->shift[c0 + o];
  }
  cst[PW6_C_O2] = (uint32_t)(2 * p->output_offset + 1);
  cst[PW6_C_LO4] = (uint32_t)(uint8_t)p->act_min * 0x01010101u;
  cst[PW6_C_HI4] = (uint32_t)(uint8_t)p->act_max * 0x01010101u;
  cst[PW6_C_K] = (uint32_t)p->out_c;
  cst[PW6_C_XADJ] = (uint32_t)(C - 4 * steps);
  pw_job job;
  job.x = input;
  job.x_end = input + pixels * C;
  job.out = output + c0;
  job.partial = 0;
  job.pk = pk;
  job.w_end = cst;
  job.entry = -steps & 3;
  job.io2 = 0;
  pw6_run_job(&job, clamp);
}

void tinyml_conv1x1_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output) {
  uint32_t buf[PW_BUF_WORDS];
  uint32_t* const pk = buf;
  int32_t* const partial = (int32_t*)(buf + PW_PK_WORDS);
  const int32_t C = p->in_c, K = p->out_c, N = p->out_h * p->out_w;
  const int clamp = p->act_min != -128 ? PW_CLAMP_BOTH : p->act_max != 127 ? PW_CLAMP_HI : 0;
  const int chunked = C > PW_CHUNK;
  // Pixels left to pw_pixel: where a step would read past the input (in_c % 4 != 0: up to
  // 4 - in_c % 4 bytes after a pixel) or the output word reach past the output (out_c < 4).
  const int32_t NB = N - pw_tail_pixels(C, K, N);
  const int32_t real = K < 4 ? K : 4;
  pw_job job;
  job.io2 = (uint32_t)(uint16_t)p->input_offset * 0x00010001u;
  for (int32_t next = 0; NB > 0 && next < K;) {
    // Six channels where they are fast (and one chunk), else four; the last block of an out_c
    // that the blocks do not fill overlaps the one before it (its outputs written twice, alike).
    const int32_t rem = K - next;
    if (!chunked && rem >= 6 && rem != 8 && NB >= PW6_MIN_PIXELS) {
      int fast6 = 1;
      for (int32_t o = 0; o < 6; ++o) fast6 = fast6 && pw_fast(p, next + o);
      if (fast6) {
        pw_block6(p, input, filter, bias, output, next, NB, clamp, pk);
        next += 6;
        continue;
      }
    }
    const int32_t c0 = rem >= 4 ? next : (K >= 4 ? K - 4 : 0);
    next += 4;
    int fast = 1;
    for (int32_t o = 0; o < real; ++o) fast = fast && pw_fast(p, c0 + o);
    const int keep = chunked || !fast;  // accumulators kept on the stack
    const int32_t group = keep ? PW_GROUP : NB;
    for (int32_t g0 = 0; g0 < NB; g0 += group) {
      const int32_t gn = NB - g0 < group ? NB - g0 : group;
      for (int32_t k0 = 0; k0 < C; k0 += PW_CHUNK) {
        const int32_t kn = C - k0 < PW_CHUNK ? C - k0 : PW_CHUNK;
        const int32_t steps = chunked || g0 == 0
                                  ? pw_pack(filter, C, k0, kn, c0, real, pk + 4)
                                  : (kn + 3) / 4;  // packed for the first group
        uint32_t* cst = pk + 4 + 8 * steps;
        for (int32_t o = 0; o < 4; ++o) {
          pk[o] = o < real && bias ? (uint32_t)bias[c0 + o] : 0u;
          cst[PW_C_RQ + 2 * o] = o < real ? 2u * (uint32_t)p->multiplier[c0 + o] : 0u;
          cst[PW_C_RQ + 2 * o + 1] = o < real ? (uint32_t)~p->shift[c0 + o] : 0u;
        }
        cst[PW_C_O2] = (uint32_t)(2 * p->output_offset + 1);
        cst[PW_C_LO4] = (uint32_t)(uint8_t)p->act_min * 0x01010101u;
        cst[PW_C_HI4] = (uint32_t)(uint8_t)p->act_max * 0x01010101u;
        cst[PW_C_K] = (uint32_t)K;
        cst[PW_C_XADJ] = (uint32_t)(C - 4 * steps);
        job.x = input + g0 * C + k0;
        job.x_end = job.x + gn * C;
        job.out = output + g0 * K + c0;
        job.partial = partial;
        job.pk = pk;
        job.w_end = cst;
        job.entry = steps & 1;
        const int last = k0 + kn == C;
        pw_run_job(&job, k0 > 0, !(last && fast), clamp);
      }
      if (!fast) {  // the exact requantization of the kept accumulators
        for (int32_t n = 0; n < gn; ++n) {
          int8_t* out = output + (g0 + n) * K + c0;
          for (int32_t o = 0; o < real; ++o) {
            const int32_t c = c0 + o, acc = partial[4 * n + o];
            if (tk_channel_fast(p, bias, c, C)) {
              tk_requant r;
              tk_requant_chunk(p, c, 1, &r);
              out[o] = tk_output_rq(acc, &r, 2 * p->output_offset + 1, p->act_min, p->act_max, 0);
            } else {
              out[o] = tk_output_exact(acc, p->multiplier[c], p->shift[c], p->output_offset,
                                       p->act_min, p->act_max);
            }
          }
        }
      }
    }
  }
  for (int32_t n = NB; n < N; ++n) pw_pixel(p, input + n * C, filter, bias, output + n * K);
}
