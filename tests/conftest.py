import os

# TensorFlow's C++ logging drowns pytest's output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
