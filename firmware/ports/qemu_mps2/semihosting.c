#include "semihosting.h"

#include <stdint.h>

#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023u

void semihosting_exit(int status) {
  register uint32_t op __asm__("r0") = SYS_EXIT;
  register uint32_t reason __asm__("r1") =
      status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR;
  __asm volatile("bkpt 0xAB" : : "r"(op), "r"(reason) : "memory");
  for (;;) {  // semihosting off: nothing to return to
  }
}
