// Portable benchmark core: order statistics of timing samples. No heap.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace tinyml {

struct SampleStats {
  uint32_t min;
  uint32_t median;
  uint32_t max;
};

// Sorts `samples` in place (insertion sort: N is small) and returns min, median and max.
// Median of an even count is the mean of the two middle values, rounded down, computed without
// overflow. An empty set gives all zeros.
SampleStats compute_stats(uint32_t* samples, size_t count);

// Ticks between two readings of a free-running 32-bit counter; correct across one wrap-around.
inline uint32_t elapsed_ticks(uint32_t start, uint32_t end) { return end - start; }

}  // namespace tinyml
