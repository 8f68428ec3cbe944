"""Child-process side of the TFLM host check. TFLM aborts the whole process on some bad models
(e.g. a softmax input scale over its limit), so it never runs inside the pipeline's own process.

usage: python -m pipeline.analysis.tflm_worker MODEL.tflite INPUTS.npz OUTPUTS.npz ARENA_BYTES
Writes the int8 outputs for every input; prints the recording allocator's report to stderr.
"""

import sys

import numpy as np
from tflite_micro.python.tflite_micro import runtime


def main(model_path: str, inputs_path: str, outputs_path: str, arena_bytes: str) -> int:
    with open(model_path, "rb") as f:
        model = f.read()
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=int(arena_bytes))
    x = np.load(inputs_path)["x"]
    outputs = []
    for sample in x:
        interpreter.set_input(sample[None], 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0))[0])
    if len(x) == 0:  # allocation report only
        details = interpreter.get_input_details(0)  # int8, or float before a QUANTIZE
        interpreter.set_input(np.zeros(details["shape"], details["dtype"]), 0)
        interpreter.invoke()
    np.savez(outputs_path, y=np.stack(outputs) if outputs else np.zeros((0,), np.int8))
    sys.stderr.flush()
    interpreter.print_allocations()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
