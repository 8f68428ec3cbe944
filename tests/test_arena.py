"""The 32-bit arena prediction: TFLM's greedy planner replayed, CMSIS-NN scratch sizes."""
from pipeline.analysis.arena import PlannedBuffer, cmsis_nn_scratch_bytes, greedy_plan_bytes
from pipeline.analysis.tflite_model import OperatorIO


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


def io(op, filter_shape, stride=(1, 1), input_shape=(1, 8, 8, 16), output_shape=(1, 8, 8, 16)):
    return OperatorIO(op, 0, input_shape, filter_shape, output_shape, stride)


def test_cmsis_nn_scratch_sizes():
    assert cmsis_nn_scratch_bytes(io("CONV_2D", (32, 3, 3, 16))) == 2 * 16 * 9 * 2  # im2col, int16
    assert cmsis_nn_scratch_bytes(io("CONV_2D", (32, 1, 1, 16))) == 0  # 1x1 fast path
    assert cmsis_nn_scratch_bytes(io("CONV_2D", (32, 1, 1, 16), stride=(2, 2))) == 2 * 16 * 2
    assert cmsis_nn_scratch_bytes(io("DEPTHWISE_CONV_2D", (1, 3, 3, 16))) == 16 * 9 * 2
    assert cmsis_nn_scratch_bytes(io("DEPTHWISE_CONV_2D", (1, 3, 3, 32))) == 0  # multiplier 2
    assert cmsis_nn_scratch_bytes(io("AVERAGE_POOL_2D", (), output_shape=(1, 1, 1, 64))) == 256
    assert cmsis_nn_scratch_bytes(io("SOFTMAX", ())) == 0
