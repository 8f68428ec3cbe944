// Benchmark firmware for QEMU mps2-an386: the generated model (model_data.h/.cc, model_ops.h from
// `tinyml firmware`/`tinyml emulate`) on the TFLM runner, protocol records on UART0, timing in
// instructions (systick_clock.h states the calibration).
//
// The same image verifies (tinyml emulate --verify): QEMU's semihosting command line
//   "tinyml verify <inputs> <outputs> <layers> <dump sample>"  inputs/outputs through host files
//   "tinyml verify-serial"                                     the serial session on UART0
// runs the host's inputs instead of the benchmark (core/verify.h), and
//   "tinyml board"   the benchmark, then the serial session, as the Nano's firmware does after DONE
// (what `tinyml measure --verify` reads).
#include <stdlib.h>
#include <string.h>

#include "cmsdk_uart.h"
#include "generated_model.h"
#include "semihosting_verify.h"
#include "systick_clock.h"
#include "uart_sink.h"
#include "verify_serial.h"

namespace {

alignas(16) uint8_t g_arena[TINYML_ARENA_BYTES];

class UartSource : public tinyml::ByteSource {
 public:
  int read_byte() override { return cmsdk_uart_read_byte(); }
};

// Splits `line` in place at spaces; returns the number of words (at most `max`).
int split(char* line, char** words, int max) {
  int count = 0;
  char* p = line;
  while (*p != '\0' && count < max) {
    while (*p == ' ') *p++ = '\0';
    if (*p == '\0') break;
    words[count++] = p;
    while (*p != '\0' && *p != ' ') ++p;
  }
  return count;
}

int verify(tinyml::SysTickInstructionClock& clock, tinyml::UartSink& sink, char** words, int count) {
  tinyml::TflmRunner& runner = tinyml::generated_model_runner(clock, g_arena, sizeof g_arena);
  tinyml::ProtocolWriter out(sink);
  tinyml::RunnerStatus status = runner.setup();
  if (status != tinyml::RunnerStatus::kOk) {
    out.error(tinyml::error_code(status), runner.last_error());
    return 1;
  }
  if (strcmp(words[1], "verify-serial") == 0) {
    static UartSource source;
    static tinyml::SerialVerifyChannel channel(source, sink);
    return tinyml::run_verification(runner, channel) == tinyml::RunnerStatus::kOk ? 0 : 1;
  }
  if (count != 6) {
    out.error("usage", "verify <inputs> <outputs> <layers> <dump sample>");
    return 1;
  }
  const int inputs = semihosting_open(words[2], "rb");
  const int outputs = semihosting_open(words[3], "wb");
  const int layers = semihosting_open(words[4], "wb");
  if (inputs < 0 || outputs < 0 || layers < 0) {
    out.error("files", "cannot open the verification files");
    return 1;
  }
  static tinyml::SemihostingVerifyChannel channel(inputs, outputs, layers,
                                                  static_cast<int32_t>(atoi(words[5])), sink);
  status = tinyml::run_verification(runner, channel);
  semihosting_close(inputs);
  semihosting_close(outputs);
  semihosting_close(layers);
  return status == tinyml::RunnerStatus::kOk ? 0 : 1;
}

}  // namespace

int main() {
  static tinyml::SysTickInstructionClock clock;
  clock.start();
  static tinyml::UartSink sink;
  static char cmdline[512];
  char* words[8];
  const int count = semihosting_cmdline(cmdline, sizeof cmdline) ? split(cmdline, words, 8) : 0;
  if (count >= 2 && strncmp(words[1], "verify", 6) == 0) return verify(clock, sink, words, count);
  tinyml::BenchmarkConfig config;
  config.firmware_version = TINYML_FIRMWARE_VERSION;
  config.runs = TINYML_RUNS;
  config.warmup = TINYML_WARMUP;
  const tinyml::RunnerStatus status =
      tinyml::run_generated_model_benchmark(clock, sink, g_arena, sizeof g_arena, config);
  if (status == tinyml::RunnerStatus::kOk && count >= 2 && strcmp(words[1], "board") == 0) {
    static UartSource source;
    static tinyml::SerialVerifyChannel channel(source, sink);
    tinyml::run_verification(tinyml::generated_model_runner(clock, g_arena, sizeof g_arena), channel);
  }
  return status == tinyml::RunnerStatus::kOk ? 0 : 1;
}
