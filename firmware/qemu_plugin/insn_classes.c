// QEMU TCG plugin: executed Thumb-2 instructions by timing class, per layer, for one inference of
// the benchmark firmware, plus the instruction fetch stream through a model of a set-associative
// instruction cache and the data reads from flash. pipeline/perf/cycles.py turns the counts
// into Cortex-M4 cycles; this file counts, it does not time.
//
// Arguments (-plugin libinsn_classes.so,arg=value,...), addresses in hex from the ELF's symbols:
//   out=FILE            where the JSON counts go (written when the measured invoke ends)
//   invoke_begin=ADDR   tinyml_trace_invoke_begin   invoke_end=ADDR   tinyml_trace_invoke_end
//   layer_begin=ADDR    tinyml_trace_layer_begin    layer_end=ADDR    tinyml_trace_layer_end
//   invoke=K            measure the K-th invoke (1-based; default 1)
//   flash_end=ADDR      code/constant region [0, flash_end) that sits in flash on the board
//   cache_bytes=B, cache_ways=W, cache_line=L   instruction cache geometry (LRU)
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

static struct {
  char out[4096];
  uint32_t addr[5];
  unsigned invoke_target;
  uint32_t flash_end;
  unsigned cache_sets, cache_ways, cache_line_shift;
  // run state (one vCPU: mps2-an386 is single core)
  unsigned invokes_seen;
  bool active, written;
  int segment;             // current layer or OUTSIDE_LAYERS
  int layers;
  const struct block *previous;
  int previous_segment;
  uint64_t outside[TC_COUNT];
  uint64_t (*per_layer)[TC_COUNT];
  uint32_t *tags;          // cache: tag per (set, way), 0 = invalid
  uint64_t *stamp;         // LRU stamps
  uint64_t clock;
} S;

static uint64_t *segment_counts(int segment) {
  return segment == OUTSIDE_LAYERS ? S.outside : S.per_layer[segment];
}

static bool cache_access(uint32_t line) {
  const unsigned set = line % S.cache_sets;
  const uint32_t tag = line / S.cache_sets + 1;
  uint32_t *tags = &S.tags[set * S.cache_ways];
  uint64_t *stamp = &S.stamp[set * S.cache_ways];
  unsigned victim = 0;
  ++S.clock;
  for (unsigned w = 0; w < S.cache_ways; ++w) {
    if (tags[w] == tag) {
      stamp[w] = S.clock;
      return true;
    }
    if (stamp[w] < stamp[victim]) victim = w;
  }
  tags[victim] = tag;
  stamp[victim] = S.clock;
  return false;
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
  fprintf(f, "{\"format\": \"tinyml-insn-classes-1\", \"complete\": %s, \"invoke\": %u,\n",
          complete ? "true" : "false", S.invoke_target);
  fprintf(f, " \"cache\": {\"bytes\": %u, \"ways\": %u, \"line\": %u}, \"flash_end\": %u,\n",
          S.cache_sets * S.cache_ways << S.cache_line_shift, S.cache_ways,
          1u << S.cache_line_shift, S.flash_end);
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
  if (b->pc < S.flash_end) {
    const uint32_t first = b->pc >> S.cache_line_shift;
    const uint32_t last = (b->end - 1) >> S.cache_line_shift;
    for (uint32_t line = first; line <= last; ++line) {
      ++lines;
      if (!cache_access(line)) ++misses;
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
  if (qemu_plugin_mem_is_store(info)) return;
  if (S.active && vaddr < S.flash_end) ++segment_counts(S.segment)[TC_x_flash_data_reads];
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
  unsigned cache_bytes = 2048, ways = 2, line = 16;
  S.invoke_target = 1;
  S.flash_end = 0x00400000u;
  for (int i = 0; i < argc; ++i) {
    const char *eq = strchr(argv[i], '=');
    if (!eq) continue;
    const size_t key = (size_t)(eq - argv[i]);
    const char *value = eq + 1;
    if (key == 3 && !strncmp(argv[i], "out", 3)) snprintf(S.out, sizeof S.out, "%s", value);
    for (int m = 0; m < 4; ++m) {
      if (key == strlen(names[m]) && !strncmp(argv[i], names[m], key)) S.addr[m] = parse_number(value);
    }
    if (key == 6 && !strncmp(argv[i], "invoke", 6)) S.invoke_target = parse_number(value);
    if (key == 9 && !strncmp(argv[i], "flash_end", 9)) S.flash_end = parse_number(value);
    if (key == 11 && !strncmp(argv[i], "cache_bytes", 11)) cache_bytes = parse_number(value);
    if (key == 10 && !strncmp(argv[i], "cache_ways", 10)) ways = parse_number(value);
    if (key == 10 && !strncmp(argv[i], "cache_line", 10)) line = parse_number(value);
  }
  unsigned shift = 0;
  while ((1u << shift) < line) ++shift;
  if (!S.out[0] || ways == 0 || (1u << shift) != line || cache_bytes < ways * line) {
    qemu_plugin_outs("insn_classes: needs out=FILE and a cache geometry with a power-of-two line\n");
    return -1;
  }
  S.cache_line_shift = shift;
  S.cache_ways = ways;
  S.cache_sets = cache_bytes / (ways * line);
  S.tags = calloc((size_t)S.cache_sets * ways, sizeof *S.tags);
  S.stamp = calloc((size_t)S.cache_sets * ways, sizeof *S.stamp);
  S.per_layer = calloc(MAX_LAYERS, sizeof *S.per_layer);
  if (!S.tags || !S.stamp || !S.per_layer) return -1;
  S.segment = OUTSIDE_LAYERS;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  return 0;
}
