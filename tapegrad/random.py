"""Seeded random numbers with TensorFlow's API: set_seed, uniform, normal, Generator, …

One global NumPy Generator drives every draw, so `tapegrad.random.set_seed(0)` makes a whole
program (initializers, dropout, shuffling) repeatable. Draws happen on the host and move to the
device, so CPU and GPU runs with one seed see the same numbers. `TAPEGRAD_SEED=<int>` in the
environment seeds it at import, which makes a program that never calls set_seed repeatable
(the seed programs' tests use it).
"""

import os

import numpy

from . import backend
from .tensor import Tensor


def _seed_from_environment():
    text = os.environ.get("TAPEGRAD_SEED", "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"TAPEGRAD_SEED must be an integer, got {text!r}") from None


_generator = numpy.random.default_rng(_seed_from_environment())


def set_seed(seed):
    """Make every later draw repeatable (TensorFlow's global seed)."""
    global _generator
    _generator = numpy.random.default_rng(seed)


def get_state():
    """The global generator's state, as plain JSON-able data (for checkpoints)."""
    return _generator.bit_generator.state


def set_state(state):
    _generator.bit_generator.state = state


def _rng(seed):
    return _generator if seed is None else numpy.random.default_rng(seed)


def _out(a, dtype):
    return Tensor(backend.xp.asarray(a.astype(backend.as_dtype(dtype), copy=False)))


def _shape(shape):
    if isinstance(shape, Tensor):
        shape = shape.numpy().tolist()
    return (int(shape),) if numpy.ndim(shape) == 0 else tuple(int(d) for d in shape)


def uniform(shape, minval=0, maxval=None, dtype=backend.float32, seed=None, name=None):
    """Uniform on [minval, maxval) (maxval defaults to 1 for floats)."""
    dtype = backend.as_dtype(dtype)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError("random.uniform: integer dtypes need maxval")
        return _out(_rng(seed).integers(minval, maxval, _shape(shape)), dtype)
    maxval = 1.0 if maxval is None else maxval
    return _out(_rng(seed).uniform(float(minval), float(maxval), _shape(shape)), dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=backend.float32, seed=None, name=None):
    return _out(_rng(seed).normal(float(mean), float(stddev), _shape(shape)), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=backend.float32, seed=None, name=None):
    """Normal, redrawing values more than two standard deviations from the mean."""
    rng = _rng(seed)
    shape = _shape(shape)
    z = rng.standard_normal(shape)
    bad = numpy.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = numpy.abs(z) > 2
    return _out(mean + stddev * z, dtype)


def shuffle(value, seed=None, name=None):
    a = backend.to_numpy(value.value if isinstance(value, Tensor) else numpy.asarray(value))
    return Tensor(backend.xp.asarray(_rng(seed).permutation(a)))


def categorical(logits, num_samples, dtype=backend.int64, seed=None, name=None):
    lg = backend.to_numpy(logits.value if isinstance(logits, Tensor) else numpy.asarray(logits))
    p = numpy.exp(lg - lg.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    rng = _rng(seed)
    out = numpy.stack([rng.choice(p.shape[-1], num_samples, p=row) for row in p])
    return _out(out, dtype)


class Generator:
    """tf.random.Generator: an independent, seedable stream."""

    def __init__(self, seed=None):
        self._rng = numpy.random.default_rng(seed)

    @classmethod
    def from_seed(cls, seed, alg=None):
        return cls(seed)

    def uniform(self, shape, minval=0, maxval=1.0, dtype=backend.float32, name=None):
        return _out(self._rng.uniform(float(minval), float(maxval), _shape(shape)), dtype)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=backend.float32, name=None):
        return _out(self._rng.normal(float(mean), float(stddev), _shape(shape)), dtype)

    def numpy_generator(self):
        return self._rng


def global_generator():
    """The NumPy Generator behind tapegrad.random (for code that draws host arrays)."""
    return _generator
