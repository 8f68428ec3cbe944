"""Which kernel set the generated op resolver registers: CMSIS-NN's (the pinned TFLM library's
default registrations) or the project's own int8 kernels (firmware/kernels, through the TFLM adapter
firmware/tflm/tinyml_{conv,depthwise}.cc), which fall back to CMSIS-NN layer by layer where they do not
cover a shape."""

from __future__ import annotations

from pipeline.errors import PipelineError

CMSIS_NN = "cmsis-nn"
TINYML = "tinyml"
KERNEL_SETS = (CMSIS_NN, TINYML)
DEFAULT_KERNELS = CMSIS_NN  # the design card's choice

# Builtin ops the project kernels register (with CMSIS-NN's kernel as the fallback inside).
TINYML_REGISTRATIONS = {
    "CONV_2D": "tinyml::Register_CONV_2D()",
    "DEPTHWISE_CONV_2D": "tinyml::Register_DEPTHWISE_CONV_2D()",
}
TINYML_HEADER = "tinyml_kernel_registrations.h"

# Ops the pinned library computes differently from TFLite's reference kernels (per-channel
# FULLY_CONNECTED with one multiplier, MEAN, MUL's multiplier, a standalone RELU6 that ignores the
# output's quantization): the project's reference-exact kernels (firmware/kernels/tinyml_ref_ops.h)
# are registered for them with both kernel sets, so the firmware computes what was validated.
REFERENCE_REGISTRATIONS = {
    "FULLY_CONNECTED": "tinyml::Register_FULLY_CONNECTED()",
    "MUL": "tinyml::Register_MUL()",
}
# Ops whose pinned Add<Op>() takes no registration: replaced in the resolver after it is added.
REFERENCE_REPLACEMENTS = {
    "MEAN": "tinyml::UseReferenceMean(r)",
    "RELU6": "tinyml::UseReferenceRelu6(r)",
}
REFERENCE_HEADER = "tinyml_ref_ops_registrations.h"


def check_kernels(kernels: str) -> str:
    if kernels not in KERNEL_SETS:
        raise PipelineError(f"unknown kernel set {kernels!r}: use one of {', '.join(KERNEL_SETS)}")
    return kernels


def registration_argument(op: str, kernels: str) -> str:
    """The argument of the resolver's Add<Op>() call: empty for the library's default kernel."""
    if op in REFERENCE_REGISTRATIONS:
        return REFERENCE_REGISTRATIONS[op]
    if kernels == TINYML:
        return TINYML_REGISTRATIONS.get(op, "")
    return ""


def replacement_call(op: str) -> str | None:
    """The call that swaps in the reference-exact kernel after Add<Op>(), or None."""
    return REFERENCE_REPLACEMENTS.get(op)


def resolver_includes(kernels: str) -> str:
    """Extra #include lines of model_ops.h."""
    lines = f'#include "{REFERENCE_HEADER}"\n'
    return lines + (f'#include "{TINYML_HEADER}"\n' if kernels == TINYML else "")


def model_folder_suffix(kernels: str) -> str:
    """Generated-source folders of one model differ per kernel set (each is its own firmware)."""
    return "" if kernels == CMSIS_NN else "__" + kernels.replace("-", "_")


def result_file_name(name: str, kernels: str) -> str:
    """Per-kernel-set result file beside a model's result.json: 'emulated.json' for CMSIS-NN (the
    default, as before), 'emulated_tinyml.json' for the project kernels."""
    if kernels == CMSIS_NN:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_{kernels.replace('-', '_')}{dot}{ext}"
