#include "stats.h"

namespace tinyml {

SampleStats compute_stats(uint32_t* samples, size_t count) {
  SampleStats stats = {0, 0, 0};
  if (samples == nullptr || count == 0) return stats;
  for (size_t i = 1; i < count; ++i) {
    const uint32_t value = samples[i];
    size_t j = i;
    for (; j > 0 && samples[j - 1] > value; --j) samples[j] = samples[j - 1];
    samples[j] = value;
  }
  stats.min = samples[0];
  stats.max = samples[count - 1];
  if (count % 2 == 1) {
    stats.median = samples[count / 2];
  } else {
    const uint32_t low = samples[count / 2 - 1];
    const uint32_t high = samples[count / 2];
    stats.median = low + (high - low) / 2;
  }
  return stats;
}

}  // namespace tinyml
