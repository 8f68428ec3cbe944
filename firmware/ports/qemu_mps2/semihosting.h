// Arm semihosting (needs -semihosting-config enable=on,target=native): SYS_EXIT ends the QEMU
// process, so the host sees the run end without waiting for its time limit (status 0 or 1 only on
// 32-bit Arm); the file calls let a verification read its inputs and write its outputs on the host
// at memory speed (the UART receives tens of kB/s in QEMU).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

__attribute__((noreturn)) void semihosting_exit(int status);
// The command line QEMU was given (-semihosting-config arg=...), NUL-terminated; false if none.
int semihosting_cmdline(char* buffer, size_t size);
// Opens a host file: mode "rb" or "wb". Returns a handle, or -1.
int semihosting_open(const char* path, const char* mode);
int semihosting_close(int handle);
// Bytes NOT read or written (0: all of them).
size_t semihosting_read(int handle, void* data, size_t length);
size_t semihosting_write(int handle, const void* data, size_t length);

#ifdef __cplusplus
}
#endif
