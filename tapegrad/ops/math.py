"""Elementwise math and reductions, each a forward on arrays and a VJP rule in tapegrad ops."""

import math as _math

import numpy

from .. import backend
from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .array import _broadcast_to, broadcast_to, cast, reshape
from .core import op


def _xp():
    return backend.xp


# ---------------------------------------------------------------- binary arithmetic


@op("add")
def add(x, y):
    xp = _xp()
    if x.size >= backend.PARALLEL_MIN_ELEMENTS and y.ndim < x.ndim and x.dtype == y.dtype and (
            xp.broadcast_shapes(x.shape, y.shape) == x.shape):
        if y.ndim == 1 and x.ndim > 2 and x.flags.c_contiguous:
            rows, tiled = bias_rows(x, y)
            return backend.rowwise(xp.add, rows, tiled).reshape(x.shape)
        return backend.rowwise(xp.add, x, y)  # a bias added to a batch: split over its rows
    return xp.add(x, y)


def bias_rows(x, b):
    """C-contiguous `x` as (batch, rest) rows and the last-axis bias `b` tiled to one row.
    A conv's bias added per pixel restarts a C-long inner loop at every pixel; tiled over
    one whole image the add runs on rows of H*W*C (2x faster)."""
    rows = x.reshape(x.shape[0], -1)
    return rows, (_xp().tile(b, rows.shape[1] // b.size) if x.ndim > 2 else b)


@add.vjp
def _(g, out, x, y):
    return g, g


@op("subtract")
def subtract(x, y):
    return _xp().subtract(x, y)


@subtract.vjp
def _(g, out, x, y):
    return g, -g


@op("multiply")
def multiply(x, y):
    return _xp().multiply(x, y)


@multiply.vjp(needs=True)
def _(g, out, x, y, needs):
    if x is y and needs[0]:  # x * x: both gradients are g * x (the engine adds them)
        gx = g * x
        return gx, gx
    return (g * y if needs[0] else None), (g * x if needs[1] else None)


@op("divide")
def divide(x, y):
    if x.dtype.kind in "iu":  # TF's truediv of integers gives float64
        x, y = x.astype(numpy.float64), y.astype(numpy.float64)
    return _xp().true_divide(x, y)


@divide.vjp(needs=True)
def _(g, out, x, y, needs):
    return (g / y if needs[0] else None), (-g * out / y if needs[1] else None)


@op("pow")
def pow(x, y):  # noqa: A001 - TensorFlow's name
    return _xp().power(x, y)


@pow.vjp(needs=True)
def _(g, out, x, y, needs):
    gx = g * y * x ** (y - 1) if needs[0] else None
    if not needs[1]:
        return gx, None
    # d/dy x**y = x**y log x, defined as 0 where x == 0 (as TF does) to avoid 0 * -inf.
    safe = where(x > 0, x, ones_like(x))
    gy = g * where(x > 0, out * log(safe), zeros_like(x))
    return gx, gy


@op("maximum")
def maximum(x, y):
    return _xp().maximum(x, y)


@maximum.vjp(needs=True)
def _(g, out, x, y, needs):
    return _select_gradients(g, x >= y, needs)  # ties send the gradient to x, as TF does


def _select_gradients(g, m, needs):
    """g where m for the first input, g elsewhere for the second; only the sides that need
    one (a clip's bound is a constant: its select would be thrown away)."""
    zero = zeros_like(g)
    return (where(m, g, zero) if needs[0] else None), (where(m, zero, g) if needs[1] else None)


@op("minimum")
def minimum(x, y):
    return _xp().minimum(x, y)


@minimum.vjp(needs=True)
def _(g, out, x, y, needs):
    return _select_gradients(g, x <= y, needs)


@op("squared_difference")
def squared_difference(x, y):
    d = x - y
    return d * d


@squared_difference.vjp
def _(g, out, x, y):
    d = g * 2 * (x - y)
    return d, -d


@op("floordiv", differentiable=False)
def floordiv(x, y):
    return _xp().floor_divide(x, y)


@op("floormod", differentiable=False)
def floormod(x, y):
    return _xp().mod(x, y)


# ---------------------------------------------------------------- comparisons and logic


def _compare(name, fn):
    def forward(x, y):
        return fn(x, y)

    forward.__name__ = name
    return op(name, differentiable=False)(forward)


equal = _compare("equal", lambda x, y: _xp().equal(x, y))
not_equal = _compare("not_equal", lambda x, y: _xp().not_equal(x, y))
less = _compare("less", lambda x, y: _xp().less(x, y))
less_equal = _compare("less_equal", lambda x, y: _xp().less_equal(x, y))
greater = _compare("greater", lambda x, y: _xp().greater(x, y))
greater_equal = _compare("greater_equal", lambda x, y: _xp().greater_equal(x, y))
logical_and = _compare("logical_and", lambda x, y: _xp().logical_and(x, y))
logical_or = _compare("logical_or", lambda x, y: _xp().logical_or(x, y))


@op("logical_not", differentiable=False)
def logical_not(x):
    return _xp().logical_not(x)


@op("is_nan", differentiable=False)
def is_nan(x):
    return _xp().isnan(x)


@op("is_finite", differentiable=False)
def is_finite(x):
    return _xp().isfinite(x)


@op("sign", differentiable=False)
def sign(x):
    return _xp().sign(x)


@op("floor", differentiable=False)
def floor(x):
    return _xp().floor(x)


@op("ceil", differentiable=False)
def ceil(x):
    return _xp().ceil(x)


@op("round", differentiable=False)
def round(x):  # noqa: A001 - TensorFlow's name
    return _xp().round(x)


# ---------------------------------------------------------------- unary elementwise


@op("negative")
def negative(x):
    return _xp().negative(x)


@negative.vjp
def _(g, out, x):
    return -g


@op("abs")
def abs(x):  # noqa: A001 - TensorFlow's name
    return _xp().abs(x)


@abs.vjp
def _(g, out, x):
    return g * sign(x)


@op("exp")
def exp(x):
    return _xp().exp(x)


@exp.vjp
def _(g, out, x):
    return g * out


@op("expm1")
def expm1(x):
    return _xp().expm1(x)


@expm1.vjp
def _(g, out, x):
    return g * (out + 1)


@op("log")
def log(x):
    return _xp().log(x)


@log.vjp
def _(g, out, x):
    return g / x


@op("log1p")
def log1p(x):
    return _xp().log1p(x)


@log1p.vjp
def _(g, out, x):
    return g / (x + 1)


@op("sqrt")
def sqrt(x):
    return _xp().sqrt(x)


@sqrt.vjp
def _(g, out, x):
    return g / (2 * out)


@op("rsqrt")
def rsqrt(x):
    return 1 / _xp().sqrt(x)


@rsqrt.vjp
def _(g, out, x):
    return g * -0.5 * out / x


@op("square")
def square(x):
    return _xp().square(x)


@square.vjp
def _(g, out, x):
    return g * 2 * x


@op("reciprocal")
def reciprocal(x):
    return _xp().reciprocal(x)


@reciprocal.vjp
def _(g, out, x):
    return -g * out * out


@op("sin")
def sin(x):
    return _xp().sin(x)


@sin.vjp
def _(g, out, x):
    return g * cos(x)


@op("cos")
def cos(x):
    return _xp().cos(x)


@cos.vjp
def _(g, out, x):
    return -g * sin(x)


@op("tan")
def tan(x):
    return _xp().tan(x)


@tan.vjp
def _(g, out, x):
    return g * (1 + out * out)


@op("asin")
def asin(x):
    return _xp().arcsin(x)


@asin.vjp
def _(g, out, x):
    return g * rsqrt(1 - x * x)


@op("acos")
def acos(x):
    return _xp().arccos(x)


@acos.vjp
def _(g, out, x):
    return -g * rsqrt(1 - x * x)


@op("atan")
def atan(x):
    return _xp().arctan(x)


@atan.vjp
def _(g, out, x):
    return g / (1 + x * x)


@op("sinh")
def sinh(x):
    return _xp().sinh(x)


@sinh.vjp
def _(g, out, x):
    return g * cosh(x)


@op("cosh")
def cosh(x):
    return _xp().cosh(x)


@cosh.vjp
def _(g, out, x):
    return g * sinh(x)


@op("tanh")
def tanh(x):
    return _xp().tanh(x)


@tanh.vjp
def _(g, out, x):
    return g * (1 - out * out)


@op("asinh")
def asinh(x):
    return _xp().arcsinh(x)


@asinh.vjp
def _(g, out, x):
    return g * rsqrt(x * x + 1)


@op("atanh")
def atanh(x):
    return _xp().arctanh(x)


@atanh.vjp
def _(g, out, x):
    return g / (1 - x * x)


def _erf_array(x):
    xp = _xp()
    if xp is numpy:
        try:
            from scipy.special import erf as scipy_erf

            return scipy_erf(x).astype(x.dtype, copy=False)
        except ImportError:
            return numpy.vectorize(_math.erf, otypes=[x.dtype])(x)
    from cupyx.scipy.special import erf as cupy_erf

    return cupy_erf(x)


@op("erf")
def erf(x):
    return _erf_array(x)


@erf.vjp
def _(g, out, x):
    return g * (2 / _math.sqrt(_math.pi)) * exp(-x * x)


# ---------------------------------------------------------------- selection


@op("where", same_dtype=False)
def _where(condition, x, y):
    if x.dtype != y.dtype:
        raise InvalidArgumentError(
            f"where: x and y have different dtypes ({x.dtype} and {y.dtype}); cast one with tf.cast"
        )
    return _xp().where(condition, x, y)


@_where.vjp
def _(g, out, condition, x, y):
    z = zeros_like(g)
    return None, _where(condition, g, z), _where(condition, z, g)


def where(condition, x=None, y=None, name=None):
    """Elementwise `x if condition else y` (broadcasting), or the indices of True with one arg."""
    if x is None and y is None:
        c = condition.value if isinstance(condition, Tensor) else _xp().asarray(condition)
        return Tensor(_xp().argwhere(c).astype(numpy.int64))
    if isinstance(x, Tensor) and not isinstance(y, Tensor):
        y = Tensor(_xp().asarray(y, dtype=x.dtype))
    elif isinstance(y, Tensor) and not isinstance(x, Tensor):
        x = Tensor(_xp().asarray(x, dtype=y.dtype))
    return _where(condition, x, y)


@op("zeros_like", differentiable=False)
def _zeros_like(x):
    return _xp().zeros_like(x)


@op("ones_like", differentiable=False)
def _ones_like(x):
    return _xp().ones_like(x)


def zeros_like(x, dtype=None, name=None):
    t = _zeros_like(x)
    return t if dtype is None else Tensor(t.value.astype(backend.as_dtype(dtype)))


def ones_like(x, dtype=None, name=None):
    t = _ones_like(x)
    return t if dtype is None else Tensor(t.value.astype(backend.as_dtype(dtype)))


# ---------------------------------------------------------------- reductions


def _axis(axis):
    if axis is None:
        return None
    if isinstance(axis, Tensor):
        axis = axis.numpy().tolist()
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _keep_shape(shape, axis):
    """The shape a reduction over `axis` has with keepdims=True."""
    nd = len(shape)
    if axis is None:
        return (1,) * nd
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = {a % nd for a in axes} if nd else set()
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


@op("reduce_sum")
def reduce_sum(x, axis=None, keepdims=False):
    axis = _axis(axis)
    lead = _leading_axes(axis, x)
    if lead:
        # Summing over the leading axes (a bias's gradient: every axis but the channels) as
        # ones @ x: BLAS's threaded product is ~4x faster than NumPy's sum there.
        m = 1
        for d in x.shape[:lead]:
            m *= d
        r = _ones(m, x.dtype) @ x.reshape(m, -1)
        return r.reshape(((1,) * lead if keepdims else ()) + x.shape[lead:])
    return x.sum(axis=axis, keepdims=keepdims)


_ones_cache = {}


def _ones(n, dtype):
    buf = _ones_cache.get(dtype)
    if buf is None or len(buf) < n or buf.__class__ is not _xp().ndarray:
        buf = _ones_cache[dtype] = _xp().ones(max(n, 4096), dtype=dtype)
    return buf[:n]


def _leading_axes(axis, x):
    """k when `axis` is (0, ..., k-1) of a large C-contiguous float array with axes left over;
    else 0 (then NumPy's pairwise sum runs)."""
    if axis is None or x.size < 16384 or x.dtype.kind != "f" or x.dtype.itemsize < 4 or (
            not x.flags.c_contiguous):
        return 0
    axes = sorted(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    if axes != list(range(len(axes))) or len(axes) >= x.ndim:
        return 0
    return len(axes)


@reduce_sum.vjp
def _(g, out, x, axis=None, keepdims=False):
    if not keepdims and g.value.ndim:  # a scalar broadcasts as it is
        g = reshape(g, _keep_shape(x.value.shape, _axis(axis)))
    return _broadcast_to(g, shape=x.value.shape)


@op("reduce_mean")
def reduce_mean(x, axis=None, keepdims=False):
    axis = _axis(axis)
    if x.dtype.kind == "f" and x.dtype.itemsize >= 4 and x.size:
        # What ndarray.mean computes (a sum, then one division), without its Python wrapper,
        # which costs more than the arithmetic on a batch of losses.
        total = x.sum(axis=axis, keepdims=keepdims)
        return total / (x.size // total.size)
    r = x.mean(axis=axis, keepdims=keepdims)
    return r.astype(x.dtype, copy=False) if x.dtype.kind == "f" else r.astype(x.dtype)


@reduce_mean.vjp
def _(g, out, x, axis=None, keepdims=False):
    count = max(x.value.size, 1) // max(out.value.size, 1)
    if not keepdims and g.value.ndim:
        g = reshape(g, _keep_shape(x.value.shape, _axis(axis)))
    return broadcast_to(g / count, x.value.shape)


def _extreme_vjp(g, out, x, axis, keepdims):
    # The gradient is shared equally by tied extremes, as TensorFlow's reduce_max does.
    shape = _keep_shape(x.value.shape, _axis(axis))
    if not keepdims:
        g, out = reshape(g, shape), reshape(out, shape)
    mask = cast(equal(x, out), x.dtype)
    count = reduce_sum(mask, axis=_axis(axis), keepdims=True)
    return g * mask / count


@op("reduce_max")
def reduce_max(x, axis=None, keepdims=False):
    return x.max(axis=_axis(axis), keepdims=keepdims)


@reduce_max.vjp
def _(g, out, x, axis=None, keepdims=False):
    return _extreme_vjp(g, out, x, axis, keepdims)


@op("reduce_min")
def reduce_min(x, axis=None, keepdims=False):
    return x.min(axis=_axis(axis), keepdims=keepdims)


@reduce_min.vjp
def _(g, out, x, axis=None, keepdims=False):
    return _extreme_vjp(g, out, x, axis, keepdims)


@op("reduce_prod")
def reduce_prod(x, axis=None, keepdims=False):
    return x.prod(axis=_axis(axis), keepdims=keepdims)


@reduce_prod.vjp
def _(g, out, x, axis=None, keepdims=False):
    # prod / x_i, written without dividing so that zeros in x are handled: the product of the
    # other elements is exclusive-cumprod from the left times exclusive-cumprod from the right.
    shape = _keep_shape(x.value.shape, _axis(axis))
    if not keepdims:
        g = reshape(g, shape)
    return g * _prod_of_others(x, _axis(axis))


@op("prod_of_others")
def _prod_of_others(x, axis=None):
    xp = _xp()
    axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = sorted({a % x.ndim for a in axes})
    rest = [a for a in range(x.ndim) if a not in axes]
    perm = rest + axes
    xt = xp.transpose(x, perm)
    lead = xt.shape[: len(rest)]
    flat = xt.reshape(lead + (-1,))
    ones = xp.ones(lead + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(
        xp.cumprod(xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1
    )
    res = (left * right).reshape(xt.shape)
    return xp.transpose(res, numpy.argsort(perm))


@_prod_of_others.vjp
def _(g, out, x, axis=None):
    # d(prod_{j!=i} x_j)/dx_k = prod_{j!=i,k} x_j; for a teaching framework the O(n^2) form of
    # this second derivative is not worth it: it is computed from the first-order identity
    # sum_i g_i * out_i / x_k for k != i, valid where x is nonzero.
    total = reduce_sum(g * out, axis=axis, keepdims=True)
    return (total - g * out) / x


@op("reduce_logsumexp")
def reduce_logsumexp(x, axis=None, keepdims=False):
    xp = _xp()
    ax = _axis(axis)
    m = x.max(axis=ax, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    r = xp.log(xp.exp(x - m).sum(axis=ax, keepdims=True)) + m
    return r if keepdims else xp.squeeze(r, axis=ax) if ax is not None else r.reshape(())


@reduce_logsumexp.vjp
def _(g, out, x, axis=None, keepdims=False):
    shape = _keep_shape(x.value.shape, _axis(axis))
    if not keepdims:
        g, out = reshape(g, shape), reshape(out, shape)
    return g * exp(x - out)


@op("cumsum")
def cumsum(x, axis=0, exclusive=False, reverse=False):
    xp = _xp()
    if reverse:
        x = xp.flip(x, axis)
    r = xp.cumsum(x, axis=axis)
    if exclusive:
        r = r - x
    return xp.flip(r, axis) if reverse else r


@cumsum.vjp
def _(g, out, x, axis=0, exclusive=False, reverse=False):
    return cumsum(g, axis=axis, exclusive=exclusive, reverse=not reverse)


@op("argmax", differentiable=False)
def _argmax(x, axis=0):
    return _xp().argmax(x, axis=axis).astype(numpy.int64)


@op("argmin", differentiable=False)
def _argmin(x, axis=0):
    return _xp().argmin(x, axis=axis).astype(numpy.int64)


def argmax(input, axis=None, output_type=numpy.int64, name=None):  # noqa: A002 - TF's name
    """Index of the largest value along `axis` (0 by default, as in TensorFlow)."""
    r = _argmax(input, axis=0 if axis is None else int(axis))
    return r if output_type is None else Tensor(r.value.astype(backend.as_dtype(output_type)))


def argmin(input, axis=None, output_type=numpy.int64, name=None):  # noqa: A002
    r = _argmin(input, axis=0 if axis is None else int(axis))
    return r if output_type is None else Tensor(r.value.astype(backend.as_dtype(output_type)))
