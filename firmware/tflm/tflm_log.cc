#include "tflm_log.h"

namespace tinyml {
namespace {

AllocationShortfall g_shortfall = {false, 0, 0, 0};

// Finds `key` in `text` and parses the unsigned number after it (spaces skipped).
bool number_after(const char* text, const char* key, uint32_t* value) {
  for (const char* at = text; *at != '\0'; ++at) {
    const char* k = key;
    const char* t = at;
    while (*k != '\0' && *t == *k) {
      ++k;
      ++t;
    }
    if (*k != '\0') continue;
    while (*t == ' ') ++t;
    if (*t < '0' || *t > '9') return false;
    uint32_t number = 0;
    while (*t >= '0' && *t <= '9') number = number * 10u + static_cast<uint32_t>(*t++ - '0');
    *value = number;
    return true;
  }
  return false;
}

}  // namespace

void note_tflm_log(const char* text) {
  AllocationShortfall found = {true, 0, 0, 0};
  if (number_after(text, "Requested:", &found.requested) &&
      number_after(text, "available", &found.available) &&
      number_after(text, "missing:", &found.missing)) {
    g_shortfall = found;
  }
}

AllocationShortfall last_allocation_shortfall() { return g_shortfall; }

}  // namespace tinyml
