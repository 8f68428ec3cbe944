"""`tinyml analyze` on models this project did not build."""
import os
import re
from pathlib import Path

import pytest

from pipeline.analysis.tflite_model import _short_name, analyze_tflite_bytes


def test_layer_names_from_fused_tensor_names():
    keras = ("m_1/block1_pw_relu_1/Relu6;m_1/block1_pw_bn_1/batchnorm/add_1;"
             "m_1/block1_pw_1/convolution;m_1/block1_pw_bn_1/batchnorm/sub1")
    assert _short_name(keras) == "block1_pw_1"
    assert _short_name("MobilenetV1/MobilenetV1/Conv2d_1_depthwise/Relu6") == "Conv2d_1_depthwise"
    assert _short_name("m_1/classifier_1/MatMul;m_1/classifier_1/BiasAdd") == "classifier_1"
    assert _short_name("StatefulPartitionedCall_1:0") == "StatefulPartitionedCall_1:0"


def person_detect_bytes() -> bytes:
    root = os.environ.get("TFLM_ARDUINO_DIR")
    if not root:
        pytest.skip("TFLM_ARDUINO_DIR not set: TFLM's person-detection model ships inside that "
                    "library (see DEVELOPERS.md)")
    source = Path(root, "examples/person_detection/person_detect_model_data.cpp").read_text()
    array = source[source.index("{", source.index("g_person_detect_model_data")):]
    return bytes(int(byte, 16) for byte in re.findall(r"0x([0-9a-fA-F]{2})", array[: array.index("};")]))


def test_tflm_person_detection_model():
    """TF's interpreter refuses this model (bias quantized_dimension 3); the schema parser reads it
    and the MobileNetV1-0.25 96x96x1 count is the published 7,157,888 MACs."""
    analysis = analyze_tflite_bytes(person_detect_bytes(), "person_detect")
    assert analysis.total_macs == 7_157_888
    assert analysis.is_int8
    assert analysis.ops == ("DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX")
    assert [layer.kind for layer in analysis.layers].count("depthwise") == 14  # 13 blocks + first
