"""Stage 2b: brief training on the real data set, float accuracy on the held-out split."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from pipeline.model.dataset import Dataset
from pipeline.model.keras_models import build_keras_model
from pipeline.model.specs import ModelSpec

BATCH_SIZE = 32
LEARNING_RATE = 2e-3
SEED = 0
# --epochs 0: forward passes over the training data that only update BatchNorm's moving statistics.
# With the initial statistics (mean 0, variance 1) the activations of a deep untrained MobileNet
# vanish (softmax input scale ~1e-8 after int8 calibration) and TFLM's Softmax aborts; with
# statistics of the data they keep their range. At momentum 0.9, 50 batches leave < 1 % of the
# initial values.
STATISTICS_BATCHES = 50


@dataclass
class TrainedModel:
    spec: ModelSpec
    model: keras.Model
    accuracy_float: float
    epochs: int


def train_model(spec: ModelSpec, data: Dataset, epochs: int | None = None, verbose: int = 0) -> TrainedModel:
    """Adam with a cosine-decayed rate: a short, deep MobileNet learns the digits in a few epochs
    where a constant rate oscillates; the learning rate matters more than the epochs here."""
    keras.utils.set_random_seed(SEED)
    epochs = spec.epochs if epochs is None else epochs
    model = build_keras_model(spec)
    steps = max(1, epochs * int(np.ceil(len(data.x_train) / BATCH_SIZE)))
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    if epochs:
        # The pipeline shuffles; Keras' own shuffle=True (its default) would only warn that it is ignored.
        train_batches = batches(data.x_train, data.y_train, BATCH_SIZE, shuffle=True)
        model.fit(train_batches, epochs=epochs, shuffle=False, verbose=verbose)
    else:  # no training (benchmarks of the rest of the pipeline): weights stay as initialised
        measure_batch_norm_statistics(model, data.x_train)
    _, accuracy = model.evaluate(batches(data.x_test, data.y_test, 128, shuffle=False), verbose=0)
    return TrainedModel(spec, model, float(accuracy), epochs)


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool):
    """The arrays as a tf.data pipeline that does not tune itself. Keras' own pipeline for arrays
    autotunes with a background thread, and each epoch's iterator waits for that thread to stop:
    with every core busy (a sweep's workers) the wait was a third of a training's time (two
    trainings side by side: 20.2 s each, 14.7 s without autotuning, the same CPU time). Like
    Keras, it shuffles indices, not samples (no second copy of the data), anew each epoch."""
    import tensorflow as tf

    features, labels = tf.constant(x), tf.constant(y)
    indices = tf.data.Dataset.range(len(x))
    if shuffle:
        indices = indices.shuffle(len(x), seed=SEED, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    # As Keras does: the static optimizations would serialize the pipeline's graph, data included.
    options.experimental_optimization.apply_default_optimizations = False
    return indices.batch(batch_size).map(lambda i: (tf.gather(features, i), tf.gather(labels, i))).with_options(options)


def measure_batch_norm_statistics(model: keras.Model, x: np.ndarray) -> None:
    """BatchNorm's moving mean and variance from the data, without a gradient step."""
    starts = [(i * BATCH_SIZE) % len(x) for i in range(STATISTICS_BATCHES)]
    for start in starts:
        model(x[start : start + BATCH_SIZE], training=True)
