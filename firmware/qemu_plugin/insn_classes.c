// QEMU TCG plugin: executed Thumb-2 instructions by timing class, per layer, for one inference of
// the benchmark firmware, plus the instruction fetch stream through a model of a set-associative
// instruction cache and the data reads from flash through a model of the board's flash data
// cache (if it has one). pipeline/perf/cycles.py turns the counts into Cortex-M4 cycles; this
// file counts, it does not time.
//
// Arguments (-plugin libinsn_classes.so,arg=value,...), addresses in hex from the ELF's symbols:
//   out=FILE            where the JSON counts go (written when the measured invoke ends)
//   invoke_begin=ADDR   tinyml_trace_invoke_begin   invoke_end=ADDR   tinyml_trace_invoke_end
//   layer_begin=ADDR    tinyml_trace_layer_begin    layer_end=ADDR    tinyml_trace_layer_end
//   invoke=K            measure the K-th invoke (1-based; default 1)
//   flash_end=ADDR      code/constant region [0, flash_end) that sits in flash on the board
//   cache_bytes=B, cache_ways=W, cache_line=L, cache_fill=F   instruction cache geometry (LRU);
//                       F: bytes one flash read brings into a line (a line holds L/F of them,
//                       each filled on its own miss: ST's "32 lines of 4 x 64 bits"); default L
//   dcache_bytes=B, dcache_ways=W, dcache_line=L, dcache_fill=F   the flash data cache; B = 0
//                       (default): none, every data read from flash misses
//
// Cost: one callback per executed translation block (counts added from a table built at
// translation time) and one per load instruction (flash data reads).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"
#include "thumb_classes.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_API_VERSION;

#define MAX_LAYERS 512
#define OUTSIDE_LAYERS (-1)

enum marker { MARK_NONE, MARK_INVOKE_BEGIN, MARK_INVOKE_END, MARK_LAYER_BEGIN, MARK_LAYER_END };

struct block {
  uint32_t pc;
  uint32_t end;            // address after the last instruction
  uint8_t marker;          // enum marker
  bool ends_conditional;   // last instruction is a conditional branch
  uint32_t fallthrough;    // address after it
  uint32_t counts[TC_x_flash_data_reads];  // static counts (the classes before the run-time ones)
};

// A set-associative LRU cache whose lines hold line/fill sub-blocks, each filled on its own miss
// (fill == line: an ordinary cache). sets == 0: no cache, every access misses.
struct cache {
  unsigned sets, ways, line_shift, fill_shift;
  uint32_t *tags;          // tag per (set, way), 0 = invalid
  uint32_t *valid;         // filled sub-blocks per (set, way), bit n = sub-block n
  uint64_t *stamp;         // LRU stamps
  uint64_t clock;
};

static struct {
  char out[4096];
  uint32_t addr[5];
  unsigned invoke_target;
  uint32_t flash_end;
  // run state (one vCPU: mps2-an386 is single core)
  unsigned invokes_seen;
  bool active, written;
  int segment;             // current layer or OUTSIDE_LAYERS
  int layers;
  const struct block *previous;
  int previous_segment;
  uint64_t outside[TC_COUNT];
  uint64_t (*per_layer)[TC_COUNT];
  struct cache icache, dcache;
} S;

static uint64_t *segment_counts(int segment) {
  return segment == OUTSIDE_LAYERS ? S.outside : S.per_layer[segment];
}

static bool cache_access(struct cache *c, uint32_t address) {
  if (c->sets == 0) return false;
  const uint32_t line = address >> c->line_shift;
  const uint32_t sub = 1u << ((address >> c->fill_shift) & ((1u << (c->line_shift - c->fill_shift)) - 1));
  const unsigned set = line % c->sets;
  const uint32_t tag = line / c->sets + 1;
  uint32_t *tags = &c->tags[set * c->ways];
  uint32_t *valid = &c->valid[set * c->ways];
  uint64_t *stamp = &c->stamp[set * c->ways];
  unsigned victim = 0;
  ++c->clock;
  for (unsigned w = 0; w < c->ways; ++w) {
    if (tags[w] == tag) {
      stamp[w] = c->clock;
      if (valid[w] & sub) return true;
      valid[w] |= sub;  // the line is there, this sub-block is read from flash now
      return false;
    }
    if (stamp[w] < stamp[victim]) victim = w;
  }
  tags[victim] = tag;
  valid[victim] = sub;
  stamp[victim] = c->clock;
  return false;
}

static unsigned log2_exact(unsigned value) {
  unsigned shift = 0;
  while ((1u << shift) < value) ++shift;
  return (1u << shift) == value ? shift : 0xFFu;
}

// Sets up `c` for bytes/ways/line/fill; bytes == 0: no cache. Returns false on a bad geometry.
static bool cache_init(struct cache *c, unsigned bytes, unsigned ways, unsigned line, unsigned fill) {
  memset(c, 0, sizeof *c);
  if (bytes == 0) return true;
  if (fill == 0) fill = line;
  const unsigned line_shift = log2_exact(line), fill_shift = log2_exact(fill);
  if (ways == 0 || line_shift == 0xFFu || fill_shift == 0xFFu || fill > line ||
      line_shift - fill_shift > 5 || bytes < ways * line || bytes % (ways * line)) {
    return false;
  }
  c->ways = ways;
  c->line_shift = line_shift;
  c->fill_shift = fill_shift;
  c->sets = bytes / (ways * line);
  c->tags = calloc((size_t)c->sets * ways, sizeof *c->tags);
  c->valid = calloc((size_t)c->sets * ways, sizeof *c->valid);
  c->stamp = calloc((size_t)c->sets * ways, sizeof *c->stamp);
  return c->tags && c->valid && c->stamp;
}

static void write_geometry(FILE *f, const char *name, const struct cache *c) {
  const unsigned line = c->sets ? 1u << c->line_shift : 0, fill = c->sets ? 1u << c->fill_shift : 0;
  fprintf(f, " \"%s\": {\"bytes\": %u, \"ways\": %u, \"line\": %u, \"fill\": %u},\n", name,
          c->sets * c->ways * line, c->ways, line, fill);
}

static void write_row(FILE *f, const uint64_t *row) {
  fputc('{', f);
  for (int c = 0; c < TC_COUNT; ++c) {
    fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "", thumb_class_names[c], row[c]);
  }
  fputc('}', f);
}

static void write_counts(bool complete) {
  if (S.written || !S.out[0]) return;
  S.written = true;
  FILE *f = fopen(S.out, "w");
  if (!f) {
    qemu_plugin_outs("insn_classes: cannot write the output file\n");
    return;
  }
  fprintf(f, "{\"format\": \"tinyml-insn-classes-2\", \"complete\": %s, \"invoke\": %u,\n",
          complete ? "true" : "false", S.invoke_target);
  write_geometry(f, "cache", &S.icache);
  write_geometry(f, "dcache", &S.dcache);
  fprintf(f, " \"flash_end\": %u,\n", S.flash_end);
  fputs(" \"outside_layers\": ", f);
  write_row(f, S.outside);
  fputs(",\n \"layers\": [", f);
  for (int i = 0; i < S.layers && i < MAX_LAYERS; ++i) {
    fputs(i ? ",\n  " : "\n  ", f);
    write_row(f, S.per_layer[i]);
  }
  fputs("]}\n", f);
  fclose(f);
}

static void on_block(unsigned int vcpu, void *udata) {
  (void)vcpu;
  const struct block *b = udata;
  // Resolve the previous block's conditional branch: falling through means not taken.
  if (S.previous && S.previous->ends_conditional && S.active) {
    uint64_t *row = segment_counts(S.previous_segment);
    ++row[b->pc == S.previous->fallthrough ? TC_x_branch_not_taken : TC_x_branch_taken];
  }
  switch (b->marker) {
    case MARK_INVOKE_BEGIN:
      if (++S.invokes_seen == S.invoke_target) {
        S.active = true;
        S.segment = OUTSIDE_LAYERS;
      }
      break;
    case MARK_INVOKE_END:
      if (S.active) {
        S.active = false;
        write_counts(true);
      }
      break;
    case MARK_LAYER_BEGIN:
      if (S.active && S.layers < MAX_LAYERS) S.segment = S.layers++;
      break;
    case MARK_LAYER_END:
      S.segment = OUTSIDE_LAYERS;
      break;
    default:
      break;
  }
  // The cache sees every fetch (warm from the earlier invokes); counts only in the window.
  uint32_t misses = 0, lines = 0;
  if (b->pc < S.flash_end && b->end > b->pc) {
    const unsigned shift = S.icache.fill_shift;
    const uint32_t first = b->pc >> shift;
    const uint32_t last = (b->end - 1) >> shift;
    for (uint32_t unit = first; unit <= last; ++unit) {
      ++lines;
      if (!cache_access(&S.icache, unit << shift)) ++misses;
    }
  }
  if (S.active) {
    uint64_t *row = segment_counts(S.segment);
    for (int c = 0; c < TC_x_flash_data_reads; ++c) row[c] += b->counts[c];
    if (b->pc < S.flash_end) {
      row[TC_x_fetch_words] += ((b->end + 3) >> 2) - (b->pc >> 2);
      row[TC_x_fetch_lines] += lines;
      row[TC_x_cache_misses] += misses;
    }
  }
  S.previous = b;
  S.previous_segment = S.segment;
}

static void on_load(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
  (void)vcpu;
  (void)udata;
  if (qemu_plugin_mem_is_store(info) || vaddr >= S.flash_end) return;
  // The data cache sees every flash read (warm from the earlier invokes); counts only in the window.
  const bool hit = cache_access(&S.dcache, (uint32_t)vaddr);
  if (S.active) {
    uint64_t *row = segment_counts(S.segment);
    ++row[TC_x_flash_data_reads];
    if (!hit) ++row[TC_x_flash_data_misses];
  }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  struct block *b = calloc(1, sizeof *b);  // lives as long as QEMU may run the block
  if (!b) return;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  b->pc = (uint32_t)qemu_plugin_tb_vaddr(tb);
  for (int m = 0; m < 4; ++m) {
    if (S.addr[m] && (S.addr[m] & ~1u) == b->pc) b->marker = (uint8_t)(m + 1);
  }
  struct thumb_insn previous, insn;
  bool have_previous = false;
  unsigned it_remaining = 0;
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn *qi = qemu_plugin_tb_get_insn(tb, i);
    const unsigned size = (unsigned)qemu_plugin_insn_size(qi);
    const uint32_t vaddr = (uint32_t)qemu_plugin_insn_vaddr(qi);
    thumb_classify(qemu_plugin_insn_data(qi), size == 4 ? 4 : 2, &insn);
    bool dependent = false;
    enum thumb_class cls = thumb_class_in_sequence(&insn, have_previous ? &previous : NULL,
                                                   &dependent);
    const bool in_it = it_remaining > 0;
    if (in_it) --it_remaining;
    if (insn.it_block_start) it_remaining = insn.it_length;
    if (in_it && cls == TC_branch) cls = TC_branch_cond;  // e.g. BXEQ lr, POPNE {pc}
    ++b->counts[cls];
    if (dependent && insn.is_load) ++b->counts[TC_x_load_addr_dep];
    if (insn.literal) ++b->counts[TC_x_load_literal];
    if (cls == TC_ldm_stm) b->counts[TC_x_ldm_stm_regs] += insn.regs_moved;
    if (insn.loads_pc) ++b->counts[TC_x_pop_pc];
    if (cls == TC_fp_ldm_stm) b->counts[TC_x_fp_regs] += insn.regs_moved;
    // Reads and writes, the callback drops writes: Debian's QEMU 7.2 called a MEM_R-only
    // callback on stores and not on loads (tests/test_cycle_calibration.py would catch it).
    if (insn.memory_read) {
      qemu_plugin_register_vcpu_mem_cb(qi, on_load, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                       NULL);
    }
    if (i + 1 == n) {
      b->end = vaddr + size;
      b->ends_conditional = cls == TC_branch_cond;
      b->fallthrough = vaddr + size;
    }
    previous = insn;
    have_previous = true;
  }
  if (n == 0) b->end = b->pc;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata) {
  (void)id;
  (void)udata;
  write_counts(false);  // nothing if the measured invoke completed
}

static uint32_t parse_number(const char *text) { return (uint32_t)strtoul(text, NULL, 0); }

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv) {
  (void)info;
  static const char *const names[4] = {"invoke_begin", "invoke_end", "layer_begin", "layer_end"};
  unsigned cache_bytes = 2048, ways = 2, line = 16, fill = 0;
  unsigned dcache_bytes = 0, dways = 1, dline = 16, dfill = 0;
  S.invoke_target = 1;
  S.flash_end = 0x00400000u;
  for (int i = 0; i < argc; ++i) {
    const char *eq = strchr(argv[i], '=');
    if (!eq) continue;
    const size_t key = (size_t)(eq - argv[i]);
    const char *value = eq + 1;
#define IS(name) (key == strlen(name) && !strncmp(argv[i], name, key))
    if (IS("out")) snprintf(S.out, sizeof S.out, "%s", value);
    for (int m = 0; m < 4; ++m) {
      if (IS(names[m])) S.addr[m] = parse_number(value);
    }
    if (IS("invoke")) S.invoke_target = parse_number(value);
    if (IS("flash_end")) S.flash_end = parse_number(value);
    if (IS("cache_bytes")) cache_bytes = parse_number(value);
    if (IS("cache_ways")) ways = parse_number(value);
    if (IS("cache_line")) line = parse_number(value);
    if (IS("cache_fill")) fill = parse_number(value);
    if (IS("dcache_bytes")) dcache_bytes = parse_number(value);
    if (IS("dcache_ways")) dways = parse_number(value);
    if (IS("dcache_line")) dline = parse_number(value);
    if (IS("dcache_fill")) dfill = parse_number(value);
#undef IS
  }
  if (!S.out[0] || cache_bytes == 0 || !cache_init(&S.icache, cache_bytes, ways, line, fill) ||
      !cache_init(&S.dcache, dcache_bytes, dways, dline, dfill)) {
    qemu_plugin_outs("insn_classes: needs out=FILE and cache geometries with power-of-two lines "
                     "and fills (fill <= line <= 32 fills)\n");
    return -1;
  }
  S.per_layer = calloc(MAX_LAYERS, sizeof *S.per_layer);
  if (!S.per_layer) return -1;
  S.segment = OUTSIDE_LAYERS;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  return 0;
}
