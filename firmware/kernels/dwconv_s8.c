// Depthwise convolution of any kernel size k_h x k_w, column stride 1 or 2 (any row stride),
// channel multiplier m >= 1, int8 (see tinyml_kernels.h): the layers the 3x3 kernel does not take.
// CMSIS-NN's pinned kernels take 8.2-9.9 instructions per MAC on 5x5 and 7x7 layers and 17-30
// with a channel multiplier (QEMU, benchmarks/kernels.py).
//
// Channel rows, as the 3x3 kernel's strides 1 and 2: the input rows of a group of up to four input
// channels are transposed once into int16 rows per channel (input offset added; padding columns
// hold 0; padding rows are skipped, or read as rows of zeros by windows of three rows), so that one
// word holds two neighbouring columns of one channel. With each filter row stored as the words
// E_i = (w[2i], w[2i+1]) and O_i = (w[2i-1], w[2i]) (w outside [0, k_w) = 0), doubled for the
// requantization's SMMLAR,
//   stride 1: outputs at columns j, j+1, j+2, j+3 take, from the words X_i = (x[j+2i], x[j+2i+1]),
//             X_i.E_i, X_i.O_i, X_{i+1}.E_i, X_{i+1}.O_i: one load of input and one LDRD of filter
//             per four SMLADs;
//   stride 2: outputs at columns 2j .. 2j+6 take X_{i+t}.E_i (t = 0..3).
// Each output channel of the group reads its input channel's rows (channel multiplier: m output
// channels read the same rows). Requantization: the SMMLAR form (tk_output_k), which saturates to
// int8; a narrower activation range is a pass over the output. A k_h x 1 filter over a one-column
// map runs as 1 x k_h over a one-row map (the same memory). The DSP path runs an output row of
// every channel of a group in one assembly loop; the portable path is the same arithmetic in C.
#include "tinyml_kernels_common.h"

// int16 of transposed rows, and words of per-output-channel constants, on the stack.
#define DWA_POOL 2048
#define DWA_CONST_WORDS 352
#define DWA_MAX_KH 16
#define DWA_MAX_WORDS 8  // words per filter row (E, O pairs): k_w <= 15
// Per output channel: k_h filter rows of DWA words (E_0, O_0, E_1, O_1, ...), then these four.
enum { DWA_START = 0, DWA_MULT, DWA_K, DWA_RS1, DWA_QWORDS };

// Words per filter row: floor(k_w / 2) + 1 (E_i and O_i for i below it).
TK_INLINE int32_t dwa_words(int32_t k_w) { return k_w / 2 + 1; }

// The layer seen by the kernel: a k_h x 1 filter over a one-column map is the 1 x k_h filter over
// a one-row map with the same memory layout (1-D models written as H x 1 images).
static void dwa_oriented(const tinyml_conv_params* p, tinyml_conv_params* q) {
  *q = *p;
  if (p->k_w == 1 && p->k_h > 1 && p->in_w == 1 && p->out_w == 1) {
    q->in_h = p->in_w;
    q->in_w = p->in_h;
    q->out_h = p->out_w;
    q->out_w = p->out_h;
    q->k_h = p->k_w;
    q->k_w = p->k_h;
    q->stride_h = p->stride_w;
    q->stride_w = p->stride_h;
    q->pad_h = p->pad_w;
    q->pad_w = p->pad_h;
  }
}

// Highest row column (padding included) an output row reads.
static int32_t dwa_last_column(const tinyml_conv_params* q) {
  const int32_t S = q->stride_w, nw = dwa_words(q->k_w);
  const int32_t blocks = (q->out_w + 3) & ~3;  // outputs the blocks of four compute
  if (S == 1) return blocks - 4 + 2 * nw + 1;
  return 2 * (blocks - 1) + 2 * ((q->k_w + 1) / 2) - 1;  // stride 2
}

// int16 from one channel's row to the next: even, so rows stay word aligned.
static int32_t dwa_pitch(const tinyml_conv_params* q) { return (dwa_last_column(q) + 2) & ~1; }

// a mod b for any a (b > 0).
TK_INLINE int32_t dwa_mod(int32_t a, int32_t b) {
  const int32_t r = a % b;
  return r < 0 ? r + b : r;
}

// Row slots: an input row iy sits in slot iy % k_h and again in slot iy % k_h + k_h, so that the
// rows of every window are consecutive slots (one step from row to row).
TK_INLINE int32_t dwa_slots(int32_t k_h) { return k_h == 1 ? 1 : 2 * k_h; }

// Input channels per group: up to four (one transposition step), as the row pool and the
// constants allow; 0 when not even one fits. A multiplier whose output channels' constants do not
// fit at once (one input channel of a grayscale first layer, e.g. micro_speech's 10x8 x 8) takes
// its output channels in passes over one input channel at a time, transposing its rows again per
// pass.
static int32_t dwa_group(const tinyml_conv_params* q, int32_t m) {
  const int32_t rows = DWA_POOL / (dwa_slots(q->k_h) * dwa_pitch(q));
  const int32_t words = q->k_h * 2 * dwa_words(q->k_w) + DWA_QWORDS;  // per output channel
  int32_t consts = DWA_CONST_WORDS / (m * words);
  if (consts < 1 && words <= DWA_CONST_WORDS) consts = 1;
  int32_t group = rows < consts ? rows : consts;
  if (group > 4) group = 4;
  return group;
}

int tinyml_dwconv_s8_covers(const tinyml_conv_params* p, const int32_t* bias) {
  if (p->in_c < 1 || p->out_c < 1 || p->out_c % p->in_c != 0) return 0;
  if (p->k_h < 1 || p->k_w < 1 || p->stride_h < 1 || p->stride_w < 1) return 0;
  if (p->pad_h < 0 || p->pad_w < 0 || p->out_h < 1 || p->out_w < 1) return 0;
  tinyml_conv_params q;
  dwa_oriented(p, &q);
  if (q.k_h > DWA_MAX_KH || dwa_words(q.k_w) > DWA_MAX_WORDS) return 0;
  // Where blocks of four outputs along a row waste most of their work, or the per-channel
  // constants outweigh the MACs, CMSIS-NN is faster: one output column or fewer than four output
  // pixels (measured: 5x5 at 1x1, 19.5 against 7.9 instructions per MAC; at 2x2, 7.3 against
  // 8.4), a k_w of 1, or strides of 3 and more (4x4 stride 3, 14.0 against 12.8).
  if (q.k_w < 2 || q.stride_w > 2 || q.out_w < 2 || q.out_h * q.out_w < 4) return 0;
  if (dwa_group(&q, p->out_c / p->in_c) < 1) return 0;
  return tk_quant_covered(p, bias, p->k_h * p->k_w) && tk_k_form_covered(p);
}

// The requantized outputs of the accumulators a0.. (doubled), n of them (1..4), C apart.
TK_INLINE void dwa_store(int8_t* out, int32_t C, int32_t n, const int32_t* q, int32_t a0,
                         int32_t a1, int32_t a2, int32_t a3) {
  const int32_t mult = q[DWA_MULT], k = q[DWA_K], rs1 = q[DWA_RS1];
  out[0] = (int8_t)tk_output_k(a0, mult, k, rs1);
  if (n > 1) out[C] = (int8_t)tk_output_k(a1, mult, k, rs1);
  if (n > 2) out[2 * C] = (int8_t)tk_output_k(a2, mult, k, rs1);
  if (n > 3) out[3 * C] = (int8_t)tk_output_k(a3, mult, k, rs1);
}

// The window rows of one output row: the input rows its windows meet (padding rows left out) as
// channel 0's rows of their slots, and the filter row of the first.
typedef struct {
  const int16_t* row0;  // channel 0 of the first row
  int32_t row_step;     // int16 from a row to the next (a slot)
  int32_t n_rows;
  int32_t first_filter_row;
} dwa_window;

// The word loops below unroll for NW up to 8 when NW is a constant (GCC 7, the board's compiler,
// has no #pragma GCC unroll); with a variable NW they stay loops.
#define DWA_UNROLLED(NW, STEP)                    \
  do {                                            \
    if (!__builtin_constant_p(NW) || (NW) > 8) {  \
      for (int32_t i = 0; i < (NW); ++i) STEP(i); \
    } else {                                      \
      if ((NW) > 0) STEP(0);                      \
      if ((NW) > 1) STEP(1);                      \
      if ((NW) > 2) STEP(2);                      \
      if ((NW) > 3) STEP(3);                      \
      if ((NW) > 4) STEP(4);                      \
      if ((NW) > 5) STEP(5);                      \
      if ((NW) > 6) STEP(6);                      \
      if ((NW) > 7) STEP(7);                      \
    }                                             \
  } while (0)

// Stride 1: four outputs (columns j..j+3, the words X_i from column j) per step, then two.
#define DWA_S1_STEP4(i)                              \
  do {                                               \
    const uint32_t xn = tk_read32(x + 2 * (i) + 2);  \
    const uint32_t e = fr[2 * (i)], o = fr[2 * (i) + 1]; \
    a0 = tk_smlad(xp, e, a0);                        \
    a1 = tk_smlad(xp, o, a1);                        \
    a2 = tk_smlad(xn, e, a2);                        \
    a3 = tk_smlad(xn, o, a3);                        \
    xp = xn;                                         \
  } while (0)
#define DWA_S1_STEP2(i)                              \
  do {                                               \
    const uint32_t xv = tk_read32(x + 2 * (i));      \
    a0 = tk_smlad(xv, fr[2 * (i)], a0);              \
    a1 = tk_smlad(xv, fr[2 * (i) + 1], a1);          \
  } while (0)
// Stride 2: outputs at columns 2j, 2j+2, 2j+4, 2j+6 take X_{i+t}.E_i.
#define DWA_S2_STEP4(i)                              \
  do {                                               \
    const uint32_t x3 = tk_read32(x + 2 * (i) + 6);  \
    const uint32_t e = fr[2 * (i)];                  \
    a0 = tk_smlad(x0, e, a0);                        \
    a1 = tk_smlad(x1, e, a1);                        \
    a2 = tk_smlad(x2, e, a2);                        \
    a3 = tk_smlad(x3, e, a3);                        \
    x0 = x1;                                         \
    x1 = x2;                                         \
    x2 = x3;                                         \
  } while (0)
#define DWA_S2_STEP2(i)                              \
  do {                                               \
    const uint32_t x1 = tk_read32(x + 2 * (i) + 2);  \
    const uint32_t e = fr[2 * (i)];                  \
    a0 = tk_smlad(x0, e, a0);                        \
    a1 = tk_smlad(x1, e, a1);                        \
    x0 = x1;                                         \
  } while (0)

#ifdef TINYML_KERNELS_DSP
// One window row of a block of four outputs in assembly (GCC spills around the C loops:
// measured 0.5-1 instruction per MAC more at 3x3), stride 1: NW + 1 input words, NW LDRDs of
// (E_i, O_i), 4 NW SMLADs; stride 2: NE + 3 input words, NE E words, 4 NE SMLADs.
#define DWA_S1_ASM(XN_OFF, A, B)                    \
  "ldr %[" B "], [%[x], #" XN_OFF "]\n\t"           \
  "ldrd %[e], %[o], [%[f]], #8\n\t"                 \
  "smlad %[a0], %[" A "], %[e], %[a0]\n\t"          \
  "smlad %[a1], %[" A "], %[o], %[a1]\n\t"          \
  "smlad %[a2], %[" B "], %[e], %[a2]\n\t"          \
  "smlad %[a3], %[" B "], %[o], %[a3]\n\t"
#define DWA_S1_W1 DWA_S1_ASM("4", "xa", "xb")
#define DWA_S1_W2 DWA_S1_W1 DWA_S1_ASM("8", "xb", "xa")
#define DWA_S1_W3 DWA_S1_W2 DWA_S1_ASM("12", "xa", "xb")
#define DWA_S1_W4 DWA_S1_W3 DWA_S1_ASM("16", "xb", "xa")
#define DWA_S1_W5 DWA_S1_W4 DWA_S1_ASM("20", "xa", "xb")
#define DWA_S1_W6 DWA_S1_W5 DWA_S1_ASM("24", "xb", "xa")

#define DWA_S2_ASM(X3_OFF, F_OFF, R0, R1, R2, R3)   \
  "ldr %[" R3 "], [%[x], #" X3_OFF "]\n\t"          \
  "ldr %[e], [%[f], #" F_OFF "]\n\t"                \
  "smlad %[a0], %[" R0 "], %[e], %[a0]\n\t"         \
  "smlad %[a1], %[" R1 "], %[e], %[a1]\n\t"         \
  "smlad %[a2], %[" R2 "], %[e], %[a2]\n\t"         \
  "smlad %[a3], %[" R3 "], %[e], %[a3]\n\t"
#define DWA_S2_W1 DWA_S2_ASM("12", "0", "xa", "xb", "xc", "xd")
#define DWA_S2_W2 DWA_S2_W1 DWA_S2_ASM("16", "8", "xb", "xc", "xd", "xa")
#define DWA_S2_W3 DWA_S2_W2 DWA_S2_ASM("20", "16", "xc", "xd", "xa", "xb")
#define DWA_S2_W4 DWA_S2_W3 DWA_S2_ASM("24", "24", "xd", "xa", "xb", "xc")


#endif

#ifdef TINYML_KERNELS_DSP
// One output row of every channel of a group in one assembly loop (the C loops around a block
// spill: measured 40-80 instructions per channel row more), blocks of four outputs with the
// requantization (tk_output_k) and stores; the last block of a row stores out_w % 4 outputs when
// that is not 0 (it reads columns the pitch holds). The loop's state lives in a dwa_job, read
// through one register: asm takes at most 30 operands and the M4 has 13 free registers.
typedef struct {
  const int16_t* x;        // the block's first input column (first window row)   [job, #0]
  const uint32_t* f;       // the channel's filter words of its first window row  #4
  int32_t n_rows;          // >= 1                                                #8
  int32_t row_step;        // bytes from a window row to the next                 #12
  int8_t* out;             // the block's first output                            #16
  int32_t C;               // output pixel stride                                 #20
  int32_t blocks_left;     // of this channel, the current one included           #24
  const int32_t* q;        // the channel's start, multiplier, k, rs - 1          #28
  int32_t blocks;          // full blocks per row: out_w / 4                      #32
  int32_t rem;             // out_w % 4                                           #36
  const int16_t* x_chan;   // the channel's row (first column)                    #40
  int8_t* out_chan;        // the channel's first output                          #44
  int32_t channels_left;   // >= 1                                                #48
  int32_t words_bytes;     // constants of one channel                            #52
  int32_t pitch_bytes;     // from one input channel's rows to the next           #56
  int32_t m;               // channel multiplier                                  #60
  int32_t m_left;          // output channels left on this input channel          #64
} dwa_job;
_Static_assert(sizeof(dwa_job) == 68, "the assembly reads dwa_job at fixed offsets");
_Static_assert(DWA_START == 0 && DWA_MULT == 1 && DWA_K == 2 && DWA_RS1 == 3,
               "the assembly reads the constants at [q], [q, #4] (LDRD with k), [q, #12]");

// The loop: per channel (3), its full blocks of four outputs (2), then the rest of the row (10):
// three outputs as a block of four with three stores (11), one or two as a block of two (8);
// then the next channel (5). 4 ends the assembly.
#define DWA_JOB_CHANNEL                                 \
  "3:\n\t"                                              \
  "ldr %[x], [%[job], #40]\n\t"                         \
  "str %[x], [%[job]]\n\t"                              \
  "ldr %[x], [%[job], #44]\n\t"                         \
  "str %[x], [%[job], #16]\n\t"                         \
  "ldr %[n], [%[job], #32]\n\t"                         \
  "cmp %[n], #0\n\t"                                    \
  "beq 10f\n\t"                                         \
  "str %[n], [%[job], #24]\n\t"
// Accumulators from the start, the first window row.
// n: the row count (NOFF "8") or, for the unrolled rows, the row step (NOFF "12").
#define DWA_JOB_START4(NOFF)                            \
  "ldr %[e], [%[job], #28]\n\t"                         \
  "ldr %[a0], [%[e]]\n\t"                               \
  "mov %[a1], %[a0]\n\t"                                \
  "mov %[a2], %[a0]\n\t"                                \
  "mov %[a3], %[a0]\n\t"                                \
  "ldr %[x], [%[job]]\n\t"                              \
  "ldr %[f], [%[job], #4]\n\t"                          \
  "ldr %[n], [%[job], #" NOFF "]\n\t"
// The window rows: ROW is one row's words; then x steps to the next row.
#define DWA_JOB_ROWS(ROW)                               \
  "1:\n\t" ROW                                          \
  "ldr %[e], [%[job], #12]\n\t"                         \
  "add %[x], %[x], %[e]\n\t"                            \
  "subs %[n], %[n], #1\n\t"                             \
  "bne 1b\n\t"
// Three window rows unrolled (windows of three rows, padding rows read as zero rows; n holds
// the row step).
#define DWA_JOB_ROWS3(ROW) ROW "add %[x], %[x], %[n]\n\t" ROW "add %[x], %[x], %[n]\n\t" ROW
// The requantization constants (multiplier, k, rs - 1), the output pointer in f, C in CR.
#define DWA_JOB_CONSTANTS(CR)                           \
  "ldr %[e], [%[job], #28]\n\t"                         \
  "ldrd %[xa], %[xb], [%[e], #4]\n\t"                   \
  "ldr %[e], [%[e], #12]\n\t"                           \
  "ldr %[f], [%[job], #16]\n\t"                         \
  "ldr %[" CR "], [%[job], #20]\n\t"
// The output byte of A to [f], then f one pixel on (C in CR).
#define DWA_JOB_OUT(A, CR)                              \
  TK_OUTPUT_K_ASM("x", A, "xa", "xb", "e")              \
  "strb %[x], [%[f]]\n\t"                               \
  "add %[f], %[f], %[" CR "]\n\t"
// Four outputs: pixels 0 and 1 at [f] and [f, C], f two pixels on, the same for 2 and 3.
#define DWA_JOB_OUT4(CR)                                \
  TK_OUTPUT_K_ASM("x", "a0", "xa", "xb", "e")           \
  "strb %[x], [%[f]]\n\t"                               \
  TK_OUTPUT_K_ASM("x", "a1", "xa", "xb", "e")           \
  "strb %[x], [%[f], %[" CR "]]\n\t"                    \
  "add %[f], %[f], %[" CR "], lsl #1\n\t"               \
  TK_OUTPUT_K_ASM("x", "a2", "xa", "xb", "e")           \
  "strb %[x], [%[f]]\n\t"                               \
  TK_OUTPUT_K_ASM("x", "a3", "xa", "xb", "e")           \
  "strb %[x], [%[f], %[" CR "]]\n\t"                    \
  "add %[f], %[f], %[" CR "], lsl #1\n\t"
// The whole loop. ROWS4 / ROWS2: the window rows of a block of four / two outputs (NOFF: what
// they take in n, see DWA_JOB_START4); XSTEP: bytes from a block's first input column to the
// next block's; CR: a register free for C.
#define DWA_JOB_LOOP(ROWS4, ROWS2, NOFF, XSTEP, CR)     \
  DWA_JOB_CHANNEL                                       \
  "2:\n\t" DWA_JOB_START4(NOFF) ROWS4                   \
  DWA_JOB_CONSTANTS(CR) DWA_JOB_OUT4(CR)                \
  "str %[f], [%[job], #16]\n\t"                         \
  "ldr %[x], [%[job]]\n\t"                              \
  "add %[x], %[x], #" XSTEP "\n\t"                      \
  "str %[x], [%[job]]\n\t"                              \
  "ldr %[n], [%[job], #24]\n\t"                         \
  "subs %[n], %[n], #1\n\t"                             \
  "str %[n], [%[job], #24]\n\t"                         \
  "bne 2b\n\t"                                          \
  "10:\n\t"                                             \
  "ldr %[n], [%[job], #36]\n\t"                         \
  "cmp %[n], #3\n\t"                                    \
  "beq 11f\n\t"                                         \
  "cmp %[n], #0\n\t"                                    \
  "bne 8f\n\t"                                          \
  "5:\n\t"                                              \
  "ldr %[e], [%[job], #52]\n\t"                         \
  "ldr %[f], [%[job], #4]\n\t"                          \
  "add %[f], %[f], %[e]\n\t"                            \
  "str %[f], [%[job], #4]\n\t"                          \
  "ldr %[f], [%[job], #28]\n\t"                         \
  "add %[f], %[f], %[e]\n\t"                            \
  "str %[f], [%[job], #28]\n\t"                         \
  "ldr %[f], [%[job], #44]\n\t"                         \
  "add %[f], %[f], #1\n\t"                              \
  "str %[f], [%[job], #44]\n\t"                         \
  "ldr %[n], [%[job], #64]\n\t"                         \
  "subs %[n], %[n], #1\n\t"                             \
  "bne 6f\n\t"                                          \
  "ldr %[x], [%[job], #40]\n\t"                         \
  "ldr %[e], [%[job], #56]\n\t"                         \
  "add %[x], %[x], %[e]\n\t"                            \
  "str %[x], [%[job], #40]\n\t"                         \
  "ldr %[n], [%[job], #60]\n\t"                         \
  "6:\n\t"                                              \
  "str %[n], [%[job], #64]\n\t"                         \
  "ldr %[n], [%[job], #48]\n\t"                         \
  "subs %[n], %[n], #1\n\t"                             \
  "str %[n], [%[job], #48]\n\t"                         \
  "bne 3b\n\t"                                          \
  "b 4f\n\t"                                            \
  "11:\n\t" DWA_JOB_START4(NOFF) ROWS4                  \
  DWA_JOB_CONSTANTS(CR)                                 \
  DWA_JOB_OUT("a0", CR) DWA_JOB_OUT("a1", CR) DWA_JOB_OUT("a2", CR) \
  "b 5b\n\t"                                            \
  "8:\n\t" DWA_JOB_START4(NOFF) ROWS2                   \
  DWA_JOB_CONSTANTS(CR)                                 \
  DWA_JOB_OUT("a0", CR)                                 \
  "ldr %[n], [%[job], #36]\n\t"                         \
  "cmp %[n], #2\n\t"                                    \
  "blt 5b\n\t"                                          \
  DWA_JOB_OUT("a1", CR)                                 \
  "b 5b\n\t"                                            \
  "4:\n\t"

// Two-output window rows: stride 1, a0 += X_i.E_i, a1 += X_i.O_i; stride 2, a0 += X_i.E_i,
// a1 += X_{i+1}.E_i.
#define DWA_S1_TWO(X_OFF)                               \
  "ldr %[xa], [%[x], #" X_OFF "]\n\t"                   \
  "ldrd %[e], %[o], [%[f]], #8\n\t"                     \
  "smlad %[a0], %[xa], %[e], %[a0]\n\t"                 \
  "smlad %[a1], %[xa], %[o], %[a1]\n\t"
#define DWA_S1_TWO1 DWA_S1_TWO("0")
#define DWA_S1_TWO2 DWA_S1_TWO1 DWA_S1_TWO("4")
#define DWA_S1_TWO3 DWA_S1_TWO2 DWA_S1_TWO("8")
#define DWA_S1_TWO4 DWA_S1_TWO3 DWA_S1_TWO("12")
#define DWA_S1_TWO5 DWA_S1_TWO4 DWA_S1_TWO("16")
#define DWA_S1_TWO6 DWA_S1_TWO5 DWA_S1_TWO("20")

#define DWA_S2_TWO(X_OFF, F_OFF, A, B)                  \
  "ldr %[" B "], [%[x], #" X_OFF "]\n\t"                \
  "ldr %[e], [%[f], #" F_OFF "]\n\t"                    \
  "smlad %[a0], %[" A "], %[e], %[a0]\n\t"              \
  "smlad %[a1], %[" B "], %[e], %[a1]\n\t"
#define DWA_S2_TWO1 "ldr %[xa], [%[x]]\n\t" DWA_S2_TWO("4", "0", "xa", "xb")
#define DWA_S2_TWO2 DWA_S2_TWO1 DWA_S2_TWO("8", "8", "xb", "xa")
#define DWA_S2_TWO3 DWA_S2_TWO2 DWA_S2_TWO("12", "16", "xa", "xb")
#define DWA_S2_TWO4 DWA_S2_TWO3 DWA_S2_TWO("16", "24", "xb", "xa")


#define DWA_DEFINE_ROW_S1(NAME, NW, ROWS, NOFF)                                                \
  TK_INLINE void NAME(dwa_job* job) {                                                          \
    int32_t a0, a1, a2, a3, n;                                                                 \
    const int16_t* x;                                                                          \
    const uint32_t* f;                                                                         \
    uint32_t xa, xb, e, o;                                                                     \
    __asm__ volatile(DWA_JOB_LOOP(ROWS("ldr %[xa], [%[x]]\n\t" DWA_S1_W##NW),                  \
                                  ROWS(DWA_S1_TWO##NW), NOFF, "8", "o")                        \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),         \
                       [x] "=&r"(x), [f] "=&r"(f), [n] "=&r"(n), [xa] "=&r"(xa),               \
                       [xb] "=&r"(xb), [e] "=&r"(e), [o] "=&r"(o)                              \
                     : [job] "r"(job)                                                          \
                     : "cc", "memory");                                                        \
  }
#define DWA_S2_ROW4(NE, NW)                             \
  "ldr %[xa], [%[x]]\n\t"                               \
  "ldr %[xb], [%[x], #4]\n\t"                           \
  "ldr %[xc], [%[x], #8]\n\t" DWA_S2_W##NE              \
  "add %[f], %[f], #8*" #NW "\n\t"
#define DWA_DEFINE_ROW_S2(NAME, NE, NW, ROWS, NOFF)                                            \
  TK_INLINE void NAME(dwa_job* job) {                                                          \
    int32_t a0, a1, a2, a3, n;                                                                 \
    const int16_t* x;                                                                          \
    const uint32_t* f;                                                                         \
    uint32_t xa, xb, xc, xd, e;                                                                \
    __asm__ volatile(DWA_JOB_LOOP(ROWS(DWA_S2_ROW4(NE, NW)),                                   \
                                  ROWS(DWA_S2_TWO##NE "add %[f], %[f], #8*" #NW "\n\t"), NOFF, \
                                  "16", "xc")                                                  \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),         \
                       [x] "=&r"(x), [f] "=&r"(f), [n] "=&r"(n), [xa] "=&r"(xa),               \
                       [xb] "=&r"(xb), [xc] "=&r"(xc), [xd] "=&r"(xd), [e] "=&r"(e)            \
                     : [job] "r"(job)                                                          \
                     : "cc", "memory");                                                        \
  }
DWA_DEFINE_ROW_S1(dwa_row_asm_s1_2, 2, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S1(dwa_row_asm_s1_3, 3, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S1(dwa_row_asm_s1_4, 4, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S1(dwa_row_asm_s1_5, 5, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S1(dwa_row_asm_s1_6, 6, DWA_JOB_ROWS, "8")
// Stride 2: NE words of E per row, NW words per filter row (k_w = 2 NE - 1 or 2 NE).
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_1_2, 1, 2, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_2_2, 2, 2, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_2_3, 2, 3, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_3_3, 3, 3, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_3_4, 3, 4, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_4_4, 4, 4, DWA_JOB_ROWS, "8")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_4_5, 4, 5, DWA_JOB_ROWS, "8")  // micro_speech's 10x8
// 3x3 (the channel multipliers the 3x3 kernel leaves): three rows unrolled.
DWA_DEFINE_ROW_S1(dwa_row_asm_s1_2_rows3, 2, DWA_JOB_ROWS3, "12")
DWA_DEFINE_ROW_S2(dwa_row_asm_s2_2_rows3, 2, 2, DWA_JOB_ROWS3, "12")

// The copy for (S, NW, NE), constants in the specialized callers.
TK_INLINE void dwa_row_asm(dwa_job* job, int32_t S, int32_t NW, int32_t NE) {
  if (job->n_rows == 3 && NW == 2 && (S == 1 || NE == 2)) {  // 3x3 windows, all rows
    if (S == 1) {
      dwa_row_asm_s1_2_rows3(job);
    } else {
      dwa_row_asm_s2_2_rows3(job);
    }
    return;
  }
  if (S == 1) {
    switch (NW) {
      case 2: dwa_row_asm_s1_2(job); return;
      case 3: dwa_row_asm_s1_3(job); return;
      case 4: dwa_row_asm_s1_4(job); return;
      case 5: dwa_row_asm_s1_5(job); return;
      default: dwa_row_asm_s1_6(job); return;
    }
  }
  switch (NE * 8 + NW) {
    case 1 * 8 + 2: dwa_row_asm_s2_1_2(job); return;
    case 2 * 8 + 2: dwa_row_asm_s2_2_2(job); return;
    case 2 * 8 + 3: dwa_row_asm_s2_2_3(job); return;
    case 3 * 8 + 3: dwa_row_asm_s2_3_3(job); return;
    case 3 * 8 + 4: dwa_row_asm_s2_3_4(job); return;
    case 4 * 8 + 4: dwa_row_asm_s2_4_4(job); return;
    default: dwa_row_asm_s2_4_5(job); return;
  }
}
#endif

// Four outputs of one channel from n_rows >= 1 window rows (x: the block's first column of the
// first row; f: its filter words), into acc (holding the start).
TK_INLINE void dwa_block4(const int16_t* x, const uint32_t* f, int32_t n_rows, int32_t row_step,
                          int32_t* acc, int32_t S, int32_t NW, int32_t NE) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const uint32_t* fr = f;
  for (int32_t r = 0; r < n_rows; ++r, fr += 2 * NW, x += row_step) {
    if (S == 1) {
      uint32_t xp = tk_read32(x);
      DWA_UNROLLED(NW, DWA_S1_STEP4);
    } else {
      uint32_t x0 = tk_read32(x), x1 = tk_read32(x + 2), x2 = tk_read32(x + 4);
      DWA_UNROLLED(NE, DWA_S2_STEP4);
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

// One output row of the group's output channels (n_oc of them, m per input channel: channel oc
// reads the rows one pitch on per oc / m). cst: the first channel's constants, `words` apart;
// NW words per filter row, NE of them E words that stride 2 reads (constants in the copies).
TK_INLINE void dwa_rows_s12(const dwa_window* win, const int32_t* cst, int32_t words,
                            int32_t n_oc, int32_t m, int32_t pitch, int8_t* out, int32_t C,
                            int32_t out_w, int32_t S, int32_t NW, int32_t NE, int ASM) {
  const int32_t n_rows = win->n_rows, f_skip = win->first_filter_row * 2 * NW;
  const int32_t row_step = win->row_step;
  (void)ASM;  // the portable build has no assembly
  if (n_rows == 0) {  // every tap in padding rows: the start alone
    for (int32_t oc = 0; oc < n_oc; ++oc, cst += words, ++out) {
      const int32_t* q = cst + words - DWA_QWORDS;
      const int8_t v = (int8_t)tk_output_k(q[DWA_START], q[DWA_MULT], q[DWA_K], q[DWA_RS1]);
      for (int32_t j = 0; j < out_w; ++j) out[j * C] = v;
    }
    return;
  }
#ifdef TINYML_KERNELS_DSP
  if (ASM) {
    dwa_job job;
    job.f = (const uint32_t*)cst + f_skip;
    job.n_rows = n_rows;
    job.row_step = row_step * (int32_t)sizeof(int16_t);
    job.C = C;
    job.q = cst + words - DWA_QWORDS;
    job.blocks = out_w / 4;
    job.rem = out_w % 4;
    job.x_chan = win->row0;
    job.out_chan = out;
    job.channels_left = n_oc;
    job.words_bytes = words * (int32_t)sizeof(int32_t);
    job.pitch_bytes = pitch * (int32_t)sizeof(int16_t);
    job.m = m;
    job.m_left = m;
    dwa_row_asm(&job, S, NW, NE);
    return;
  }
#endif
  for (int32_t oc = 0, mi = 0, ch_off = 0; oc < n_oc; ++oc, cst += words, ++out) {
    const int32_t* q = cst + words - DWA_QWORDS;
    const uint32_t* f = (const uint32_t*)cst + f_skip;
    int8_t* o = out;
    int32_t j = 0;
    for (; j + 4 <= out_w; j += 4, o += 4 * C) {
      int32_t acc[4] = {q[DWA_START], q[DWA_START], q[DWA_START], q[DWA_START]};
      dwa_block4(win->row0 + ch_off + S * j, f, n_rows, row_step, acc, S, NW, NE);
      dwa_store(o, C, 4, q, acc[0], acc[1], acc[2], acc[3]);
    }
    if (j < out_w) {  // computed past the row (the pitch holds its columns), stored in it
      int32_t acc[4] = {q[DWA_START], q[DWA_START], q[DWA_START], q[DWA_START]};
      dwa_block4(win->row0 + ch_off + S * j, f, n_rows, row_step, acc, S, NW, NE);
      dwa_store(o, C, out_w - j, q, acc[0], acc[1], acc[2], acc[3]);
    }
    if (++mi == m) {
      mi = 0;
      ch_off += pitch;
    }
  }
}

// The specialized copies: the assembly for k_w up to 11 (stride 1) or 8 (stride 2; about 1.1 KB
// of flash each), loops in C for the rest.
// m: output channels per input channel of this pass (more than n_oc: one input channel).
static void dwa_rows(const tinyml_conv_params* p, const dwa_window* win, const int32_t* cst,
                     int32_t words, int32_t n_oc, int32_t m, int32_t pitch, int8_t* out) {
  const int32_t C = p->out_c, W = p->out_w;
  const int32_t NW = dwa_words(p->k_w), NE = (p->k_w + 1) / 2;
#define DWA_S1(nw) dwa_rows_s12(win, cst, words, n_oc, m, pitch, out, C, W, 1, nw, 0, 1)
#define DWA_S2(nw, ne) dwa_rows_s12(win, cst, words, n_oc, m, pitch, out, C, W, 2, nw, ne, 1)
  if (p->stride_w == 1) {
    switch (NW) {
      case 2: DWA_S1(2); return;
      case 3: DWA_S1(3); return;
      case 4: DWA_S1(4); return;
      case 5: DWA_S1(5); return;
      case 6: DWA_S1(6); return;
      default: dwa_rows_s12(win, cst, words, n_oc, m, pitch, out, C, W, 1, NW, 0, 0); return;
    }
  }
  // Stride 2 (the only other one covered).
  switch (p->k_w) {
    case 2: DWA_S2(2, 1); return;
    case 3: DWA_S2(2, 2); return;
    case 4: DWA_S2(3, 2); return;
    case 5: DWA_S2(3, 3); return;
    case 6: DWA_S2(4, 3); return;
    case 7: DWA_S2(4, 4); return;
    case 8: DWA_S2(5, 4); return;
    default: dwa_rows_s12(win, cst, words, n_oc, m, pitch, out, C, W, 2, NW, NE, 0); return;
  }
#undef DWA_S1
#undef DWA_S2
}

// Input row src (channels c..c+3 of its first pixel) into the rows d (channel c; the next channel
// one pitch on), n columns: two pixels of four channels at a time.
// copy: int16 from d to the row's second copy (0: none).
TK_INLINE void dwa_transpose4(const int8_t* src, int32_t C, int32_t n, uint32_t ioff2,
                              int32_t input_offset, int16_t* d, int32_t pitch, int32_t copy) {
  int32_t x = 0;
#ifdef TINYML_KERNELS_DSP
  // GCC spills the eight row pointers: 25 instructions per two pixels here, about 38 in C.
  if (n >= 2) {
    int32_t pairs = n / 2;
    const int32_t P = pitch * (int32_t)sizeof(int16_t), CP = copy * (int32_t)sizeof(int16_t);
    uint32_t A, B, t0, t1, t2, t3;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[A], [%[src]]\n\t"
        "ldr %[B], [%[src], %[C]]\n\t"
        "add %[src], %[src], %[C], lsl #1\n\t"
        "sxtab16 %[t0], %[ioff2], %[A]\n\t"
        "sxtab16 %[t1], %[ioff2], %[A], ror #8\n\t"
        "sxtab16 %[t2], %[ioff2], %[B]\n\t"
        "sxtab16 %[t3], %[ioff2], %[B], ror #8\n\t"
        "pkhbt %[A], %[t0], %[t2], lsl #16\n\t"
        "pkhtb %[t0], %[t2], %[t0], asr #16\n\t"
        "pkhbt %[B], %[t1], %[t3], lsl #16\n\t"
        "pkhtb %[t1], %[t3], %[t1], asr #16\n\t"
        "str %[A], [%[d]]\n\t"
        "str %[B], [%[d], %[P]]\n\t"
        "add %[t2], %[d], %[P], lsl #1\n\t"
        "str %[t0], [%[t2]]\n\t"
        "str %[t1], [%[t2], %[P]]\n\t"
        "cmp %[CP], #0\n\t"
        "beq 2f\n\t"
        "add %[t2], %[d], %[CP]\n\t"
        "str %[A], [%[t2]]\n\t"
        "str %[B], [%[t2], %[P]]\n\t"
        "add %[t2], %[t2], %[P], lsl #1\n\t"
        "str %[t0], [%[t2]]\n\t"
        "str %[t1], [%[t2], %[P]]\n\t"
        "2:\n\t"
        "add %[d], %[d], #4\n\t"
        "subs %[pairs], %[pairs], #1\n\t"
        "bne 1b\n\t"
        : [src] "+r"(src), [d] "+r"(d), [pairs] "+r"(pairs), [A] "=&r"(A), [B] "=&r"(B),
          [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
        : [C] "r"(C), [ioff2] "r"(ioff2), [P] "r"(P), [CP] "r"(CP)
        : "cc", "memory");
    x = n & ~1;
  }
#endif
  for (; x + 2 <= n; x += 2, src += 2 * C, d += 2) {
    const uint32_t A = tk_read32(src), B = tk_read32(src + C);
    const uint32_t a02 = tk_sxtab16(ioff2, A), a13 = tk_sxtab16_ror8(ioff2, A);
    const uint32_t b02 = tk_sxtab16(ioff2, B), b13 = tk_sxtab16_ror8(ioff2, B);
    const uint32_t c0 = tk_pkhbt16(a02, b02), c1 = tk_pkhbt16(a13, b13);
    const uint32_t c2 = tk_pkhtb16(b02, a02), c3 = tk_pkhtb16(b13, a13);
    tk_write32(d, c0);
    tk_write32(d + pitch, c1);
    tk_write32(d + 2 * pitch, c2);
    tk_write32(d + 3 * pitch, c3);
    if (copy) {
      tk_write32(d + copy, c0);
      tk_write32(d + copy + pitch, c1);
      tk_write32(d + copy + 2 * pitch, c2);
      tk_write32(d + copy + 3 * pitch, c3);
    }
  }
  if (x < n) {
    for (int32_t ch = 0; ch < 4; ++ch) {
      d[ch * pitch] = (int16_t)(src[ch] + input_offset);
      d[ch * pitch + copy] = d[ch * pitch];
    }
  }
}

// The filter words of one filter row of output channel oc: E_i, O_i from the doubled weights
// w[kx] (kx = -1 and k_w.. are 0), at q[2i], q[2i + 1]; `step`: words from one channel's
// constants to the next (the four-channel form writes four channels). Stride 2 reads E_i only:
// its O_i are left unwritten.
// with_o: whether O_i are needed (stride 1; stride 2 reads E_i only).
TK_INLINE void dwa_filter_row1(const int8_t* k, int32_t C, int32_t k_w, int32_t NW, int32_t* q,
                               int with_o) {
  uint32_t prev = 0;  // doubled w[2i - 1]
  for (int32_t i = 0; i < NW; ++i) {
    const int32_t kx = 2 * i;
    const uint32_t a = kx < k_w ? tk_half(2 * k[kx * C]) : 0;
    const uint32_t b = kx + 1 < k_w ? tk_half(2 * k[(kx + 1) * C]) : 0;
    q[2 * i] = (int32_t)(a | (b << 16));
    if (with_o) q[2 * i + 1] = (int32_t)(prev | (a << 16));
    prev = b;
  }
}

// Four channels at once: one word holds tap kx of the four, SXTB16 splits channels 0/2 and 1/3,
// SADD16 doubles, PKHBT/PKHTB pair the taps per channel.
TK_INLINE void dwa_filter_row4(const int8_t* k, int32_t C, int32_t k_w, int32_t NW, int32_t* q,
                               int32_t step, int with_o) {
  uint32_t p02 = 0, p13 = 0;  // doubled w[2i - 1] of channels 0/2 and 1/3
  int32_t* d = q;
  for (int32_t kx = 0; kx < 2 * NW; kx += 2, k += 2 * C, d += 2) {
    const uint32_t a = kx < k_w ? tk_read32(k) : 0;
    const uint32_t b = kx + 1 < k_w ? tk_read32(k + C) : 0;
    const uint32_t a02 = tk_double16(tk_sxtb16(a)), a13 = tk_double16(tk_sxtb16_ror8(a));
    const uint32_t b02 = tk_double16(tk_sxtb16(b)), b13 = tk_double16(tk_sxtb16_ror8(b));
    d[0] = (int32_t)tk_pkhbt16(a02, b02);
    d[step] = (int32_t)tk_pkhbt16(a13, b13);
    d[2 * step] = (int32_t)tk_pkhtb16(b02, a02);
    d[3 * step] = (int32_t)tk_pkhtb16(b13, a13);
    if (with_o) {
      d[1] = (int32_t)tk_pkhbt16(p02, a02);
      d[step + 1] = (int32_t)tk_pkhbt16(p13, a13);
      d[2 * step + 1] = (int32_t)tk_pkhtb16(a02, p02);
      d[3 * step + 1] = (int32_t)tk_pkhtb16(a13, p13);
      p02 = b02;
      p13 = b13;
    }
  }
}

// The constants of output channels [oc0, oc0 + n): per filter row the words E_i, O_i (doubled
// weights), then 2 * bias, multiplier, k and rs - 1; `words` per channel.
static void dwa_constants(const tinyml_conv_params* p, const int8_t* filter, const int32_t* bias,
                          int32_t oc0, int32_t n, int32_t words, int32_t* cst) {
  const int32_t NW = dwa_words(p->k_w), C = p->out_c, row = p->k_w * C;
  const int with_o = p->stride_w == 1;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      int32_t* q = cst + i * words + ky * 2 * NW;
      const int8_t* k = filter + ky * row + oc0 + i;
      if (with_o) {  // two copies: the stride-2 one stores half the words
        dwa_filter_row4(k, C, p->k_w, NW, q, words, 1);
      } else {
        dwa_filter_row4(k, C, p->k_w, NW, q, words, 0);
      }
    }
  }
  for (; i < n; ++i) {
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      dwa_filter_row1(filter + ky * row + oc0 + i, C, p->k_w, NW, cst + i * words + ky * 2 * NW,
                      with_o);
    }
  }
  for (i = 0; i < n; ++i) {
    int32_t* q = cst + i * words + words - DWA_QWORDS;
    const int32_t oc = oc0 + i;
    q[DWA_START] = 2 * (bias ? bias[oc] : 0);
    q[DWA_MULT] = p->multiplier[oc];
    q[DWA_RS1] = ~p->shift[oc];
    q[DWA_K] = tk_k_offset(2 * p->output_offset + 1, q[DWA_RS1]);
  }
}

static __attribute__((noinline)) void dwa_run(const tinyml_conv_params* p, const int8_t* input,
                                              const int8_t* filter, const int32_t* bias,
                                              int8_t* output) {
  int16_t pool[DWA_POOL] __attribute__((aligned(4)));  // word loads of even columns
  int32_t cst[DWA_CONST_WORDS];
  const int32_t IC = p->in_c, C = p->out_c, m = C / IC, H = p->in_h, W = p->in_w, KH = p->k_h;
  const int32_t pitch = dwa_pitch(p), group = dwa_group(p, m);
  const int32_t words = KH * 2 * dwa_words(p->k_w) + DWA_QWORDS;  // constants per channel
  // Columns transposed: those inside the input that the rows reach.
  int32_t columns = pitch - p->pad_w < W ? pitch - p->pad_w : W;
  if (columns < 0) columns = 0;
  const uint32_t ioff2 = (uint32_t)(uint16_t)p->input_offset * 0x00010001u;
  // Padding columns are read and never written: zero them once, the whole pool in one memset
  // unless the rows are long (two memsets a row cost about 70 instructions, zeroing one int16
  // about 0.3).
  const int32_t slots = dwa_slots(KH);
  // Windows of three rows take every row, padding rows as rows of zeros: the assembly unrolls
  // them (edges cost a few zero rows).
  const int full = KH == 3;
  if (columns < 200) {
    memset(pool, 0, (size_t)(group * slots * pitch) * sizeof(int16_t));
  } else {
    for (int32_t r = 0; r < group * slots; ++r) {
      int16_t* row = pool + r * pitch;
      memset(row, 0, (size_t)p->pad_w * sizeof(int16_t));
      memset(row + p->pad_w + columns, 0, (size_t)(pitch - p->pad_w - columns) * sizeof(int16_t));
    }
  }
  // Output channels per pass: those of the group, or as many constants as fit (then group = 1).
  const int32_t pass = group * m * words <= DWA_CONST_WORDS ? group * m : DWA_CONST_WORDS / words;
  for (int32_t c0 = 0, o0 = 0; c0 < IC; o0 += pass) {
    const int32_t n = IC - c0 < group ? IC - c0 : group;
    if (o0 >= n * m) {  // the group's last pass is done
      c0 += n;
      o0 = -pass;
      continue;
    }
    const int32_t n_oc = n * m - o0 < pass ? n * m - o0 : pass;
    dwa_constants(p, filter, bias, c0 * m + o0, n_oc, words, cst);
    int32_t loaded = -p->pad_h;  // input rows below it are in the ring (for this pass)
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
      int32_t ky_hi = H - iy0 < KH ? H - iy0 : KH;
      if (full) ky_lo = 0, ky_hi = KH;
      if (loaded < iy0 + ky_lo) loaded = iy0 + ky_lo;
      for (; loaded < iy0 + ky_hi; ++loaded) {
        // Slot of an input row: its index mod k_h (the rows of one window are distinct), and
        // the copy k_h slots on.
        int16_t* d = pool + dwa_mod(loaded, KH) * n * pitch + p->pad_w;
        const int8_t* src = input + (loaded * W) * IC + c0;
        const int32_t copy = slots > KH ? KH * n * pitch : 0;
        if (loaded < 0 || loaded >= H) {  // a padding row of a full window: zeros
          memset(d - p->pad_w, 0, (size_t)(n * pitch) * sizeof(int16_t));
          if (copy) memset(d - p->pad_w + copy, 0, (size_t)(n * pitch) * sizeof(int16_t));
        } else if (n == 4) {
          dwa_transpose4(src, IC, columns, ioff2, p->input_offset, d, pitch, copy);
        } else {
          for (int32_t ch = 0; ch < n; ++ch) {
            for (int32_t x = 0; x < columns; ++x) {
              d[ch * pitch + x] = (int16_t)(src[x * IC + ch] + p->input_offset);
              d[ch * pitch + x + copy] = d[ch * pitch + x];
            }
          }
        }
      }
      dwa_window win;
      win.n_rows = ky_hi > ky_lo ? ky_hi - ky_lo : 0;
      win.first_filter_row = ky_lo;
      win.row_step = n * pitch;
      win.row0 = pool + dwa_mod(iy0 + ky_lo, KH) * n * pitch;
      dwa_rows(p, &win, cst, words, n_oc, n_oc < n * m ? n_oc + 1 : m, pitch,
               output + oy * p->out_w * C + c0 * m + o0);
    }
  }
}

void tinyml_dwconv_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output) {
  tinyml_conv_params q;
  dwa_oriented(p, &q);
  dwa_run(&q, input, filter, bias, output);
  if (p->act_min != -128 || p->act_max != 127) {
    tk_clamp_outputs(output, p->out_h * p->out_w * p->out_c, p->act_min, p->act_max);
  }
}
