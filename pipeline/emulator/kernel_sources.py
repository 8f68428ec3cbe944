"""Which TFLM kernel sources the emulator build compiles: only those the models' resolvers need.

The generated `model_ops.h` of each model calls `r.Add<Op>()` of TFLM's MicroMutableOpResolver
for exactly the model's operators. The library itself says the rest:
- `micro_mutable_op_resolver.h`: `Add<Op>()` registers `Register_<OP>()`;
- the kernel file that defines `Register_<OP>() {` implements it (CMSIS-NN's file where the
  library ships one, else the reference kernel);
- a kernel `<name>.cpp` keeps its shared code in `<name>_common.cpp`; `kernel_util.cpp` serves all.

Everything else under `tensorflow/lite/micro/kernels/` is left out of the build; the rest of TFLM
(interpreter, allocator, schema) and CMSIS-NN's C sources (cheap to compile) stay. Without a
model the build keeps every kernel (CMake's default when TFLM_KERNEL_SOURCES is not given).
"""

from __future__ import annotations

import re
from pathlib import Path

KERNELS_DIR = Path("tensorflow/lite/micro/kernels")
CMSIS_NN_KERNELS_DIR = KERNELS_DIR / "cmsis_nn"
RESOLVER_HEADER = Path("tensorflow/lite/micro/micro_mutable_op_resolver.h")
SHARED_KERNEL_SOURCES = (KERNELS_DIR / "kernel_util.cpp",)

_ADD_CALL = re.compile(r"\br\.(Add[A-Za-z0-9]+)\s*\(")
_REGISTRATION = re.compile(r"Register_([A-Z0-9_]+)\s*\(")
_DEFINITION = re.compile(r"TfLiteRegistration\*?\s+Register_([A-Z0-9_]+)\s*\(\s*\)\s*\{")


def resolver_methods(model_ops_h: str) -> set[str]:
    """The `Add<Op>` methods a generated model_ops.h calls."""
    return set(_ADD_CALL.findall(model_ops_h))


def registrations(resolver_header: str, methods: set[str]) -> set[str]:
    """`<OP>` of every `Register_<OP>()` that the resolver's `methods` use (default argument or
    body), read from micro_mutable_op_resolver.h."""
    found: set[str] = set()
    for method in methods:
        match = re.search(rf"\b{method}\s*\(", resolver_header)
        if match is None:
            continue  # a method this TFLM lacks: the firmware build will say so
        body_end = resolver_header.find("}", match.end())
        found.update(_REGISTRATION.findall(resolver_header[match.start() : body_end]))
    return found


def _definitions(path: Path) -> set[str]:
    return set(_DEFINITION.findall(path.read_text(errors="replace")))


def kernel_sources(tflm_src: Path, ops: set[str]) -> list[Path]:
    """Kernel sources (relative to the library's src/) defining `Register_<op>` for `ops`, their
    `<name>_common.cpp` and the shared utilities; CMSIS-NN's file wins over the reference one."""
    cmsis = sorted((tflm_src / CMSIS_NN_KERNELS_DIR).glob("*.cpp"))
    cmsis_names = {path.name for path in cmsis}
    reference = [p for p in sorted((tflm_src / KERNELS_DIR).glob("*.cpp")) if p.name not in cmsis_names]
    chosen: list[Path] = []
    for path in cmsis + reference:
        if _definitions(path) & ops:
            chosen.append(path)
    extra = [tflm_src / KERNELS_DIR / f"{path.stem}_common.cpp" for path in chosen]
    extra += [tflm_src / shared for shared in SHARED_KERNEL_SOURCES]
    chosen += [path for path in extra if path.is_file() and path not in chosen]
    return sorted(path.relative_to(tflm_src) for path in chosen)


def models_kernel_sources(tflm_src: Path, models_dir: Path) -> list[Path] | None:
    """The union of kernel sources over every generated model under `models_dir`, or None when
    there is no model (then the whole library is built)."""
    headers = sorted(models_dir.glob("*/model_ops.h")) if models_dir.is_dir() else []
    if not headers:
        return None
    methods: set[str] = set()
    for header in headers:
        methods |= resolver_methods(header.read_text(errors="replace"))
    resolver = (tflm_src / RESOLVER_HEADER).read_text(errors="replace")
    return kernel_sources(tflm_src, registrations(resolver, methods))


def cmake_list(sources: list[Path]) -> str:
    """A CMake list (`;`-separated, forward slashes) for -DTFLM_KERNEL_SOURCES."""
    return ";".join(path.as_posix() for path in sources)
