"""TensorFlow Lite with its built-in reference kernels: the arithmetic TFLM's kernels are written
to reproduce, so the one the firmware's outputs are checked against (pipeline/verify) and the one
the int8 accuracy comes from. TFLite's default interpreter runs XNNPACK and optimized kernels,
which round differently on some inputs; BUILTIN_REF has no delegate and no optimized kernel."""

from __future__ import annotations

import os
import warnings

import numpy as np

from pipeline.errors import PipelineError
from pipeline.native_output import quiet_native_output


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float samples as an int8 input tensor holds them (round half to even, then clamp)."""
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


class ReferenceInterpreter:
    """One .tflite under TFLite's reference kernels, batch 1 like the device. With
    keep_tensors, every intermediate tensor stays readable after invoke (layer-by-layer checks)."""

    def __init__(self, tflite: bytes, keep_tensors: bool = False) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with quiet_native_output():  # TensorFlow's start-up banner
            import tensorflow as tf

        with warnings.catch_warnings(), quiet_native_output():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter is deprecated for LiteRT's; same kernels
            try:
                self._interpreter = self._load(tf, tflite, keep_tensors)
            except ValueError as exc:
                if "quantized_dimension" not in str(exc):
                    raise PipelineError(f"TensorFlow Lite cannot load the model as the reference: {exc}") from None
                # TFLM's own person_detect.tflite: biases quantized per channel, tagged with the
                # filter's quantized dimension (3) on a rank-1 tensor. TFLM ignores it; TFLite refuses.
                self._interpreter = self._load(tf, quantized_dimensions_fixed(tflite), keep_tensors)
            self._interpreter.allocate_tensors()
        self.input = self._interpreter.get_input_details()[0]
        self.output = self._interpreter.get_output_details()[0]

    @staticmethod
    def _load(tf, tflite: bytes, keep_tensors: bool):
        return tf.lite.Interpreter(
            model_content=tflite,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=keep_tensors,
        )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.input["shape"])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.input["dtype"])

    def invoke(self, sample: np.ndarray) -> np.ndarray:
        """Output tensor 0 for one input (its shape without or with the batch dimension)."""
        self._interpreter.set_tensor(
            self.input["index"], np.asarray(sample, self.input_dtype).reshape(self.input_shape)
        )
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self.output["index"]).copy()

    def tensor(self, index: int) -> np.ndarray:
        """Tensor `index` of the last invoke (needs keep_tensors for intermediates)."""
        return self._interpreter.get_tensor(index).copy()


def quantized_dimensions_fixed(tflite: bytes) -> bytes:
    """The model with each quantizedDimension beyond its tensor's rank moved to the one dimension
    as long as the scales (the bias of a per-channel conv: rank 1), or to 0 for a single scale:
    the scales apply as before, the arithmetic is unchanged."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(tflite, 0)
    for graph in model.subgraphs or []:
        for tensor in graph.tensors or []:
            quantization = tensor.quantization
            shape = list(tensor.shape) if tensor.shape is not None else []
            if quantization is None or quantization.scale is None or quantization.quantizedDimension < len(shape):
                continue
            matching = [i for i, size in enumerate(shape) if size == len(quantization.scale)]
            if len(quantization.scale) == 1 or len(matching) == 1:
                quantization.quantizedDimension = matching[0] if len(quantization.scale) > 1 else 0
    builder = flatbuffers.Builder(len(tflite) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def reference_outputs(tflite: bytes, inputs: np.ndarray) -> np.ndarray:
    """Output tensor 0 of every input (N, ...), in the model's output type, batch dimension dropped."""
    interpreter = ReferenceInterpreter(tflite)
    return np.stack([interpreter.invoke(sample)[0] for sample in inputs])
