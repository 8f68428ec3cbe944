// Depthwise 3x3 convolution, channel multiplier 1, int8 (see tinyml_kernels.h). CMSIS-NN's
// arm_depthwise_conv_3x3_s8 (pinned library) extracts each byte with shifts and uses scalar MLA.
//
// Two paths. The channel rows (below, "Strides 1 and 2") take the layers whose rows fit the row
// pool: the input is transposed into int16 rows so that neighbouring outputs share taps; they
// saturate to int8, and a narrower activation range is a SIMD pass over the output. The general
// path takes every other covered layer (right shifts beyond 23, wide rows, stride 2 with few
// output columns): four channels of one pixel at a time, one word of input and one of filter per
// tap, unpacked by SXTAB16 (adds the input offset to channels 0/2, and with ROR 8 to 1/3) and
// SXTB16, then SMLABB/SMLATT into four accumulators; border pixels take the same arithmetic over
// their valid taps only. Channels go in chunks of TK_CHUNK whose requantization constants sit on
// the stack.
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
  for (int32_t g = 0; g < groups; ++g, pack += TK_PACK_WORDS) {
    const int8_t* k = filter + c0 + 4 * g;
    // Tap t of the four channels is one word: SXTB16 splits channels 0/2 and 1/3, SADD16
    // doubles, PKHBT/PKHTB pair taps t and t + 1 per channel.
    for (int32_t pair = 0; pair < 4; ++pair) {
      const uint32_t a = tk_read32(k + 2 * pair * C), b = tk_read32(k + (2 * pair + 1) * C);
      const uint32_t a02 = tk_double16(tk_sxtb16(a)), a13 = tk_double16(tk_sxtb16_ror8(a));
      const uint32_t b02 = tk_double16(tk_sxtb16(b)), b13 = tk_double16(tk_sxtb16_ror8(b));
      pack[4 * pair + 0] = tk_pkhbt16(a02, b02);
      pack[4 * pair + 1] = tk_pkhbt16(a13, b13);
      pack[4 * pair + 2] = tk_pkhtb16(b02, a02);
      pack[4 * pair + 3] = tk_pkhtb16(b13, a13);
    }
    const uint32_t last = tk_read32(k + 8 * C);
    pack[16] = tk_double16(tk_sxtb16(last));
    pack[17] = tk_double16(tk_sxtb16_ror8(last));
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
    const uint32_t ones = 0x00010001u;
    for (int32_t i = 0; i < n; ++i) {
      int32_t sum2 = 0;  // twice the sum of the channel's nine weights
      if (i < 4 * groups) {  // from its packed words
        const uint32_t* q = pack + (i / 4) * TK_PACK_WORDS;
        for (int32_t pair = 0; pair < 4; ++pair) sum2 = tk_smlad(q[4 * pair + i % 4], ones, sum2);
        sum2 = tk_smlabb(q[16 + (i & 1)] >> (i & 2 ? 16 : 0), ones, sum2);
      } else {
        for (int32_t t = 0; t < 9; ++t) sum2 += 2 * filter[t * C + c0 + i];
      }
      rq[i].start = 2 * (bias ? bias[c0 + i] : 0) + p->input_offset * sum2;
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

// --- Strides 1 and 2: channel rows ---------------------------------------------------------------
//
// Neighbouring outputs of a channel share taps. The input rows a group of four channels needs are
// transposed once per group into int16 rows per channel (input offset added, padding written as
// 0), so that one word holds two neighbouring columns. With the filter words (w0, w1), (w1, w2)
// of a window row, two neighbouring outputs of stride 1 take four SMLAD-family instructions on
// two words of an input row,
//   out0 += (x, x+1).(w0, w1) + (x+2).w2      out1 += (x+1).w0 + (x+2, x+3).(w1, w2),
// and two of stride 2 the same on three words: out_j += (2j, 2j+1).(w0, w1) + (2j+2).w2.
// Stride 1 computes blocks of 2x2 outputs (two output rows share two input rows: 14 loads and
// 24 multiplies for 36 MACs), stride 2 blocks of four outputs of a row. Padding lives in the rows,
// so border pixels take the same code. The requantization is the SMMLAR form, with each channel's
// constants next to its filter.

// Row buffers: a pool of int16 laid out [input row % TK_DW_RING + zero row][channel][column]
// with a row pitch of at least the columns read (even: rows stay word aligned). A group takes as
// many channels as fit, up to TK_DW_GROUP_MAX (narrow maps: the per-row work spreads over more
// channels); layers that do not fit four channels take the general path.
#define TK_DW_POOL 2560
#define TK_DW_GROUP_MAX 16
// Input rows kept per channel: the four of a stride-1 output row pair, the three of a stride-2 row.
#define TK_DW_RING 4

// Per channel: the three filter rows as the words (2 w0, 2 w1), (2 w1, 2 w2), then 2 * the
// accumulator start, multiplier, k (tk_k_offset) and rs - 1; the order the assembly reads them.
enum { DWR_W = 0, DWR_START = 6, DWR_MULT, DWR_K, DWR_RS1, DWR_WORDS };
// The assembly below reads these words at literal byte offsets: the compiler checks they agree.
_Static_assert(4 * (DWR_W + 2) == 8 && 4 * (DWR_W + 4) == 16, "filter rows at [cst, #0/#8/#16]");
_Static_assert(4 * DWR_START == 24, "DWR_START4 and DWR_BLOCK_S1 load the start from [cst, #24]");
_Static_assert(4 * DWR_MULT == 28 && DWR_K == DWR_MULT + 1, "ldrd of multiplier and k at [cst, #28]");
_Static_assert(4 * DWR_RS1 == 36, "rs - 1 at [cst, #36]");
_Static_assert(4 * DWR_WORDS == 40, "the group loop steps the constants 40 bytes a channel");

// Highest column the blocks of an output row read: the last block reads columns up to out_w + 2
// (stride 1) or 2 * out_w + 3 (stride 2, a block of four).
TK_INLINE int32_t dwr_last_column(const tinyml_conv_params* p) {
  return p->stride_w == 1 ? p->out_w + 2 : 2 * ((p->out_w + 3) & ~3) + 2;
}

// int16 from one channel's row to the next.
TK_INLINE int32_t dwr_pitch(const tinyml_conv_params* p) {
  int32_t columns = dwr_last_column(p) + 1;
  if (columns < p->pad_w + p->in_w) columns = p->pad_w + p->in_w;
  return (columns + 1) & ~1;
}

// Channels per group: a multiple of four.
TK_INLINE int32_t dwr_group(const tinyml_conv_params* p) {
  int32_t group = TK_DW_POOL / ((TK_DW_RING + 1) * dwr_pitch(p)) & ~3;
  return group > TK_DW_GROUP_MAX ? TK_DW_GROUP_MAX : group;
}

// Stride 2 transposes four input values per output: below 8 output columns that costs more than
// the general path's border pixels (measured in QEMU, benchmarks/kernels.py).
static int dw_rows_apply(const tinyml_conv_params* p) {
  return p->stride_h == p->stride_w && (p->stride_w == 1 || p->out_w >= 8) &&
         dwr_group(p) >= 4 && tk_k_form_covered(p);
}

// What the assembly of one output row (pair) of a channel group reads from memory, as no
// register is left: the channel count, output strides, how far the row pointers step, and per
// channel the end of its run of blocks.
typedef struct {
  int32_t channels;
  int32_t stride;       // output pixel stride (C)
  int32_t row_stride;   // output row stride (out_w * C)
  int32_t blocks_bytes; // row bytes the full blocks advance
  int32_t rem;          // outputs after the full blocks (stride 1: 0 or 1; stride 2: 0..3)
  int32_t next_row;     // channel pitch in bytes - row bytes all blocks advance
  const int16_t* end;
  int8_t* out;
} dwr_job;

#ifdef TINYML_KERNELS_DSP
// Window row contributions. OFFSET: the filter row's byte offset in the channel's constants.
// Stride 1, two outputs (A, B) from the words x01 x23 already loaded:
#define DWR_PAIR_S1(A, B, OFFSET)                           \
  "ldrd %[w01], %[w12], [%[cst], #" OFFSET "]\n\t"          \
  "smlad %[" A "], %[x01], %[w01], %[" A "]\n\t"            \
  "smlabt %[" A "], %[x23], %[w12], %[" A "]\n\t"           \
  "smlatb %[" B "], %[x01], %[w01], %[" B "]\n\t"           \
  "smlad %[" B "], %[x23], %[w12], %[" B "]\n\t"
// The same as the first contribution to B, whose start is A's: B needs no start of its own.
#define DWR_PAIR_S1_FIRST(A, B, OFFSET)                     \
  "ldrd %[w01], %[w12], [%[cst], #" OFFSET "]\n\t"          \
  "smlatb %[" B "], %[x01], %[w01], %[" A "]\n\t"           \
  "smlad %[" B "], %[x23], %[w12], %[" B "]\n\t"            \
  "smlad %[" A "], %[x01], %[w01], %[" A "]\n\t"            \
  "smlabt %[" A "], %[x23], %[w12], %[" A "]\n\t"
#define DWR_LOAD_S1(R)                                      \
  "ldr %[x01], [%[" R "]], #4\n\t"                          \
  "ldr %[x23], [%[" R "]]\n\t"
// Stride 2, four outputs a0..a3 of a row: five words through three registers.
#define DWR_ROW4_S2(R, OFFSET)                              \
  "ldr %[x01], [%[" R "]], #16\n\t"                         \
  "ldr %[x23], [%[" R "], #-12]\n\t"                        \
  "ldrd %[w01], %[w12], [%[cst], #" OFFSET "]\n\t"          \
  "smlad %[a0], %[x01], %[w01], %[a0]\n\t"                  \
  "smlabt %[a0], %[x23], %[w12], %[a0]\n\t"                 \
  "ldr %[x45], [%[" R "], #-8]\n\t"                         \
  "smlad %[a1], %[x23], %[w01], %[a1]\n\t"                  \
  "smlabt %[a1], %[x45], %[w12], %[a1]\n\t"                 \
  "ldr %[x01], [%[" R "], #-4]\n\t"                         \
  "smlad %[a2], %[x45], %[w01], %[a2]\n\t"                  \
  "smlabt %[a2], %[x01], %[w12], %[a2]\n\t"                 \
  "ldr %[x23], [%[" R "]]\n\t"                              \
  "smlad %[a3], %[x01], %[w01], %[a3]\n\t"                  \
  "smlabt %[a3], %[x23], %[w12], %[a3]\n\t"
// Accumulator starts.
#define DWR_START4                                          \
  "ldr %[a0], [%[cst], #24]\n\t"                            \
  "mov %[a1], %[a0]\n\t"                                    \
  "mov %[a2], %[a0]\n\t"                                    \
  "mov %[a3], %[a0]\n\t"
// A 2x2 block of stride 1: a0 a1 on output row y (input rows r0..r2), a2 a3 on row y + 1 (r1..r3).
#define DWR_BLOCK_S1                                        \
  "ldr %[a0], [%[cst], #24]\n\t"                            \
  "mov %[a2], %[a0]\n\t"                                    \
  DWR_LOAD_S1("r0") DWR_PAIR_S1_FIRST("a0", "a1", "0")      \
  DWR_LOAD_S1("r1") DWR_PAIR_S1_FIRST("a2", "a3", "0")      \
  DWR_PAIR_S1("a0", "a1", "8")                              \
  DWR_LOAD_S1("r2") DWR_PAIR_S1("a0", "a1", "16")           \
  DWR_PAIR_S1("a2", "a3", "8")                              \
  DWR_LOAD_S1("r3") DWR_PAIR_S1("a2", "a3", "16")           \
  "ldrd %[x01], %[x23], [%[cst], #28]\n\t"                  \
  "ldr %[w01], [%[cst], #36]\n\t"
#define DWR_BLOCK_S2                                        \
  DWR_START4                                                \
  DWR_ROW4_S2("r0", "0") DWR_ROW4_S2("r1", "8") DWR_ROW4_S2("r2", "16") \
  DWR_REQUANT_CONSTANTS
// multiplier in x01, k in x23, rs - 1 in x45; then the output pixel stride in w01
#define DWR_REQUANT_CONSTANTS                               \
  "ldrd %[x01], %[x23], [%[cst], #28]\n\t"                  \
  "ldr %[x45], [%[cst], #36]\n\t"                           \
  "ldr %[w01], %[stride]\n\t"
// The output byte of accumulator A in w12 (multiplier in x01, k in x23, rs - 1 in RS1).
#define DWR_OUT_RS(A, RS1) TK_OUTPUT_K_ASM("w12", A, "x01", "x23", RS1)
#define DWR_OUT(A) DWR_OUT_RS(A, "x45")
// Stores of a 2x2 block (rs - 1 in w01): a0 then a2 hold the output strides once their values
// are stored.
#define DWR_STORE_S1_FIRST_COLUMN                           \
  DWR_OUT_RS("a0", "w01") "strb %[w12], [%[out]]\n\t"       \
  "ldr %[a0], %[row_stride]\n\t"                            \
  DWR_OUT_RS("a2", "w01") "strb %[w12], [%[out], %[a0]]\n\t"
#define DWR_STORE_S1_SECOND_COLUMN                          \
  "ldr %[a2], %[stride]\n\t"                                \
  DWR_OUT_RS("a1", "w01") "strb %[w12], [%[out], %[a2]]\n\t" \
  "add %[a0], %[a0], %[a2]\n\t"                             \
  DWR_OUT_RS("a3", "w01") "strb %[w12], [%[out], %[a0]]\n\t" \
  "add %[out], %[out], %[a2], lsl #1\n\t"
#define DWR_STORE_TOP_TWO                                   \
  DWR_OUT_RS("a0", "w01") "strb %[w12], [%[out]]\n\t"       \
  "ldr %[a0], %[stride]\n\t"                                \
  DWR_OUT_RS("a1", "w01") "strb %[w12], [%[out], %[a0]]\n\t" \
  "add %[out], %[out], %[a0], lsl #1\n\t"
#define DWR_STORE_TOP_ONE DWR_OUT_RS("a0", "w01") "strb %[w12], [%[out]]\n\t"
#define DWR_STORE_S2_FOUR                                   \
  DWR_OUT("a0") "strb %[w12], [%[out]]\n\t"                 \
  DWR_OUT("a1") "strb %[w12], [%[out], %[w01]]\n\t"         \
  "add %[out], %[out], %[w01], lsl #1\n\t"                  \
  DWR_OUT("a2") "strb %[w12], [%[out]]\n\t"                 \
  DWR_OUT("a3") "strb %[w12], [%[out], %[w01]]\n\t"         \
  "add %[out], %[out], %[w01], lsl #1\n\t"
// The last block of a stride-2 row stores rem (1..3) outputs.
#define DWR_STORE_S2_REM                                    \
  "ldr %[a3], %[rem]\n\t"                                   \
  DWR_OUT("a0") "strb %[w12], [%[out]]\n\t"                 \
  "cmp %[a3], #2\n\t"                                       \
  "blt 5f\n\t"                                              \
  DWR_OUT("a1") "strb %[w12], [%[out], %[w01]]\n\t"         \
  "cmp %[a3], #3\n\t"                                       \
  "blt 5f\n\t"                                              \
  "add %[out], %[out], %[w01], lsl #1\n\t"                  \
  DWR_OUT("a2") "strb %[w12], [%[out]]\n\t"
// Every channel of the group: the full blocks, then one block for the rem outputs, then the next
// channel (rows one pitch on, constants 40 bytes on, output one byte on). The job's out,
// end and channels are written through input operands (asm takes at most 30 operands); the
// "memory" clobber tells the compiler.
#define DWR_GROUP_BODY(BLOCK, STORE_FULL, STORE_REM, STEP_R3)                              \
      "1:\n\t"                                                                               \
      "str %[out], %[job_out]\n\t"                                                           \
      "ldr %[w12], %[blocks_bytes]\n\t"                                                      \
      "add %[w12], %[r0], %[w12]\n\t"                                                        \
      "str %[w12], %[end]\n\t"                                                               \
      "cmp %[r0], %[w12]\n\t"                                                                \
      "beq 3f\n\t"                                                                           \
      "2:\n\t"                                                                               \
      BLOCK STORE_FULL                                                                       \
      "ldr %[w12], %[end]\n\t"                                                               \
      "cmp %[r0], %[w12]\n\t"                                                                \
      "bne 2b\n\t"                                                                           \
      "3:\n\t"                                                                               \
      "ldr %[w12], %[rem]\n\t"                                                               \
      "cmp %[w12], #0\n\t"                                                                   \
      "beq 5f\n\t"                                                                           \
      BLOCK STORE_REM                                                                        \
      "5:\n\t"                                                                               \
      "ldr %[w12], %[next_row]\n\t"                                                          \
      "add %[r0], %[r0], %[w12]\n\t"                                                         \
      "add %[r1], %[r1], %[w12]\n\t"                                                         \
      "add %[r2], %[r2], %[w12]\n\t"                                                         \
      STEP_R3                                                                                \
      "add %[cst], %[cst], #40\n\t"                                                          \
      "ldr %[out], %[job_out]\n\t"                                                           \
      "add %[out], %[out], #1\n\t"                                                           \
      "ldr %[w12], %[channels]\n\t"                                                          \
      "subs %[w12], %[w12], #1\n\t"                                                          \
      "str %[w12], %[channels]\n\t"                                                          \
      "bne 1b\n\t"
#define DWR_JOB_OPERANDS                                                                     \
      [job_out] "m"(job->out), [end] "m"(job->end), [channels] "m"(job->channels),           \
      [stride] "m"(job->stride), [row_stride] "m"(job->row_stride),                          \
      [blocks_bytes] "m"(job->blocks_bytes), [rem] "m"(job->rem), [next_row] "m"(job->next_row)
// Stride 1: four window rows, no x45.
#define DWR_GROUP_S1(STORE_FULL, STORE_REM)                                                  \
  __asm__ volatile(                                                                          \
      DWR_GROUP_BODY(DWR_BLOCK_S1, STORE_FULL, STORE_REM, "add %[r3], %[r3], %[w12]\n\t")    \
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x01] "=&r"(x01),   \
        [x23] "=&r"(x23), [w01] "=&r"(w01), [w12] "=&r"(w12), [r0] "+r"(r0), [r1] "+r"(r1),  \
        [r2] "+r"(r2), [r3] "+r"(r3), [out] "+r"(out), [cst] "+r"(cst)                       \
      : DWR_JOB_OPERANDS                                                                     \
      : "memory", "cc")
// Stride 2: three window rows.
#define DWR_GROUP_S2                                                                         \
  __asm__ volatile(                                                                          \
      DWR_GROUP_BODY(DWR_BLOCK_S2, DWR_STORE_S2_FOUR, DWR_STORE_S2_REM, "")                  \
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x01] "=&r"(x01),   \
        [x23] "=&r"(x23), [x45] "=&r"(x45), [w01] "=&r"(w01), [w12] "=&r"(w12),             \
        [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [out] "+r"(out), [cst] "+r"(cst)        \
      : DWR_JOB_OPERANDS                                                                     \
      : "memory", "cc")
#endif

// One window row's contribution to output j of a row, as the assembly pairs the taps.
TK_INLINE int32_t dwr_tap_row(const int16_t* r, int32_t j, int32_t stride, uint32_t w01,
                              uint32_t w12, int32_t acc) {
  if (stride == 1 && (j & 1)) {
    return tk_smlad(tk_read32(r + j + 1), w12, tk_smlatb(tk_read32(r + j - 1), w01, acc));
  }
  const int16_t* x = r + j * stride;
  return tk_smlabt(tk_read32(x + 2), w12, tk_smlad(tk_read32(x), w01, acc));
}

// Output rows [oy, oy + n_rows) (n_rows 1 or 2; stride 1 when 2) of the group's channels, whose
// window rows start at rows[0..n_rows + 1] (channel 0; channel ch is ch pitches on).
static void dwr_group_rows(const tinyml_conv_params* p, const int16_t* const* rows,
                           const int32_t* cst, int8_t* out, dwr_job* job, int32_t n_rows,
                           int32_t pitch) {
#ifdef TINYML_KERNELS_DSP
  uint32_t a0, a1, a2, a3, x01, x23, x45, w01, w12;
  (void)pitch;
  const int16_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
  if (p->stride_w == 1 && n_rows == 2) {
    DWR_GROUP_S1(DWR_STORE_S1_FIRST_COLUMN DWR_STORE_S1_SECOND_COLUMN, DWR_STORE_S1_FIRST_COLUMN);
  } else if (p->stride_w == 1) {  // the last output row alone: the pair's second row unstored
    DWR_GROUP_S1(DWR_STORE_TOP_TWO, DWR_STORE_TOP_ONE);
  } else {
    DWR_GROUP_S2;
  }
#else
  const int32_t step = pitch, S = p->stride_w;
  for (int32_t ch = 0; ch < job->channels; ++ch, cst += DWR_WORDS) {
    for (int32_t y = 0; y < n_rows; ++y) {
      for (int32_t j = 0; j < p->out_w; ++j) {
        int32_t acc = cst[DWR_START];
        for (int32_t k = 0; k < 3; ++k) {
          acc = dwr_tap_row(rows[y + k] + ch * step, j, S, (uint32_t)cst[DWR_W + 2 * k],
                            (uint32_t)cst[DWR_W + 2 * k + 1], acc);
        }
        out[y * job->row_stride + j * job->stride + ch] =
            (int8_t)tk_output_k(acc, cst[DWR_MULT], cst[DWR_K], cst[DWR_RS1]);
      }
    }
  }
#endif
}

// Input row src (channels c..c+3 of its first pixel) into the rows d (channel c, from column
// pad_w; the next channel one pitch on): two pixels of four channels at a time.
TK_INLINE void dwr_transpose4(const int8_t* src, int32_t C, int32_t W, int32_t input_offset,
                              int16_t* d, int32_t pitch) {
  const uint32_t ioff2 = (uint32_t)(uint16_t)input_offset * 0x00010001u;
  const int8_t* const last = src + (W & ~1) * C;
  for (; src != last; src += 2 * C, d += 2) {
    const uint32_t A = tk_read32(src), B = tk_read32(src + C);
    const uint32_t a02 = tk_sxtab16(ioff2, A), a13 = tk_sxtab16_ror8(ioff2, A);
    const uint32_t b02 = tk_sxtab16(ioff2, B), b13 = tk_sxtab16_ror8(ioff2, B);
    tk_write32(d, tk_pkhbt16(a02, b02));
    tk_write32(d + pitch, tk_pkhbt16(a13, b13));
    tk_write32(d + 2 * pitch, tk_pkhtb16(b02, a02));
    tk_write32(d + 3 * pitch, tk_pkhtb16(b13, a13));
  }
  if (W & 1) {
    for (int32_t ch = 0; ch < 4; ++ch) d[ch * pitch] = (int16_t)(src[ch] + input_offset);
  }
}

// The filter words of four channels (filter at the first one): per window row three word loads,
// SXTB16 splits channels 0/2 and 1/3, SADD16 doubles, PKHBT/PKHTB pair the taps per channel.
TK_INLINE void dwr_filter4(const int8_t* k, int32_t C, int32_t (*cst)[DWR_WORDS]) {
  for (int32_t r = 0; r < 3; ++r, k += 3 * C) {
    const uint32_t a = tk_read32(k), b = tk_read32(k + C), c = tk_read32(k + 2 * C);
    const uint32_t a02 = tk_double16(tk_sxtb16(a)), a13 = tk_double16(tk_sxtb16_ror8(a));
    const uint32_t b02 = tk_double16(tk_sxtb16(b)), b13 = tk_double16(tk_sxtb16_ror8(b));
    const uint32_t c02 = tk_double16(tk_sxtb16(c)), c13 = tk_double16(tk_sxtb16_ror8(c));
    cst[0][DWR_W + 2 * r] = (int32_t)tk_pkhbt16(a02, b02);
    cst[0][DWR_W + 2 * r + 1] = (int32_t)tk_pkhbt16(b02, c02);
    cst[1][DWR_W + 2 * r] = (int32_t)tk_pkhbt16(a13, b13);
    cst[1][DWR_W + 2 * r + 1] = (int32_t)tk_pkhbt16(b13, c13);
    cst[2][DWR_W + 2 * r] = (int32_t)tk_pkhtb16(b02, a02);
    cst[2][DWR_W + 2 * r + 1] = (int32_t)tk_pkhtb16(c02, b02);
    cst[3][DWR_W + 2 * r] = (int32_t)tk_pkhtb16(b13, a13);
    cst[3][DWR_W + 2 * r + 1] = (int32_t)tk_pkhtb16(c13, b13);
  }
}

static __attribute__((noinline)) void dw_rows_run(const tinyml_conv_params* p,
                                                   const int8_t* input, const int8_t* filter,
                                                   const int32_t* bias, int8_t* output) {
  int16_t pool[TK_DW_POOL];
  int32_t cst[TK_DW_GROUP_MAX][DWR_WORDS];
  const int32_t C = p->in_c, H = p->in_h, W = p->in_w, S = p->stride_w, out_w = p->out_w;
  const int32_t offset2p1 = 2 * p->output_offset + 1;
  const int32_t pitch = dwr_pitch(p), group = dwr_group(p);
  const int32_t slot_size = group * pitch;  // int16 of one ring slot (all channels of a group)
  int16_t* const zero = pool + TK_DW_RING * slot_size;
  // Zeros where the rows are read and never written: padding columns, the zero rows.
  memset(pool, 0, (size_t)(TK_DW_RING + 1) * slot_size * sizeof(int16_t));
  dwr_job job;
  job.stride = C;
  job.row_stride = out_w * C;
  if (S == 1) {  // 2x2 blocks: two columns each, then one column
    job.blocks_bytes = 4 * (out_w / 2);
    job.rem = out_w % 2;
    job.next_row = 2 * pitch - 4 * ((out_w + 1) / 2);
  } else {  // blocks of four columns, then one for the rest
    job.blocks_bytes = 16 * (out_w / 4);
    job.rem = out_w % 4;
    job.next_row = 2 * pitch - 16 * ((out_w + 3) / 4);
  }
  const int32_t rows_per_pass = S == 1 ? 2 : 1;
  for (int32_t c0 = 0; c0 < C; c0 += group) {
    const int32_t n = C - c0 < group ? C - c0 : group;
    const int32_t n4 = n & ~3;  // channels transposed four at a time
    for (int32_t ch = 0; ch < n4; ch += 4) dwr_filter4(filter + c0 + ch, C, cst + ch);
    for (int32_t ch = 0; ch < n; ++ch) {
      int32_t* q = cst[ch];
      if (ch >= n4) {
        const int8_t* k = filter + c0 + ch;
        for (int32_t r = 0; r < 3; ++r, k += 3 * C) {
          const uint32_t w0 = tk_half(2 * k[0]), w1 = tk_half(2 * k[C]);
          q[DWR_W + 2 * r] = (int32_t)(w0 | (w1 << 16));
          q[DWR_W + 2 * r + 1] = (int32_t)(w1 | (tk_half(2 * k[2 * C]) << 16));
        }
      }
      q[DWR_START] = 2 * (bias ? bias[c0 + ch] : 0);
      q[DWR_MULT] = p->multiplier[c0 + ch];
      q[DWR_RS1] = ~p->shift[c0 + ch];
      q[DWR_K] = tk_k_offset(offset2p1, q[DWR_RS1]);
    }
    const int8_t* group_input = input + c0;
    int32_t loaded = 0;  // input rows [0, loaded) are transposed (for this group)
    for (int32_t oy = 0; oy < p->out_h; oy += rows_per_pass) {
      const int32_t n_rows = oy + rows_per_pass <= p->out_h ? rows_per_pass : 1;
      const int32_t iy0 = oy * S - p->pad_h;
      const int32_t last = iy0 + n_rows + 1 < H ? iy0 + n_rows + 1 : H - 1;  // last row read
      for (; loaded <= last; ++loaded) {
        int16_t* d = pool + (loaded & (TK_DW_RING - 1)) * slot_size + p->pad_w;
        const int8_t* src = group_input + loaded * W * C;
        int32_t ch = 0;
        for (; ch < n4; ch += 4) {
          dwr_transpose4(src + ch, C, W, p->input_offset, d + ch * pitch, pitch);
        }
        for (; ch < n; ++ch) {
          for (int32_t x = 0; x < W; ++x) {
            d[ch * pitch + x] = (int16_t)(src[x * C + ch] + p->input_offset);
          }
        }
      }
      const int16_t* r[4];
      for (int32_t k = 0; k < 4; ++k) {
        const int32_t iy = iy0 + k;
        r[k] = iy >= 0 && iy <= last ? pool + (iy & (TK_DW_RING - 1)) * slot_size : zero;
      }
      job.channels = n;
      dwr_group_rows(p, r, cst[0], output + oy * out_w * C + c0, &job, n_rows, pitch);
    }
  }
}

// Each path its own function: the stack holds one path's buffers at a time.
#define TK_NOINLINE static __attribute__((noinline))
TK_NOINLINE void dw_general_full_range(const tinyml_conv_params* p, const int8_t* input,
                                       const int8_t* filter, const int32_t* bias, int8_t* output) {
  dw_run(p, input, filter, bias, output, 1);
}
TK_NOINLINE void dw_general_clamped(const tinyml_conv_params* p, const int8_t* input,
                                    const int8_t* filter, const int32_t* bias, int8_t* output) {
  dw_run(p, input, filter, bias, output, 0);
}

void tinyml_dwconv3x3_s8(const tinyml_conv_params* p, const int8_t* input, const int8_t* filter,
                         const int32_t* bias, int8_t* output) {
  // The channel rows where they apply; else the general path in two copies: ReLU-style clamps
  // are usually the whole int8 range (output zero point -128), where SSAT alone clamps.
  if (dw_rows_apply(p)) {  // saturates to int8; a narrower clamp is a pass over the output
    dw_rows_run(p, input, filter, bias, output);
    if (p->act_min != -128 || p->act_max != 127) {
      tk_clamp_outputs(output, p->out_h * p->out_w * p->out_c, p->act_min, p->act_max);
    }
  } else if (p->act_min == -128 && p->act_max == 127) {
    dw_general_full_range(p, input, filter, bias, output);
  } else {
    dw_general_clamped(p, input, filter, bias, output);
  }
}
