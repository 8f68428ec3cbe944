#include "verify.h"

#include "benchmark.h"

namespace tinyml {

RunnerStatus run_verification(ModelRunner& runner, VerifyChannel& channel) {
  size_t input_bytes = 0;
  size_t output_bytes = 0;
  uint8_t* input = runner.input_bytes(&input_bytes);
  runner.output_bytes(&output_bytes);
  if (input == nullptr) {
    channel.error("no_input", "the runner offers no input tensor");
    return RunnerStatus::kInputMismatch;
  }
  channel.begin(input_bytes, output_bytes);
  uint32_t samples = 0;
  bool dump = false;
  while (channel.next_input(input, input_bytes, &dump)) {
    runner.set_layer_sink(dump ? channel.layer_sink() : nullptr);
    const RunnerStatus status = runner.invoke();
    runner.set_layer_sink(nullptr);
    if (status != RunnerStatus::kOk) {
      channel.error(error_code(status), runner.last_error());
      return status;
    }
    const uint8_t* output = runner.output_bytes(&output_bytes);
    channel.output(samples++, output, output_bytes);
  }
  channel.end(samples);
  return RunnerStatus::kOk;
}

}  // namespace tinyml
