"""The 32-bit arena model: TFLM's greedy planner, CMSIS-NN scratch sizes, persistent structs.

The struct table is checked against the TFLM sources when TFLM_ARDUINO_DIR is set; the whole
prediction against the emulated firmware in tests/test_validation_suite.py."""
import os

import numpy as np
import shutil

import pytest

from pipeline.analysis import kernel_memory as k
from pipeline.analysis.arena import PlannedBuffer, greedy_plan_bytes


def test_greedy_planner_reuses_memory_of_dead_buffers():
    # a -> b -> c: a and c never live together, so c reuses a's place
    buffers = [PlannedBuffer(1024, 0, 1), PlannedBuffer(512, 1, 2), PlannedBuffer(1024, 2, 3)]
    assert greedy_plan_bytes(buffers) == 1536


def test_greedy_planner_fills_gaps_largest_first():
    # the big buffer goes first at 0; the two small ones live together after it ends
    buffers = [PlannedBuffer(100, 2, 2), PlannedBuffer(1000, 0, 1), PlannedBuffer(300, 2, 2)]
    assert greedy_plan_bytes(buffers) == 1000
    # all three live at once: stacked
    buffers = [PlannedBuffer(100, 0, 2), PlannedBuffer(1000, 0, 2), PlannedBuffer(300, 0, 2)]
    assert greedy_plan_bytes(buffers) == 1400


def test_greedy_planner_places_the_later_of_equal_sizes_first():
    # GreedyMemoryPlanner fills its size-sorted list from the tail, then bubble-sorts (stable):
    # of equal sizes the buffer added later is placed first. In added order: 2 B live 1-1, 1 B
    # 0-2, 2 B 2-3, 2 B 3-3. Later first: [3] at 0, [2] at 2, [0] at 0, [1] finds no gap below 4
    # -> 5 units; placing equal sizes in added order would give 4 (the 64,512 B vs 73,728 B head
    # of MLPerf's VWW model came from that difference).
    unit = 16
    buffers = [PlannedBuffer(2 * unit, 1, 1), PlannedBuffer(1 * unit, 0, 2),
               PlannedBuffer(2 * unit, 2, 3), PlannedBuffer(2 * unit, 3, 3)]
    assert greedy_plan_bytes(buffers) == 5 * unit


def tensor(shape, dtype="int8", channels=1, constant=False):
    return k.TensorSpec(0, shape, dtype, constant, channels)


def conv(filter_shape, stride=(1, 1), dilation=(1, 1), op="CONV_2D", in_channels=16):
    return k.OperatorSpec(op, (tensor((1, 8, 8, in_channels)), tensor(filter_shape, constant=True)),
                          (tensor((1, 8, 8, filter_shape[0 if op == "CONV_2D" else 3])),),
                          stride, dilation)


def test_cmsis_nn_scratch_sizes():
    assert k.kernel_memory(conv((32, 3, 3, 16))).scratch == (2 * 16 * 9 * 2,)  # im2col, int16
    assert k.kernel_memory(conv((32, 10, 4, 16))).scratch == (2 * 16 * 40 * 2,)  # rectangular
    assert k.kernel_memory(conv((32, 1, 1, 16))).scratch == ()  # 1x1 fast path
    assert k.kernel_memory(conv((32, 1, 1, 16), stride=(2, 2))).scratch == (2 * 16 * 2,)
    assert k.kernel_memory(conv((32, 1, 1, 16), dilation=(2, 2))).scratch == (2 * 16 * 2,)
    dw = k.kernel_memory(conv((1, 3, 3, 16), op="DEPTHWISE_CONV_2D"))
    assert dw.scratch == (16 * 9 * 2,) and dw.persistent == (64, 64)
    assert k.kernel_memory(conv((1, 3, 3, 32), op="DEPTHWISE_CONV_2D")).scratch == ()  # multiplier 2
    assert k.kernel_memory(conv((1, 3, 3, 16), dilation=(2, 2), op="DEPTHWISE_CONV_2D")).scratch == ()
    pool = k.OperatorSpec("AVERAGE_POOL_2D", (tensor((1, 4, 4, 64)),), (tensor((1, 1, 1, 64)),))
    assert k.kernel_memory(pool).scratch == (256,)
    assert k.kernel_memory(k.OperatorSpec("SOFTMAX", (tensor((1, 10)),), (tensor((1, 10)),))).scratch == ()
    assert k.kernel_memory(k.OperatorSpec("SVDF", (tensor((1, 10)),), (tensor((1, 10)),))) is None


def test_every_builtin_params_entry_is_a_pinned_tflm_op():
    from pipeline.analysis.tflm_ops import RESOLVER_METHODS

    assert set(k.BUILTIN_PARAMS) <= set(RESOLVER_METHODS)
    assert set(k.INIT_BYTES) <= set(RESOLVER_METHODS)


TFLM_DIR = os.environ.get("TFLM_ARDUINO_DIR")


@pytest.mark.skipif(not TFLM_DIR or shutil.which("arm-none-eabi-g++") is None,
                    reason="needs the TFLM sources (TFLM_ARDUINO_DIR) and arm-none-eabi-g++")
def test_struct_table_matches_the_pinned_tflm_sources():
    from tests.tflm_struct_probe import probe

    found = probe(TFLM_DIR)
    core = {name: size for (key, name), (size, _) in found.items() if key == "core"}
    assert core["tflite::SingleArenaBufferAllocator"] == k.SINGLE_ARENA_BUFFER_ALLOCATOR
    assert core["tflite::GreedyMemoryPlanner"] == k.GREEDY_MEMORY_PLANNER
    assert core["tflite::MicroAllocator"] == k.MICRO_ALLOCATOR
    assert core["tflite::MicroBuiltinDataAllocator"] == k.MICRO_BUILTIN_DATA_ALLOCATOR
    assert core["tflite::SubgraphAllocations"] == k.SUBGRAPH_ALLOCATIONS
    assert core["TfLiteEvalTensor"] == k.TFLITE_EVAL_TENSOR
    assert core["tflite::NodeAndRegistration"] == k.NODE_AND_REGISTRATION
    assert core["tflite::ScratchBufferHandle"] == k.SCRATCH_BUFFER_HANDLE
    assert core["TfLiteTensor"] == k.TFLITE_TENSOR
    assert core["TfLiteAffineQuantization"] == k.TFLITE_AFFINE_QUANTIZATION
    assert core["tflite::internal::ScratchBufferRequest"] == k.SCRATCH_BUFFER_REQUEST
    assert core["tflite::AllocationInfo"] == k.ALLOCATION_INFO
    assert (core["tflite::GreedyMemoryPlanner::BufferRequirements"] + 4 + 4
            + core["tflite::GreedyMemoryPlanner::ListEntry"] + 4) == k.PLANNER_BYTES_PER_BUFFER
    params = {"CONV_2D": "TfLiteConvParams", "DEPTHWISE_CONV_2D": "TfLiteDepthwiseConvParams",
              "FULLY_CONNECTED": "TfLiteFullyConnectedParams", "AVERAGE_POOL_2D": "TfLitePoolParams",
              "SOFTMAX": "TfLiteSoftmaxParams", "ADD": "TfLiteAddParams", "MUL": "TfLiteMulParams",
              "MEAN": "TfLiteReducerParams", "CONCATENATION": "TfLiteConcatenationParams",
              "RESHAPE": "TfLiteReshapeParams"}
    for op, struct in params.items():
        assert found[("core", struct)] == k.BUILTIN_PARAMS[op], op
    for (key, name), (size, _) in found.items():
        if key != "core":
            assert k.INIT_BYTES[key] == size, (key, name)


def _cut_model(keep: int) -> bytes:
    """A Keras model whose flatbuffer keeps only its first `keep` operators, its output moved to
    the last kept one: the tensors of the removed operators stay in the file, used by none."""
    import flatbuffers
    import keras
    import numpy as np

    from pipeline.analysis.tflite_model import parsed
    from pipeline.model.quantize import convert_keras_int8

    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3), batch_size=1)
    h = keras.layers.ReLU(6.0)(inp)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    out = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(h))
    x = np.random.default_rng(0).random((8, 16, 16, 3), dtype=np.float32)
    model = parsed(convert_keras_int8(keras.Model(inp, out), lambda: ([x[i : i + 1]] for i in range(8))))
    graph = model.subgraphs[0]
    graph.operators = graph.operators[:keep]
    graph.outputs = np.array([graph.operators[-1].outputs[0]], dtype=np.int32)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_tensors_no_operator_uses_are_planned_live_together():
    """TFLM plans a non-constant tensor no operator touches with the lifetime (-1, -1): all of
    them are live at once, beside nothing else (micro_allocation_info.cc, CreatePlan). A cut model
    whose leftovers outweigh its live tensors needs their sum (issue 19: the prediction was 86 %
    short on such a model, and its fit verdict wrong)."""
    from pipeline.analysis.arena import _align_up, predict_arena
    from pipeline.analysis.tflite_model import parsed

    data = _cut_model(1)  # RELU6 kept; both 16x16x32 conv outputs and the rest unused
    graph = parsed(data).subgraphs[0]
    used = {int(i) for op in graph.operators for i in list(op.inputs) + list(op.outputs)}
    buffers = parsed(data).buffers
    unused = [
        t for i, t in enumerate(graph.tensors)
        if i not in used and not (t.buffer and buffers[t.buffer].data is not None and len(buffers[t.buffer].data))
    ]
    leftover = sum(_align_up(int(np.prod(t.shape)) * (4 if t.type == 2 else 1)) for t in unused)
    assert leftover >= 2 * 16 * 16 * 32  # the two conv outputs at least
    assert predict_arena(data).head_bytes == leftover  # they outweigh the RELU6's 2 x 768 B


@pytest.mark.tflm
def test_a_cut_model_arena_equals_the_emulated_one(tmp_path):
    from pipeline.driver import emulate_path

    path = tmp_path / "cut.tflite"
    path.write_bytes(_cut_model(2))
    tflm_dir = os.environ.get("TFLM_ARDUINO_DIR")
    if not tflm_dir:
        pytest.skip("TFLM_ARDUINO_DIR not set: emulating needs the TFLM Arduino library (see DEVELOPERS.md)")
    record = emulate_path(path, tflm_dir, runs=1, warmup=0)
    assert record.arena_used_bytes == record.arena_predicted_bytes
