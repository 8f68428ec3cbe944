// Benchmark firmware for the Arduino Nano 33 BLE Sense (PlatformIO env nano33ble) and its Renode
// variant (env nano33ble_renode): the generated model (model_data.h/.cc, model_ops.h from
// `tinyml firmware`) on the TFLM runner, protocol records (docs/protocol.md) on a serial port.
//
// Compile switches (set by platformio.ini):
//   TINYML_SERIAL_HW_UART=1   records go to Serial1 (UARTE0) instead of USB `Serial`: Renode's
//                             nRF52840 has no USB device model.
//   TINYML_CLOCK_FROM_MICROS=1  ticks are Renode instructions derived from virtual time (no DWT).
//   TINYML_RUNS / TINYML_WARMUP  timed and discarded invokes (default 10 / 2).
//   TINYML_ICACHE=0           leave the NVMC instruction cache off (env nano33ble_nocache, for
//                             A/B runs); default 1: on, as a deployed firmware would run.
// TFLM first: the mbed core's Arduino.h defines an abs(x) macro that breaks TFLM's std::abs calls
// (quantization_util.h) when Arduino.h comes first.
#include "generated_model.h"

#include <Arduino.h>

#include "board_clock.h"
#include "board_counters.h"
#include "serial_sink.h"
#include "verify_serial.h"

#ifndef TINYML_FIRMWARE_VERSION
#define TINYML_FIRMWARE_VERSION "0.1.0"
#endif
#ifndef TINYML_RUNS
#define TINYML_RUNS 10
#endif
#ifndef TINYML_WARMUP
#define TINYML_WARMUP 2
#endif
#ifndef TINYML_ICACHE
#define TINYML_ICACHE 1
#endif

#if TINYML_SERIAL_HW_UART
#define TINYML_SERIAL Serial1
#else
#define TINYML_SERIAL Serial
#endif

namespace {

#if !TINYML_SERIAL_HW_UART
// How long setup() waits for the host to open the USB port (DTR) before it runs anyway. Records
// sent while no host listens are lost: open the port within this time after a reset (the reader
// skips the boot noise before START).
constexpr uint32_t kHostWaitMs = 10000;
#endif
constexpr uint32_t kBaud = 115200;  // ignored by USB CDC, used by the UART

alignas(16) uint8_t g_arena[TINYML_ARENA_BYTES];

#if TINYML_CLOCK_FROM_MICROS
tinyml::RenodeInstructionClock g_clock;
#else
tinyml::DwtCycleClock g_clock;
#endif
tinyml::BoardCounters g_counters;  // cache and DWT counters (unavailable ones are reported so)

// Bytes from the host for the verification session; blocks until one arrives.
class SerialSource : public tinyml::ByteSource {
 public:
  int read_byte() override {
    while (TINYML_SERIAL.available() <= 0) {
#if !TINYML_SERIAL_HW_UART
      if (!TINYML_SERIAL) return -1;  // the host closed the USB port (DTR low)
#endif
      yield();
    }
    return TINYML_SERIAL.read();
  }
};

void wait_for_host() {
#if !TINYML_SERIAL_HW_UART
  const uint32_t start = millis();
  while (!TINYML_SERIAL && millis() - start < kHostWaitMs) delay(10);
  delay(100);  // let the host finish opening the port before the START record
#endif
}

}  // namespace

void setup() {
  TINYML_SERIAL.begin(kBaud);
  wait_for_host();
  g_clock.start();
  g_counters.start(TINYML_ICACHE != 0, g_clock.ticks_per_second());

  static tinyml::SerialSink sink(TINYML_SERIAL);
  tinyml::BenchmarkConfig config;
  config.firmware_version = TINYML_FIRMWARE_VERSION;
  config.runs = TINYML_RUNS;
  config.warmup = TINYML_WARMUP;
  config.counters = &g_counters;
  const tinyml::RunnerStatus status =
      tinyml::run_generated_model_benchmark(g_clock, sink, g_arena, sizeof g_arena, config);
  sink.flush();
  // After DONE: the verification session (`tinyml measure --verify`; docs/protocol.md). A host
  // that only measures closes the port and the board waits here until the next reset.
  if (status == tinyml::RunnerStatus::kOk) {
    static SerialSource source;
    static tinyml::SerialVerifyChannel channel(source, sink);
    tinyml::run_verification(tinyml::generated_model_runner(g_clock, g_arena, sizeof g_arena), channel);
    sink.flush();
  }
}

void loop() {
  // One run per reset: the DONE record has been sent; idle until the next reset or upload.
  delay(1000);
}
