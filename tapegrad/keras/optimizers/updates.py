"""In-place array updates with copy-on-write, and gradient clipping, for the optimizers.

A GradientTape marks the arrays it saved as read-only. Writing into one would corrupt a gradient
still to be taken, so the helpers write in place only into an array that nothing but its Variable
holds, and otherwise move the variable to a new array (the tape keeps the value it saw).
"""

import math
import sys

import numpy

from ... import backend
from ...errors import InvalidArgumentError


def writeable(a):
    """Whether `a` may be written in place (CuPy arrays have no flag and are never frozen):
    for an optimizer's own slots, which no tape sees."""
    return getattr(a.flags, "writeable", True)


def _in_place(a):
    """Whether a model variable's array may be updated in place: a NumPy array that owns its
    memory and that nothing refers to but its Variable (see `_sole_reference`). A Tensor or
    view that aliases it keeps its value, and so does a tape that saved (and froze) it while
    that tape is alive; once the tape is done, the array is writeable again. A CuPy array
    has no read-only flag to say whether a tape saved it, so a GPU variable always moves to
    a new array (CuPy's pool makes that cheap)."""
    if a.__class__ is not numpy.ndarray or a.base is not None or not _SOLE:
        return False
    if sys.getrefcount(a) > _SOLE:
        return False
    if not a.flags.writeable:
        a.flags.writeable = True   # (it owns its memory: the flag may be set back)
    return True


def _refs_in_update(a):
    return sys.getrefcount(a)


def _sole_reference():
    """How many references `sys.getrefcount` sees inside `_in_place` when the array is held
    only by its Variable (the attribute, the caller's and _in_place's name for it, the call's
    argument), measured through a call path of the same shape (a holder's attribute, a
    local, a parameter); 0 (never reuse a frozen array) where reference counts do not track
    holders one for one.

    Writing into an array that no tape, Tensor or view holds is invisible to everyone: that
    is when an optimizer may skip the copy. Reusing the arrays a finished tape froze made
    seed 001's step 3-8% faster (in-process A/Bs): a fresh 1.6 MB weight array every step also
    made the next step's products slower."""
    if not hasattr(sys, "getrefcount"):
        return 0

    class Holder:
        __slots__ = ("value",)

    def through(holder):
        a = holder.value
        return _refs_in_update(a)

    h = Holder()
    h.value = numpy.empty(1)
    alone = through(h)
    extra = h.value  # noqa: F841 - a second holder must add exactly one
    if through(h) != alone + 1:
        return 0
    return alone


_SOLE = _sole_reference()


def storage(var):
    """`var`'s array, ready for in-place writes: a read-only one is replaced by a copy first."""
    a = var.value
    if not writeable(a):
        a = var.value = a.copy()
    return a


def subtract_from(var, update):
    """var -= update: in place when var's array is writeable, else into a new array."""
    a = var.value
    if _in_place(a):
        a -= update
    else:
        var.value = a - update


# An update `var -= scale * g` over a large array runs block by block through a small scratch
# array, so that each scaled block is still in the core's cache when it is subtracted, instead
# of one more array the size of the weights streamed through memory (seed 001's 784x512
# layer: the training step 7-17% faster in in-process A/Bs).
BLOCK_ELEMENTS = 1 << 15


def subtract_scaled(var, g, scale, block):
    """var -= scale * g in place, block by block through `block(dtype)` (a writeable flat
    array of BLOCK_ELEMENTS elements); returns False, changing nothing, unless var's array is
    a large NumPy array that may be written in place (`_in_place`) and g is contiguous."""
    a = var.value
    n = BLOCK_ELEMENTS
    if not (a.size > n and g.__class__ is numpy.ndarray and g.flags.c_contiguous
            and _in_place(a)):
        return False
    flat, gflat, buf = a.reshape(-1), g.reshape(-1), block(a.dtype)
    for lo in range(0, flat.size, n):
        part = gflat[lo:lo + n]
        tmp = buf[:part.size]
        numpy.multiply(part, scale, out=tmp)
        flat[lo:lo + n] -= tmp
    return True


def add_to(var, update):
    """var += update, copy-on-write like `subtract_from`."""
    a = var.value
    if _in_place(a):
        a += update
    else:
        var.value = a + update


def scale_by(var, factor):
    """var *= factor, copy-on-write like `subtract_from`."""
    a = var.value
    if _in_place(a):
        a *= factor
    else:
        var.value = a * factor


def assign(var, value):
    """Set `var` to `value` (an array or number of its shape, cast to its dtype), in place when
    writeable. Unlike Variable.assign it also runs on CuPy, whose arrays have no writeable flag."""
    target = var.value
    a = backend.namespace(target).asarray(value)
    if a.shape != target.shape:
        raise InvalidArgumentError(f"cannot restore '{var.name}': the value has shape "
                                   f"{tuple(a.shape)}, the variable {tuple(target.shape)}")
    a = a.astype(target.dtype, copy=False)
    if writeable(target):
        target[...] = a
    else:
        var.value = a.copy() if a is value else a


# Flushing optimizer state out of the subnormal range. The state of an entry whose gradient stays
# zero (the weights of a dead ReLU unit) decays geometrically: Adam's m by beta_1 = 0.9 a step
# reaches float32's subnormal numbers (below 1.2e-38) within ~800 steps and stays there ~150
# more, and x86 arithmetic on subnormals is tens of times slower. A seed 000 model training
# on Fashion-MNIST has tens of thousands such entries: its NumPy step ran 2-2.5x slower.
# TensorFlow runs its kernels with flush-to-zero; NumPy has no such switch, so every
# FLUSH_EVERY steps the optimizer zeroes slot entries smaller than 2**8 x the dtype's smallest
# normal number, which a state decaying by any factor >= 0.5 a step reaches before it can
# become subnormal. Zeroing a number that small changes no update a float can represent.
FLUSH_EVERY = 8
_FLUSH_BELOW = {numpy.dtype(t): float(numpy.finfo(t).tiny) * 2.0**8
                for t in (numpy.float32, numpy.float64)}


def flush_subnormal(a):
    """Zero the entries of NumPy float32/float64 array `a` (an optimizer's slot, written in
    place) whose magnitude is below 2**8 x the dtype's smallest normal number."""
    below = _FLUSH_BELOW.get(a.dtype) if a.__class__ is numpy.ndarray else None
    if below is not None and a.flags.writeable:
        # times the keep-mask, in place: 3.5x faster than copyto(where=) (a seed 000 step
        # spent 11% of its time here); a flushed negative entry becomes -0.0, NaN stays NaN
        numpy.multiply(a, numpy.abs(a) >= below, out=a)


def clip_gradients(arrays, clipnorm=None, global_clipnorm=None, clipvalue=None):
    """Keras' clipping: each gradient to norm <= clipnorm, or all together to global norm <=
    global_clipnorm, or each element to [-clipvalue, clipvalue]. New arrays where clipped."""
    if clipnorm is not None and clipnorm > 0:
        return [_clip_by_norm(g, float(clipnorm)) for g in arrays]
    if global_clipnorm is not None and global_clipnorm > 0:
        clip = float(global_clipnorm)
        norm = math.sqrt(sum(_squared_norm(g) for g in arrays))
        if norm > clip:
            return [g * (clip / norm) for g in arrays]
    elif clipvalue is not None and clipvalue > 0:
        c = float(clipvalue)
        return [backend.namespace(g).clip(g, -c, c) for g in arrays]
    return arrays


def _squared_norm(g):
    if g.dtype.itemsize < 4:
        g = g.astype(numpy.float32)
    flat = g.ravel()
    return float(backend.namespace(g).vdot(flat, flat))


def _clip_by_norm(g, clip):
    norm = math.sqrt(_squared_norm(g))
    return g * (clip / norm) if norm > clip else g


__all__ = ["add_to", "assign", "clip_gradients", "flush_subnormal", "scale_by", "storage",
           "subtract_from", "subtract_scaled", "writeable"]
