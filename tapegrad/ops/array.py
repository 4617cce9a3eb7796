"""Shape and indexing ops: reshape, transpose, concat, slicing, gather, tile, pad, cast, …"""

import numpy

from .. import backend
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from .core import op, sum_to, to_device_of


def _xp():
    return backend.xp


def _static(v):
    """Plain Python data for a static argument that may arrive as a Tensor."""
    if isinstance(v, Tensor):
        return v.numpy().tolist()
    if isinstance(v, (list, tuple)):
        return tuple(int(d) if isinstance(d, (Tensor, numpy.integer)) else d for d in v)
    return v


@op("reshape")
def _reshape(x, shape=()):
    try:
        return x.reshape(shape)
    except ValueError:
        raise InvalidArgumentError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into "
            f"shape {tuple(shape)}; the new shape must hold the same number of elements "
            "(use -1 for one dimension to infer it)"
        ) from None


@_reshape.vjp
def _(g, out, x, shape=()):
    return _reshape(g, shape=x.value.shape)


def reshape(tensor, shape, name=None):
    shape = _static(shape)
    shape = (shape,) if isinstance(shape, int) else tuple(-1 if d is None else d for d in shape)
    return _reshape(tensor, shape=shape)


@op("transpose")
def _transpose(x, perm=None):
    return _xp().transpose(x, perm)


@_transpose.vjp
def _(g, out, x, perm=None):
    inverse = None if perm is None else tuple(numpy.argsort(perm))
    return _transpose(g, perm=inverse)


def transpose(a, perm=None, conjugate=False, name=None):
    return _transpose(a, perm=None if perm is None else tuple(_static(perm)))


def squeeze(input, axis=None, name=None):  # noqa: A002 - TensorFlow's name
    x = convert_to_tensor(input)
    shape = tuple(x.value.shape)
    if axis is None:
        new = tuple(d for d in shape if d != 1)
    else:
        axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
        for a in axes:
            if shape[a] != 1:
                raise InvalidArgumentError(
                    f"squeeze: cannot squeeze axis {a} of shape {shape}: its size is not 1"
                )
        new = tuple(d for i, d in enumerate(shape) if i not in axes)
    return _reshape(x, shape=new)


def expand_dims(input, axis, name=None):  # noqa: A002
    x = convert_to_tensor(input)
    shape = list(x.value.shape)
    axis = int(axis)
    shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
    return _reshape(x, shape=tuple(shape))


@op("broadcast_to")
def _broadcast_to(x, shape=()):
    xp = _xp()
    if len(shape) == 1 and x.ndim <= 1 and shape[0] <= 65536:
        # A small vector (a reduction's gradient, every step): filling a new array costs a
        # seventh of making the read-only broadcast view.
        try:
            out = xp.empty(shape, dtype=x.dtype)
            out[...] = x
            return out
        except ValueError:
            pass  # not broadcastable: let broadcast_to say so
    return xp.broadcast_to(x, shape)


@_broadcast_to.vjp
def _(g, out, x, shape=()):
    return sum_to(g, x.value.shape)


def broadcast_to(input, shape, name=None):  # noqa: A002
    return _broadcast_to(input, shape=tuple(_static(shape)))


@op("concat")
def _concat(*xs, axis=0):
    return _xp().concatenate(xs, axis=axis)


@_concat.vjp
def _(g, out, *xs, axis=0):
    bounds = numpy.cumsum([x.value.shape[axis] for x in xs])[:-1]
    return tuple(_split_at(g, bounds, axis))


def _split_at(x, bounds, axis):
    starts = [0] + list(bounds)
    ends = list(bounds) + [x.value.shape[axis]]
    nd = x.value.ndim
    axis = axis % nd
    return [x[(slice(None),) * axis + (slice(int(s), int(e)),)] for s, e in zip(starts, ends)]


def concat(values, axis, name=None):
    values = [convert_to_tensor(v) if not isinstance(v, Tensor) else v for v in values]
    if not values:
        raise InvalidArgumentError("concat: needs at least one tensor")
    nd = values[0].value.ndim
    for v in values:
        if v.value.ndim != nd or any(
            a != b for i, (a, b) in enumerate(zip(v.value.shape, values[0].value.shape))
            if i != axis % max(nd, 1)
        ):
            shapes = [tuple(t.value.shape) for t in values]
            raise InvalidArgumentError(
                f"concat: shapes {shapes} must match in every dimension except axis {axis}"
            )
    return _concat(*values, axis=axis)


@op("stack")
def _stack(*xs, axis=0):
    return _xp().stack(xs, axis=axis)


@_stack.vjp
def _(g, out, *xs, axis=0):
    return tuple(unstack(g, axis=axis))


def stack(values, axis=0, name=None):
    values = [convert_to_tensor(v) if not isinstance(v, Tensor) else v for v in values]
    shapes = {tuple(v.value.shape) for v in values}
    if len(shapes) > 1:
        raise InvalidArgumentError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return _stack(*values, axis=axis)


def unstack(value, num=None, axis=0, name=None):
    x = convert_to_tensor(value)
    nd = x.value.ndim
    axis = axis % nd
    return [x[(slice(None),) * axis + (i,)] for i in range(x.value.shape[axis])]


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    x = convert_to_tensor(value)
    n = x.value.shape[axis]
    if isinstance(num_or_size_splits, int):
        if n % num_or_size_splits:
            raise InvalidArgumentError(
                f"split: dimension {axis} of size {n} does not divide into {num_or_size_splits}"
            )
        sizes = [n // num_or_size_splits] * num_or_size_splits
    else:
        sizes = list(_static(num_or_size_splits))
        if -1 in sizes:
            sizes[sizes.index(-1)] = n - (sum(sizes) + 1)
        if sum(sizes) != n:
            raise InvalidArgumentError(f"split: sizes {sizes} do not add up to dimension {n}")
    return _split_at(x, numpy.cumsum(sizes)[:-1], axis)


def _index_key(key):
    """A static indexing key: Tensors become arrays, lists stay fancy indices."""
    if isinstance(key, tuple):
        return tuple(_index_key(k) for k in key)
    if isinstance(key, Tensor):
        return key.value
    if isinstance(key, list):
        return _xp().asarray(key)
    return key


@op("getitem")
def _getitem(x, key=None):
    try:
        return x[key]
    except IndexError as e:
        raise InvalidArgumentError(
            f"slicing: index {key!r} is out of range for a tensor of shape {x.shape} ({e})"
        ) from None


@_getitem.vjp
def _(g, out, x, key=None):
    return _scatter_add(g, key=key, shape=x.value.shape)


@op("scatter_into_zeros")
def _scatter_add(g, key=None, shape=()):
    xp = _xp()
    z = xp.zeros(shape, dtype=g.dtype)
    if _is_basic(key):
        z[key] = g
    else:
        xp.add.at(z, key, g)  # repeated fancy indices must accumulate
    return z


@_scatter_add.vjp
def _(g, out, x, key=None, shape=()):
    return _getitem(g, key=key)


def _is_basic(key):
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice, numpy.integer))
               for k in keys)


def getitem(x, key):
    return _getitem(x, key=_index_key(key))


@op("gather", same_dtype=False)
def _gather(params, indices, axis=0):
    n = params.shape[axis]
    if indices.size and (indices.max() >= n or indices.min() < -n):
        raise InvalidArgumentError(
            f"gather: indices must be in [0, {n}) for axis {axis} of shape {params.shape}, got "
            f"values from {int(indices.min())} to {int(indices.max())}"
        )
    return _xp().take(params, indices, axis=axis)


@_gather.vjp
def _(g, out, params, indices, axis=0):
    axis = axis % params.value.ndim
    key = (slice(None),) * axis + (indices.value,)
    return _scatter_add(g, key=key, shape=params.value.shape), None


def gather(params, indices, axis=None, batch_dims=0, name=None):
    indices = indices if isinstance(indices, Tensor) else convert_to_tensor(indices)
    if indices.dtype.kind not in "iu":
        raise InvalidArgumentError(f"gather: indices must be integers, got {indices.dtype.name}")
    if batch_dims:
        raise NotImplementedError(  # ignoring it would silently gather the wrong elements
            f"gather: batch_dims={batch_dims} is not supported; use batch_dims=0, e.g. on "
            "the batch flattened into the gathered axis"
        )
    return _gather(params, indices, axis=0 if axis is None else int(axis))


@op("tile")
def _tile(x, multiples=()):
    return _xp().tile(x, multiples)


@_tile.vjp
def _(g, out, x, multiples=()):
    # Fold each tiled axis into (multiple, size) and sum the copies.
    split_shape = []
    for m, d in zip(multiples, x.value.shape):
        split_shape += [m, d]
    folded = reshape(g, split_shape)
    from .math import reduce_sum

    return reduce_sum(folded, axis=tuple(range(0, 2 * len(multiples), 2)))


def tile(input, multiples, name=None):  # noqa: A002
    multiples = tuple(int(m) for m in _static(multiples))
    x = convert_to_tensor(input)
    if len(multiples) != x.value.ndim:
        raise InvalidArgumentError(
            f"tile: multiples {multiples} needs one entry per dimension of shape "
            f"{tuple(x.value.shape)}"
        )
    return _tile(x, multiples=multiples)


@op("pad")
def _pad(x, paddings=(), constant_values=0):
    return _xp().pad(x, paddings, constant_values=constant_values)


@_pad.vjp
def _(g, out, x, paddings=(), constant_values=0):
    key = tuple(slice(lo, lo + d) for (lo, _), d in zip(paddings, x.value.shape))
    return _getitem(g, key=key)


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    if mode.upper() != "CONSTANT":
        raise NotImplementedError(f"pad: mode {mode!r} (only 'CONSTANT' is supported)")
    paddings = tuple(tuple(int(a) for a in p) for p in _static(paddings))
    return _pad(tensor, paddings=paddings, constant_values=constant_values)


@op("reverse")
def _reverse(x, axis=()):
    return _xp().flip(x, axis)


@_reverse.vjp
def _(g, out, x, axis=()):
    return _reverse(g, axis=axis)


def reverse(tensor, axis, name=None):
    return _reverse(tensor, axis=tuple(_static(axis)))


@op("identity")
def identity(x):
    """x, or under `tf.device` a copy of x on that device: the explicit move."""
    return backend.asarray(x) if backend.cupy is not None else x


@identity.vjp
def _(g, out, x):
    return to_device_of(g, x)


@op("stop_gradient", differentiable=False)
def stop_gradient(x):
    """The same values, but no gradient flows back through it."""
    return x


@op("cast", same_dtype=False)
def _cast(x, dtype=None):
    return x.astype(dtype, copy=False)


@_cast.vjp
def _(g, out, x, dtype=None):
    return _cast(g, dtype=x.dtype) if x.dtype.kind == "f" else None


def cast(x, dtype, name=None):
    dtype = backend.as_dtype(dtype)
    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if x.value.dtype == dtype:
        return x
    if dtype.kind == "f" and x.dtype.kind == "f":
        return _cast(x, dtype=dtype)
    return Tensor(x.value.astype(dtype))  # to or from integers: no gradient, as in TF


@op("one_hot", differentiable=False)
def _one_hot(indices, depth=0, on_value=1.0, off_value=0.0, dtype=None):
    xp = _xp()
    hot = indices[..., None] == xp.arange(depth)  # out-of-range rows are all off, as in TF
    if on_value == 1 and off_value == 0:
        return hot.astype(dtype)
    return xp.where(hot, xp.asarray(on_value, dtype), xp.asarray(off_value, dtype))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    dtype = backend.as_dtype(dtype) or backend.float32
    indices = indices if isinstance(indices, Tensor) else convert_to_tensor(indices)
    out = _one_hot(indices, depth=int(depth), on_value=1 if on_value is None else on_value,
                   off_value=0 if off_value is None else off_value, dtype=dtype)
    if axis is not None and axis != -1:  # TF's `axis`: where the new (depth) axis goes
        out = Tensor(_xp().moveaxis(out.value, -1, axis))
    return out


# ---------------------------------------------------------------- creation (no gradient)


def _shape(shape):
    shape = _static(shape)
    return (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)


def zeros(shape, dtype=backend.float32, name=None):
    return Tensor(_xp().zeros(_shape(shape), dtype=backend.as_dtype(dtype)))


def ones(shape, dtype=backend.float32, name=None):
    return Tensor(_xp().ones(_shape(shape), dtype=backend.as_dtype(dtype)))


def fill(dims, value, name=None):
    v = convert_to_tensor(value)
    return Tensor(_xp().full(_shape(dims), v.value, dtype=v.dtype))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=backend.float32, name=None):
    e = _xp().eye(num_rows, num_columns, dtype=backend.as_dtype(dtype))
    if batch_shape:
        e = _xp().broadcast_to(e, tuple(batch_shape) + e.shape).copy()
    return Tensor(e)


def range_(start, limit=None, delta=1, dtype=None, name=None):
    """tf.range: like Python's range, as a tensor (exported as `tapegrad.range`)."""
    if limit is None:
        start, limit = 0, start
    vals = [float(v) if isinstance(v, Tensor) else v for v in (start, limit, delta)]
    if dtype is None:
        dtype = backend.float32 if any(isinstance(v, float) for v in vals) else backend.int32
    return Tensor(_xp().arange(*vals, dtype=backend.as_dtype(dtype)))


def linspace(start, stop, num, name=None, axis=0):
    return Tensor(_xp().linspace(float(start), float(stop), int(num), dtype=backend.float32))


def shape(input, out_type=backend.int32, name=None):  # noqa: A002
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return Tensor(_xp().asarray(x.value.shape, dtype=backend.as_dtype(out_type)))


def size(input, out_type=backend.int32, name=None):  # noqa: A002
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return Tensor(_xp().asarray(x.value.size, dtype=backend.as_dtype(out_type)))


def rank(input, name=None):  # noqa: A002
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return Tensor(_xp().asarray(x.value.ndim, dtype=backend.int32))
