"""Builtin operators the pinned TFLM library can register, and the resolver method for each.

The table below was derived from `tensorflow/lite/micro/micro_mutable_op_resolver.h` of the TFLM
Arduino library pinned in platformio.ini (tensorflow/tflite-micro-arduino-examples at commit
7948b85e020470a30a83bf00e10fc43b486bfcba): every `AddXxx()` method whose body is
`AddBuiltin(BuiltinOperator_<NAME>, ...)`. The custom-op methods of that header (AddCircularBuffer,
AddDetectionPostprocess, AddEthosU) register custom operators, not builtins, and are left out.
tests/test_codegen.py re-derives the table from a local checkout (TFLM_ARDUINO_DIR) and fails when
the two differ, so a change of the pinned commit cannot silently leave this list stale.
"""

from __future__ import annotations

import re

from pipeline.errors import ModelError, PipelineError

PINNED_TFLM_COMMIT = "7948b85e020470a30a83bf00e10fc43b486bfcba"

# TFLite builtin operator name -> MicroMutableOpResolver method registering it.
RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo",
    "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "ELU": "AddElu",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "IF": "AddIf",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "MAXIMUM": "AddMaximum",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable",
    "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile",
    "ZEROS_LIKE": "AddZerosLike",
}


def resolver_method(op: str) -> str | None:
    """The `AddXxx` method for builtin `op`, or None when the pinned library cannot run it."""
    return RESOLVER_METHODS.get(op)


def unsupported_ops(ops: tuple[str, ...] | list[str]) -> list[str]:
    """The ops (in the given order, without repeats) the pinned library's resolver cannot register."""
    missing: list[str] = []
    for op in ops:
        if op not in RESOLVER_METHODS and op not in missing:
            missing.append(op)
    return missing


def check_ops_supported(ops, source: str | None = None) -> None:
    """Every op must be a builtin the pinned TFLM library's MicroMutableOpResolver registers."""

    def fail(problem: str):
        return ModelError(source, problem) if source else PipelineError(problem)

    if not ops:
        raise fail("the model has no operators: re-export it")
    missing = unsupported_ops(list(ops))
    if missing:
        raise fail(
            f"the pinned TFLM library (commit {PINNED_TFLM_COMMIT[:12]}) cannot run "
            f"op(s) {', '.join(missing)}: re-export the model without them "
            "(e.g. a fixed batch of 1 avoids SHAPE/STRIDED_SLICE/PACK)"
        )


_ADD_BUILTIN = re.compile(
    r"TfLiteStatus (Add\w+)\((?:[^()]|\([^()]*\))*\)\s*\{\s*return AddBuiltin\(\s*BuiltinOperator_(\w+)"
)


def parse_resolver_header(text: str) -> dict[str, str]:
    """Builtin name -> method, read from a micro_mutable_op_resolver.h (used to check the table)."""
    return {builtin: method for method, builtin in _ADD_BUILTIN.findall(text)}
