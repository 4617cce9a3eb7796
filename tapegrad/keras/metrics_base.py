"""The Metric base class and the reducing metrics Mean and Sum (tf.keras.metrics semantics).

A metric is called every training step, so updates are plain array math on the Variables'
`.value` arrays (through `backend.xp`, so they stay on the GPU): no op runs, nothing is recorded
on an open GradientTape, and an update costs a few microseconds.

Totals and counts live in float64 Variables although results come out in the metric's dtype
(float32 by default, as in Keras): a float32 running sum of 60,000 per-step values loses about
1e-3 relative precision (each add rounds at 2**-24 of the total), a float64 one does not.
"""

import contextlib

import numpy

from .. import backend, tape
from ..errors import InvalidArgumentError
from ..tensor import Tensor, Variable


@contextlib.contextmanager
def tapes_paused():
    """Run a block with every GradientTape paused, so the ops inside record nothing."""
    saved = tape._active[:]
    tape._active.clear()
    try:
        yield
    finally:
        tape._active[:] = saved


def _array(x):
    return x.value if isinstance(x, Tensor) else backend.xp.asarray(x)


def _same_rank(a, b):
    """Keras' squeeze_or_expand_to_same_rank on arrays: (N,) against (N, 1) lines up."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b[..., None]) if b.ndim == 1 else (a.reshape(a.shape[:-1]), b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a[..., None], b) if a.ndim == 1 else (a, b.reshape(b.shape[:-1]))
    return a, b


def _broadcast_weights(w, shape, name):
    """sample_weight lined up with values of `shape`: trailing 1s squeezed, then expanded."""
    while w.ndim > len(shape) and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if 0 < w.ndim < len(shape):
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return backend.xp.broadcast_to(w, shape)
    except ValueError:
        raise InvalidArgumentError(
            f"metric '{name}': sample_weight of shape {tuple(w.shape)} does not broadcast to the "
            f"values of shape {tuple(shape)}"
        ) from None


def _accumulate(var, delta):
    a = var.value
    try:
        a += delta
    except ValueError:  # the array was frozen by a tape that saved it: move to a fresh one
        var.value = a + delta


class Metric:
    """Base class: state in `add_variable`s, `update_state(...)`, `result()`, `reset_state()`."""

    def __init__(self, name=None, dtype=None):
        from .layers.base import snake_case

        self.name = name or snake_case(type(self).__name__)
        self._dtype = backend.as_dtype(dtype) or backend.floatx
        self._variables = []
        self._initial = []

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self):
        return list(self._variables)

    weights = non_trainable_weights = variables

    @property
    def trainable_weights(self):
        return []

    def add_variable(self, name, shape=(), initializer="zeros", dtype=None):
        """A non-trainable Variable named '<metric>/<name>:0', reset to its initial value."""
        dtype = backend.as_dtype(dtype) or self._dtype
        shape = tuple(shape)
        xp = backend.xp
        if initializer in ("zeros", "ones", None) or isinstance(initializer, (int, float)):
            fill = {"zeros": 0, None: 0, "ones": 1}.get(initializer, initializer)
            init = xp.full(shape, fill, dtype=dtype)
        else:
            from . import initializers

            init = xp.asarray(initializers.get(initializer)(shape, dtype=dtype))
        v = Variable(init, trainable=False, name=f"{self.name}/{name}", dtype=dtype)
        self._variables.append(v)
        self._initial.append(init)
        return v

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, **kwargs):
        """Keras 2's name for add_variable."""
        return self.add_variable(name or "weight", shape, initializer, dtype)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        for v, init in zip(self._variables, self._initial):
            v.value = init.copy()

    reset_states = reset_state

    def __call__(self, *args, **kwargs):
        """update_state(*args, **kwargs), then the running result()."""
        with tapes_paused():
            self.update_state(*args, **kwargs)
        return self.result()

    def _tensor(self, value):
        return Tensor(backend.xp.asarray(value, dtype=self._dtype))

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


# ---------------------------------------------------------------- reducing metrics


class Sum(Metric):
    """The running (weighted) sum of the values passed to update_state."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable("total", dtype=numpy.float64)

    def update_state(self, values, sample_weight=None):
        v = _array(values)
        if sample_weight is not None:
            v = v * _broadcast_weights(_array(sample_weight), v.shape, self.name)
        _accumulate(self.total, v.sum(dtype=numpy.float64))

    def result(self):
        return self._tensor(self.total.value)


class Mean(Metric):
    """The running (weighted) mean of the values passed to update_state.

    >>> m = Mean()
    >>> float(m([1.0, 2.0, 3.0])), float(m(7.0))
    (2.0, 3.25)
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable("total", dtype=numpy.float64)
        self.count = self.add_variable("count", dtype=numpy.float64)

    def update_state(self, values, sample_weight=None):
        v = _array(values)
        if sample_weight is None:
            _accumulate(self.total, v.sum(dtype=numpy.float64))
            _accumulate(self.count, v.size)
            return
        w = _broadcast_weights(_array(sample_weight), v.shape, self.name)
        _accumulate(self.total, (v * w).sum(dtype=numpy.float64))
        _accumulate(self.count, w.sum(dtype=numpy.float64))

    def result(self):
        total, count = self.total.value, self.count.value
        xp = backend.namespace(total)
        if xp is numpy:
            return self._tensor(total / count if count != 0 else 0.0)
        nonzero = count != 0  # on the device: `if count != 0` would wait for the GPU
        return self._tensor(xp.where(nonzero, total / xp.where(nonzero, count, 1), 0.0))
