"""PlatformIO pre-script of the nano33ble envs (runs inside SCons; `env` comes from Import).

1. Builds the generated model sources: firmware/generated/ by default, or the folder named by the
   TINYML_GENERATED_DIR environment variable (what `tinyml firmware --out DIR` prints).
2. Compiles the TFLM kernels, CMSIS-NN and the project's kernels (firmware/kernels) at -O2 while everything else keeps the mbed core's -Os:
   in the emulator the kernels at -Os cost 24-41 % more instructions than at -O2, and -O3 was never
   better (project design notes). PlatformIO has no per-library optimisation option, so a
   build middleware (docs.platformio.org/en/latest/scripting/middlewares.html) rebuilds those
   object nodes with the size flags swapped.
"""
import os
import sys

Import("env")  # noqa: F821  (SCons builtin)
from SCons.Script import COMMAND_LINE_TARGETS  # noqa: E402

GENERATED_FILES = ("model_data.h", "model_data.cc", "model_ops.h")
# Source folders whose code runs per inference: the TFLM Arduino library's kernels and CMSIS-NN,
# and the project's own int8 kernels.
LIBRARY_KERNEL_DIRS = (
    os.sep + os.path.join("tensorflow", "lite", "micro", "kernels") + os.sep,
    os.sep + os.path.join("third_party", "cmsis_nn") + os.sep,
)
PROJECT_KERNEL_DIRS = (os.sep + os.path.join("firmware", "kernels") + os.sep,)
KERNEL_DIRS = LIBRARY_KERNEL_DIRS + PROJECT_KERNEL_DIRS
OPT_FLAGS = ("-Os", "-O0", "-O1", "-O2", "-O3", "-Og", "-Oz")


def generated_dir(env):
    folder = os.environ.get("TINYML_GENERATED_DIR") or os.path.join(
        env.subst("$PROJECT_DIR"), "firmware", "generated")
    folder = os.path.abspath(folder)
    missing = [name for name in GENERATED_FILES if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        sys.stderr.write(
            "Error: %s lacks %s: run `tinyml firmware MODEL.tflite` first (or set "
            "TINYML_GENERATED_DIR to the folder it wrote)\n" % (folder, ", ".join(missing)))
        env.Exit(1)
    return folder


def kernels_at_o2(env, node):
    path = node.srcnode().get_abspath()
    if not any(part in path for part in KERNEL_DIRS):
        return node
    flags = {scope: [f for f in env.get(scope, []) if f not in OPT_FLAGS]
             for scope in ("CCFLAGS", "CFLAGS", "CXXFLAGS")}
    flags["CCFLAGS"].append("-O2")
    return env.Object(node, **flags)


# IDE integration dumps and cleaning need no model sources.
if not env.IsIntegrationDump() and not {"clean", "cleanall"} & set(COMMAND_LINE_TARGETS):
    model_dir = generated_dir(env)
    # Global include path: the library builders clone this env, and the TFLM library has no
    # headers of these names.
    env.Append(CPPPATH=[model_dir])
    env.BuildSources(os.path.join("$BUILD_DIR", "tinyml_generated"), model_dir)
env.AddBuildMiddleware(kernels_at_o2)
