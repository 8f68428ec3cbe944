"""TensorFlow and its converter print on the process's own stdout/stderr (C++ logging, absl's
pre-init messages, MLIR notes) where Python cannot intercept them; these keep them off the user's
terminal unless something fails."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def quiet_native_output():
    """Sends fd 1 and 2 to a temporary file for the block; replays the tail on stderr if it raises."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace")[-4000:])
            raise
        finally:
            sys.stdout.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and Keras with their start-up banner (oneDNN, CUDA probing) hidden."""
    with quiet_native_output():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
