// Arm semihosting SYS_EXIT: ends the QEMU process (needs -semihosting-config enable=on,target=native),
// so the host sees the run end without waiting for its time limit. Exit status 0 or 1 only on 32-bit Arm.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

__attribute__((noreturn)) void semihosting_exit(int status);

#ifdef __cplusplus
}
#endif
