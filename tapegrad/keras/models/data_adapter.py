"""Turn what fit/evaluate/predict are given (arrays, tensors, dicts, a Dataset) into batches.

Arrays are cast once per call (floating data to the model's float32, as Keras does) and each
batch is one slice — or one fancy-index gather when shuffling — per array, never per example.
"""

import math

import numpy

from ... import backend, random
from ...errors import InvalidArgumentError
from ...tensor import Tensor


def to_host(t):
    return t.numpy() if isinstance(t, Tensor) else numpy.asarray(t)


def _is_dataset(x):
    from ...data import Dataset

    return isinstance(x, Dataset)


def unpack(data):
    """(x, y, sample_weight) from a batch that is x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
    return data, None, None


def _map(fn, x):
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: fn(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(fn(v) for v in x)
    return fn(x)


def _leaves(x):
    if x is None:
        return []
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def num_samples(x):
    leaves = _leaves(x)
    if not leaves:
        raise ValueError("no input data given (x is None)")
    return len(leaves[0])


def _prepare(a, dtype):
    a = to_host(a)
    if a.dtype.kind == "f" and a.dtype != dtype:
        a = a.astype(dtype)
    return a


class ArrayBatches:
    """Batches of in-memory arrays."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle, steps, dtype):
        self.x = _map(lambda a: _prepare(a, dtype), x)
        self.y = _map(lambda a: _prepare(a, dtype), y)
        self.sw = _map(lambda a: _prepare(a, dtype), sample_weight)
        self.n = num_samples(self.x)
        for name, part in (("x", self.x), ("y", self.y), ("sample_weight", self.sw)):
            for leaf in _leaves(part):
                if len(leaf) != self.n:
                    raise InvalidArgumentError(
                        f"Data cardinality is ambiguous: x has {self.n} samples but {name} has "
                        f"{len(leaf)}; make sure all arrays contain the same number of samples"
                    )
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps = min(steps, math.ceil(self.n / batch_size)) if steps else math.ceil(
            self.n / batch_size)

    def epoch(self):
        order = random.global_generator().permutation(self.n) if self.shuffle else None
        bs = self.batch_size
        xp = backend.xp

        def take(a, sel):
            b = a[sel]
            # a shuffled batch is a fresh gather only tapegrad holds; a slice is the caller's
            return Tensor(backend.owned(b) if order is not None and xp is numpy else xp.asarray(b))

        for i in range(self.steps):
            sel = order[i * bs:(i + 1) * bs] if order is not None else slice(i * bs, (i + 1) * bs)
            xb = _map(lambda a: take(a, sel), self.x)
            if self.y is None:
                yield (xb,)
            elif self.sw is None:
                yield xb, _map(lambda a: take(a, sel), self.y)
            else:
                yield xb, _map(lambda a: take(a, sel), self.y), _map(lambda a: take(a, sel),
                                                                     self.sw)


class DatasetBatches:
    """Batches from a tapegrad.data.Dataset (already batched by the user)."""

    def __init__(self, dataset, steps):
        self.dataset = dataset
        self._iterator = None
        # Keras: with steps_per_epoch the iterator carries on across epochs; without it each
        # epoch is one full pass over the dataset
        self._continue = bool(steps)
        if steps:
            self.steps = steps
        else:
            try:
                n = int(dataset.cardinality())
            except (TypeError, ValueError):
                n = -2
            self.steps = n if n >= 0 else None

    def epoch(self):
        if not self._continue or self._iterator is None:
            self._iterator = iter(self.dataset)
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                return
            count += 1
            yield batch if isinstance(batch, tuple) else (batch,)


def as_batches(x, y, sample_weight, batch_size, shuffle, steps=None, dtype=None):
    dtype = dtype or backend.floatx
    if _is_dataset(x):
        if y is not None:
            raise ValueError("`y` must not be given when x is a Dataset (it yields (x, y) pairs)")
        return DatasetBatches(x, steps)
    if x is None:
        raise ValueError("no input data given (x is None)")
    return ArrayBatches(x, y, sample_weight, batch_size, shuffle, steps, dtype)


def split_validation(x, y, sample_weight, fraction):
    """Keras' validation_split: the LAST `fraction` of the arrays, taken before shuffling."""
    if _is_dataset(x):
        raise ValueError("validation_split is not supported with a Dataset; pass "
                         "validation_data instead")
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    n = num_samples(x)
    cut = int(n * (1 - fraction))

    def head(a):
        return to_host(a)[:cut]

    def tail(a):
        return to_host(a)[cut:]

    train = (_map(head, x), _map(head, y), _map(head, sample_weight))
    val = (_map(tail, x), _map(tail, y)) + ((_map(tail, sample_weight),)
                                            if sample_weight is not None else ())
    return train, val
