# Toolchain file: Debian's gcc-arm-none-eabi (with libnewlib-arm-none-eabi and
# libstdc++-arm-none-eabi-newlib) for a bare-metal Cortex-M4.
# Usage: cmake -DCMAKE_TOOLCHAIN_FILE=firmware/ports/qemu_mps2/arm-none-eabi.cmake ...
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

find_program(ARM_NONE_EABI_GCC arm-none-eabi-gcc)
if(NOT ARM_NONE_EABI_GCC)
  message(FATAL_ERROR "arm-none-eabi-gcc not found: install the Debian package gcc-arm-none-eabi")
endif()
get_filename_component(ARM_TOOLCHAIN_BIN "${ARM_NONE_EABI_GCC}" DIRECTORY)

set(CMAKE_C_COMPILER "${ARM_TOOLCHAIN_BIN}/arm-none-eabi-gcc")
set(CMAKE_CXX_COMPILER "${ARM_TOOLCHAIN_BIN}/arm-none-eabi-g++")
set(CMAKE_ASM_COMPILER "${ARM_TOOLCHAIN_BIN}/arm-none-eabi-gcc")
set(CMAKE_OBJCOPY "${ARM_TOOLCHAIN_BIN}/arm-none-eabi-objcopy" CACHE FILEPATH "objcopy")
set(CMAKE_SIZE "${ARM_TOOLCHAIN_BIN}/arm-none-eabi-size" CACHE FILEPATH "size")

# Compiler checks link no executable: there is no startup code yet at that point.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Same CPU flags as the Nano 33 BLE build (ArduinoCore-mbed): Cortex-M4 with DSP, FPU in softfp ABI.
set(TINYML_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=softfp -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${TINYML_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${TINYML_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${TINYML_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${TINYML_CPU_FLAGS} --specs=nano.specs -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
