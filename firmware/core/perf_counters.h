// Portable benchmark core: what a port may know about the CPU beyond its clock, the flash
// instruction cache and the Cortex-M4 DWT event counters (protocol v2 CACHE, COUNTERS and SAMPLER
// records). Plain data and an interface: the board port implements it with registers, the QEMU
// port and the host double report "none" or fake values.
#pragma once
#include <stdint.h>

namespace tinyml {

enum class CacheState : uint8_t {
  kNone = 0,  // the target has no such cache (QEMU, host) or cannot tell
  kOff,
  kOn,
};

// Hit/miss counts of the instruction cache over one invoke (profiling must be on).
struct CacheCounts {
  uint32_t hits;
  uint32_t misses;
};

// DWT counts over one counted invoke. `cycles` is CYCCNT's difference; the others are the 8-bit
// counters (CPICNT, EXCCNT, SLEEPCNT, LSUCNT, FOLDCNT) accumulated by a sampler, so they include
// the sampler's own work, which SamplerStats lets the host subtract.
struct DwtCounts {
  uint32_t cycles;
  uint32_t cpi;
  uint32_t exc;
  uint32_t sleep;
  uint32_t lsu;
  uint32_t fold;
};

// How the 8-bit counters were read. The sampler reads them every `period_cycles` (< 256, so no
// counter can wrap twice between readings); `overruns` counts intervals that took 256 cycles or
// more (a higher-priority interrupt or a masked section delayed it): then a wrap may be lost.
// `calib_*`: the same sampler over a loop of `calib_known` instructions derived `calib_derived`
// with `calib_samples` samples, so one sample costs (calib_derived - calib_known) / calib_samples
// instructions.
struct SamplerStats {
  uint32_t period_cycles;
  uint32_t samples;
  uint32_t overruns;
  uint32_t calib_known;
  uint32_t calib_derived;
  uint32_t calib_samples;
};

// Executed instructions from the DWT counters (Arm: CYCCNT - CPICNT - EXCCNT - SLEEPCNT - LSUCNT
// + FOLDCNT), modulo 2^32 like the counters themselves.
inline uint32_t dwt_instructions(const DwtCounts& c) {
  return c.cycles - c.cpi - c.exc - c.sleep - c.lsu + c.fold;
}

class PerfCounters {
 public:
  virtual ~PerfCounters() = default;

  virtual CacheState cache_state() const = 0;
  // Zero the hit/miss counters before an invoke; read them after. False: not counted.
  virtual bool cache_profiling() const = 0;
  virtual void cache_reset() = 0;
  virtual CacheCounts cache_read() = 0;

  // False when the CPU has no DWT event counters (DWT_CTRL.NOPRFCNT/NOCYCCNT, or they do not
  // move, as in Renode): COUNTERS then says state=none.
  virtual bool counters_available() const = 0;
  // Around one extra invoke after the timed ones (the sampler perturbs timing).
  virtual void counters_begin() = 0;
  virtual void counters_end(DwtCounts* counts, SamplerStats* sampler) = 0;
};

}  // namespace tinyml
