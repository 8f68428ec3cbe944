// What TFLM last said about a failed arena allocation. TFLM logs it (MicroPrintf -> DebugLog) as
// "... Requested: R, available A, missing: M" and returns an error without the numbers; a port
// whose DebugLog passes each line to note_tflm_log() lets the runner put them in its ERROR record.
#pragma once
#include <stdint.h>

namespace tinyml {

struct AllocationShortfall {
  bool seen;
  uint32_t requested;
  uint32_t available;
  uint32_t missing;
};

void note_tflm_log(const char* text);
AllocationShortfall last_allocation_shortfall();

}  // namespace tinyml
