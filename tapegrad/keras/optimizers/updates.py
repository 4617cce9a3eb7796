"""In-place array updates with copy-on-write, and gradient clipping, for the optimizers.

A GradientTape marks the arrays it saved as read-only. Writing into one would corrupt a gradient
still to be taken, so the helpers write in place only into writeable arrays and otherwise move the
variable to a new array (the tape keeps the value it saw).
"""

import math

import numpy

from ... import backend
from ...errors import InvalidArgumentError


def writeable(a):
    """Whether `a` may be written in place (CuPy arrays have no flag and are never frozen):
    for an optimizer's own slots, which no tape sees."""
    return getattr(a.flags, "writeable", True)


def _in_place(a):
    """Whether a model variable's array may be updated in place: a NumPy array no tape froze.
    A CuPy array has no read-only flag to say whether a tape saved it, so a GPU variable
    always moves to a new array (CuPy's memory pool makes that cheap)."""
    return isinstance(a, numpy.ndarray) and a.flags.writeable


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


__all__ = ["add_to", "assign", "clip_gradients", "scale_by", "storage", "subtract_from", "writeable"]
