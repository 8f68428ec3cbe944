"""Stage: the deployed computation checked. The firmware's outputs on real inputs against TFLite's
reference kernels on the same inputs (inputs.py picks the inputs, compare.py compares outputs and,
on a difference, every layer's). The firmware runs elsewhere (pipeline/emulator/verify.py in QEMU,
pipeline/device/verify.py on a board) and hands back a FirmwareOutputs."""
