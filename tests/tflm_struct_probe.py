"""sizeof/alignof of TFLM's arena structs on the Cortex-M4, read from a TFLM Arduino checkout by
compiling each kernel's source with arm-none-eabi-g++ (pipeline/analysis/kernel_memory.py holds
the table; tests/test_arena.py compares the two).

usage: python tests/tflm_struct_probe.py TFLM_ARDUINO_DIR   (prints 'probe type sizeof alignof')
"""
from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
from pathlib import Path

K = "tensorflow/lite/micro/kernels/"
CORE = ('#include <new>\n#include <cstddef>\n#include <cstdint>\n#define private public\n'
        '#define protected public\n#include "tensorflow/lite/micro/micro_allocator.cpp"\n'
        '#include "tensorflow/lite/micro/micro_allocation_info.h"\n'
        '#include "tensorflow/lite/micro/micro_interpreter.h"\n'
        '#include "tensorflow/lite/c/builtin_op_data.h"\n')
# probe -> (source to include, C++ types)
PROBES = {
    "core": (CORE, [
        "tflite::SingleArenaBufferAllocator", "tflite::GreedyMemoryPlanner", "tflite::MicroAllocator",
        "tflite::MicroBuiltinDataAllocator", "tflite::SubgraphAllocations", "TfLiteEvalTensor",
        "tflite::NodeAndRegistration", "tflite::ScratchBufferHandle", "TfLiteTensor",
        "TfLiteAffineQuantization", "tflite::internal::ScratchBufferRequest", "tflite::AllocationInfo",
        "tflite::GreedyMemoryPlanner::BufferRequirements", "tflite::GreedyMemoryPlanner::ListEntry",
        "TfLiteConvParams", "TfLiteDepthwiseConvParams", "TfLiteFullyConnectedParams",
        "TfLitePoolParams", "TfLiteSoftmaxParams", "TfLiteAddParams", "TfLiteMulParams",
        "TfLiteReducerParams", "TfLiteConcatenationParams", "TfLiteReshapeParams"]),
    "CONV_2D": (f'#include "{K}cmsis_nn/conv.cpp"\n', ["tflite::OpData"]),
    "DEPTHWISE_CONV_2D": (f'#include "{K}cmsis_nn/depthwise_conv.cpp"\n', ["tflite::OpData"]),
    "FULLY_CONNECTED": (f'#include "{K}cmsis_nn/fully_connected.cpp"\n', ["tflite::OpData"]),
    "AVERAGE_POOL_2D": (f'#include "{K}cmsis_nn/pooling.cpp"\n', ["tflite::OpData"]),
    "SOFTMAX": (f'#include "{K}cmsis_nn/softmax.cpp"\n', ["tflite::CMSISNNSoftmaxParams"]),
    "ADD": (f'#include "{K}cmsis_nn/add.cpp"\n', ["tflite::OpData"]),
    "MUL": (f'#include "{K}mul.h"\n', ["tflite::OpDataMul"]),
    "CONCATENATION": (f'#include "{K}concatenation.cpp"\n', ["tflite::OpData"]),
    "PAD": (f'#include "{K}pad.cpp"\n', ["tflite::OpData"]),
    "QUANTIZE": (f'#include "{K}quantize.h"\n', ["tflite::OpDataQuantizeReference"]),
    "DEQUANTIZE": (f'#include "{K}dequantize.h"\n', ["tflite::DequantizeOpData"]),
    "LOGISTIC": (f'#include "{K}logistic.h"\n', ["tflite::OpDataLogistic"]),
    "MEAN": (f'#include "{K}reduce.h"\n', ["tflite::OpDataReduce"]),
    "RELU": (f'#include "{K}activations.h"\n', ["tflite::ReluOpData"]),
    "RELU6": (f'#include "{K}activations.h"\n', ["tflite::Relu6OpData"]),
    "TANH": (f'#include "{K}tanh.cpp"\n', ["tflite::OpData"]),
    "LEAKY_RELU": (f'#include "{K}leaky_relu.h"\n', ["tflite::LeakyReluOpData"]),
    "SUB": (f'#include "{K}sub.h"\n', ["tflite::OpDataSub"]),
    "STRIDED_SLICE": (f'#include "{K}strided_slice.cpp"\n', ["tflite::StridedSliceParams"]),
}
CPU = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16"]


def probe(tflm_dir: str | Path) -> dict[tuple[str, str], tuple[int, int]]:
    src = Path(tflm_dir) / "src"
    flags = ["arm-none-eabi-g++", "-std=gnu++14", *CPU, "-fno-rtti", "-fno-exceptions", "-w", "-c",
             "-DARDUINO=10819", "-DARDUINO_ARDUINO_NANO33BLE", "-DTF_LITE_MCU_DEBUG_LOG",
             f"-I{src}", f"-I{src}/third_party/flatbuffers/include", f"-I{src}/third_party/gemmlowp",
             f"-I{src}/third_party/ruy"]
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, (include, types) in PROBES.items():
            values = ", ".join(f"sizeof({t}), alignof({t})" for t in types)
            Path(tmp, "p.cc").write_text(include + '\n__attribute__((section(".probe"), used)) '
                                         f"extern const unsigned tinyml_probe[] = {{{values}}};\n")
            subprocess.run(flags + [f"{tmp}/p.cc", "-o", f"{tmp}/p.o"], check=True,
                           capture_output=True)
            subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".probe", f"{tmp}/p.o",
                            f"{tmp}/p.bin"], check=True)
            numbers = struct.unpack(f"<{2 * len(types)}I", Path(tmp, "p.bin").read_bytes())
            for i, name in enumerate(types):
                found[(key, name)] = (numbers[2 * i], numbers[2 * i + 1])
    return found


if __name__ == "__main__":
    for (key, name), (size, align) in probe(sys.argv[1]).items():
        print(f"{key:18s} {name:50s} {size:4d} {align:2d}")
