#include "semihosting.h"

#include <string.h>

#define SYS_OPEN 0x01u
#define SYS_CLOSE 0x02u
#define SYS_WRITE 0x05u
#define SYS_READ 0x06u
#define SYS_GET_CMDLINE 0x15u
#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023u
// SYS_OPEN modes (ISO C fopen order): 1 = "rb", 5 = "wb".
#define OPEN_READ_BINARY 1u
#define OPEN_WRITE_BINARY 5u

static uint32_t call(uint32_t operation, const void* argument) {
  register uint32_t op __asm__("r0") = operation;
  register const void* arg __asm__("r1") = argument;
  __asm volatile("bkpt 0xAB" : "+r"(op) : "r"(arg) : "memory");
  return op;
}

void semihosting_exit(int status) {
  register uint32_t op __asm__("r0") = SYS_EXIT;
  register uint32_t reason __asm__("r1") =
      status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR;
  __asm volatile("bkpt 0xAB" : : "r"(op), "r"(reason) : "memory");
  for (;;) {  // semihosting off: nothing to return to
  }
}

int semihosting_cmdline(char* buffer, size_t size) {
  uint32_t block[2] = {(uint32_t)(uintptr_t)buffer, (uint32_t)size};
  if (size == 0 || call(SYS_GET_CMDLINE, block) != 0) return 0;
  buffer[size - 1] = '\0';
  return 1;
}

int semihosting_open(const char* path, const char* mode) {
  const uint32_t open_mode = mode[0] == 'w' ? OPEN_WRITE_BINARY : OPEN_READ_BINARY;
  uint32_t block[3] = {(uint32_t)(uintptr_t)path, open_mode, (uint32_t)strlen(path)};
  return (int)call(SYS_OPEN, block);
}

int semihosting_close(int handle) {
  uint32_t block[1] = {(uint32_t)handle};
  return (int)call(SYS_CLOSE, block);
}

size_t semihosting_read(int handle, void* data, size_t length) {
  uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)data, (uint32_t)length};
  return call(SYS_READ, block);
}

size_t semihosting_write(int handle, const void* data, size_t length) {
  uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)data, (uint32_t)length};
  return call(SYS_WRITE, block);
}
