"""The deployed computation, checked: per model and kernel set, the emulated firmware's outputs on
real inputs against TFLite's reference kernels (`tinyml emulate --verify`, run by `tinyml run`).
A difference fails the model's row: the firmware computes another model than the one whose
accuracy the report prints."""

from __future__ import annotations

from pipeline.records import ModelResults
from pipeline.report.tables import table
from pipeline.verify.compare import divergence


def verification_section(models: list[ModelResults]) -> list[str]:
    rows, failures = [], []
    for m in models:
        if not m.ok:
            continue
        for kernels, record in sorted(m.emulated.items()):
            check = record.verify
            if check is None:
                continue
            layer = check.first_divergent_layer
            rows.append(
                [
                    m.name,
                    kernels,
                    check.samples,
                    check.bit_exact_share,
                    check.max_abs_diff_lsb,
                    m.built.accuracy_float,
                    check.accuracy_reference,
                    check.accuracy_firmware,
                    f"#{layer.index} {layer.op}" if layer else "–",
                ]
            )
            differs = divergence(check)
            if differs:
                failures.append(f"- **`{m.name}` ({kernels}) FAILS verification**: {differs}.")
    if not rows:
        return []
    inputs = sorted({r.verify.inputs for m in models if m.ok for r in m.emulated.values() if r.verify})
    return [
        "",
        "## Verification: the firmware against TFLite",
        "",
        "Each emulated firmware ran the inputs below in QEMU; its output bytes are compared with "
        "TensorFlow Lite's reference kernels (no XNNPACK) on the same int8 inputs. *bit-exact* is the "
        "share of inputs whose outputs are equal to the byte; on a difference, the first layer whose "
        "output differs (the firmware dumps every layer of the first differing input).",
        "",
        table(
            [
                "model",
                "kernels",
                "inputs",
                "bit-exact",
                "max diff LSB",
                "acc float",
                "acc int8 (TFLite)",
                "acc firmware",
                "first divergent layer",
            ],
            rows,
        ),
        "",
        *(f"Inputs: {text}." for text in inputs),
        *([""] + failures if failures else []),
    ]
