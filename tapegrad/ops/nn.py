"""Activations, softmax and fused cross-entropies, conv2d (im2col + one GEMM) and pooling."""

import math as _math
import weakref

import numpy

from .. import backend, kernels
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from .array import cast, expand_dims, one_hot
from .core import op
from .math import bias_rows, erf, exp, reduce_sum, where, zeros_like


def _xp():
    return backend.xp


# ---------------------------------------------------------------- activations


# A ReLU followed by a max-pool (every conv block of seed 003): the pool's gradient is g at
# each window's maximum and 0 elsewhere, and the ReLU's gradient then zeroes the positions
# where the ReLU was inactive, a full pass over the (4x larger) pre-pool array. At a window's
# maximum the ReLU was inactive exactly when that maximum is 0, so the pool can apply the mask
# to g itself, on the pooled array, and the ReLU's rule can pass the result on unchanged. The
# ReLU output's own cotangent is then not d/dx of the pool: only done where nothing else sees
# it (not a source of the gradient, no explain norms: tape.cotangent_is_private).
# `_relu_outputs` names the (4-d, NumPy) arrays a ReLU made; `_masked` the last gradient a
# pool sent back already masked, with the ReLU output it was masked for (weak references).
_relu_outputs = weakref.WeakValueDictionary()
_masked = [None, None]


def _note_relu_output(out):
    if out.ndim == 4 and out.__class__ is numpy.ndarray:
        _relu_outputs[id(out)] = out
    return out


def is_relu_output(a):
    """Whether array `a` was made by relu or bias_relu (4-d NumPy arrays only)."""
    return _relu_outputs.get(id(a)) is a


def note_relu_masked(g, out):
    """Gradient array `g` for ReLU output `out` is already 0 wherever `out` is 0."""
    _masked[0], _masked[1] = weakref.ref(g), weakref.ref(out)


@op("relu")
def relu(x):
    if x.__class__ is numpy.ndarray and x.dtype.kind == "f":   # (see backend.zeros_of)
        return _note_relu_output(
            backend.rowwise(numpy.maximum, x, backend.zeros_of(x.shape, x.dtype)))
    return backend.rowwise(_xp().maximum, x, x.dtype.type(0))


@relu.vjp
def _(g, out, x):
    return _relu_grad(out, g)


@op("relu_grad")
def _relu_grad(out, g):
    """g where the ReLU was active, as TensorFlow's ReluGrad computes it: g * (out > 0).
    A product, not `where`: NumPy's where branches per element and is ~10x slower on the
    random masks a ReLU makes (ReLU is in every hot path)."""
    xp = _xp()
    if _masked[0] is not None and _masked[0]() is g and _masked[1]() is out:
        return g  # a max-pool's gradient, masked already (see _relu_outputs)
    if kernels.available(xp) and g.shape == out.shape:
        return kernels.relu_grad(g, out)
    if g.shape != out.shape:
        return xp.multiply(g, out > 0)
    return backend.rowwise(lambda g_, out_, **kw: xp.multiply(g_, out_ > 0, **kw), g, out)


@_relu_grad.vjp
def _(gg, out_, out, g):
    return None, _relu_grad(out, gg)


@op("bias_relu")
def _bias_relu(x, b):
    """relu(x + b) for a bias `b` along the last axis, in one op: the sum is made once and the
    ReLU applied in place on it (a Dense or Conv2D layer's bias and activation): ~40% less
    time than an add and a relu at batch 32 of seed 003's first convolution."""
    xp = _xp()
    if b.ndim != 1 or x.ndim < 1 or x.shape[-1] != b.shape[0]:
        raise InvalidArgumentError(
            f"bias_relu: the bias {tuple(b.shape)} must be one value per channel of the last "
            f"axis of the input {tuple(x.shape)}")
    if xp is not numpy or x.dtype.kind != "f":
        return xp.maximum(x + b, 0)
    if x.size < backend.PARALLEL_MIN_ELEMENTS or not x.flags.c_contiguous or x.ndim < 2:
        out = numpy.add(x, b)
        return _note_relu_output(
            numpy.maximum(out, backend.zeros_of(out.shape, out.dtype), out=out))
    n = x.shape[0]
    rows, b = bias_rows(x, b)
    out = xp.empty_like(rows)

    def part(lo, hi):
        o = out[lo:hi]
        numpy.add(rows[lo:hi], b, out=o)
        numpy.maximum(o, backend.zeros_of(o.shape, o.dtype), out=o)  # (see relu)

    backend.over_rows(part, n, x.size)
    return _note_relu_output(out.reshape(x.shape))


@_bias_relu.vjp
def _(g, out, x, b):
    gy = _relu_grad(out, g)
    return gy, gy  # (the engine sums the bias's share over the leading axes)


def bias_relu(x, b):
    """relu(x + b): a layer's bias and ReLU as one op."""
    return _bias_relu(x, b)


@op("relu6")
def relu6(x):
    return _xp().clip(x, 0, 6)


@relu6.vjp
def _(g, out, x):
    return where((x > 0) & (x < 6), g, zeros_like(g))


@op("leaky_relu")
def leaky_relu(x, alpha=0.2):
    return _xp().where(x > 0, x, x * x.dtype.type(alpha))


@leaky_relu.vjp
def _(g, out, x, alpha=0.2):
    return where(x > 0, g, g * alpha)


@op("elu")
def elu(x):
    return _xp().where(x > 0, x, _xp().expm1(_xp().minimum(x, 0)))


@elu.vjp
def _(g, out, x):
    return where(x > 0, g, g * (out + 1))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@op("selu")
def selu(x):
    xp = _xp()
    neg = _SELU_ALPHA * xp.expm1(xp.minimum(x, 0))
    return (_SELU_SCALE * xp.where(x > 0, x, neg)).astype(x.dtype, copy=False)


@selu.vjp
def _(g, out, x):
    return where(x > 0, g * _SELU_SCALE, g * (out + _SELU_SCALE * _SELU_ALPHA))


@op("sigmoid")
def sigmoid(x):
    xp = _xp()
    # Stable for large |x|: exp of a non-positive number only.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


@sigmoid.vjp
def _(g, out, x):
    return g * out * (1 - out)


@op("softplus")
def softplus(x):
    xp = _xp()
    return xp.logaddexp(x, xp.zeros((), dtype=x.dtype))


@softplus.vjp
def _(g, out, x):
    return g * sigmoid(x)


@op("softsign")
def softsign(x):
    return x / (1 + _xp().abs(x))


@softsign.vjp
def _(g, out, x):
    from .math import abs as abs_

    d = 1 + abs_(x)
    return g / (d * d)


def swish(features, beta=1.0, name=None):
    x = features
    return x * sigmoid(x * beta) if beta != 1.0 else x * sigmoid(x)


silu = swish


def gelu(features, approximate=False, name=None):
    """Gaussian error linear unit; exact (erf) by default, tanh approximation if asked."""
    x = features if isinstance(features, Tensor) else convert_to_tensor(features)
    if approximate:
        from .math import tanh

        c = _math.sqrt(2 / _math.pi)
        return 0.5 * x * (1 + tanh(c * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + erf(x / _math.sqrt(2)))


# ---------------------------------------------------------------- softmax family


@op("softmax")
def _softmax(x, axis=-1):
    xp = _xp()
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


@_softmax.vjp
def _(g, out, x, axis=-1):
    return out * (g - reduce_sum(g * out, axis=axis, keepdims=True))


def softmax(logits, axis=None, name=None):
    return _softmax(logits, axis=-1 if axis is None else axis)


@op("log_softmax")
def _log_softmax(x, axis=-1):
    xp = _xp()
    z = x - x.max(axis=axis, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


@_log_softmax.vjp
def _(g, out, x, axis=-1):
    return g - exp(out) * reduce_sum(g, axis=axis, keepdims=True)


def log_softmax(logits, axis=None, name=None):
    return _log_softmax(logits, axis=-1 if axis is None else axis)


@op("sparse_softmax_cross_entropy", same_dtype=False)
def _sparse_xent(logits, labels, probs=None):
    """-log softmax(logits)[label], as lse(logits) - logits[label].

    `probs` (a static argument) may hold softmax(logits) when the caller already has it: a
    Keras softmax layer's output, whose loss tf.keras computes from the logits. The loss is
    then -log probs[label] and the gradient probs - onehot: no second exp over the logits.
    That caller has checked the labels (see keras.loss_functions); a probability too small
    to take the log of accurately falls back to the logits form."""
    xp = _xp()
    n = logits.shape[-1]
    if probs is not None and xp is numpy:  # (on a GPU a bad label must still give NaN)
        picked = _pick(xp, probs, labels)
        if picked.size and picked.min() > _TINY_PROB:
            return -xp.log(picked)
    bad = None
    if xp is numpy:
        if labels.size and (labels.min() < 0 or labels.max() >= n):
            found = labels[(labels < 0) | (labels >= n)]
            raise InvalidArgumentError(
                f"sparse_softmax_cross_entropy: labels must be in [0, {n}) for {n} classes, "
                f"found {found.ravel()[:5].tolist()}; check the labels or the number of output "
                "units"
            )
    else:
        # On a GPU the check would copy the labels to the host every step; as TensorFlow on
        # a GPU does, an out-of-range label gives a NaN loss instead of an error.
        bad = (labels < 0) | (labels >= n)
        labels = xp.where(bad, 0, labels)
    z = logits - logits.max(axis=-1, keepdims=True)
    lse = xp.log(xp.exp(z).sum(axis=-1))
    loss = lse - _pick(xp, z, labels)
    return loss if bad is None else xp.where(bad, xp.nan, loss).astype(loss.dtype)


# Below this a float32 probability has lost digits to underflow (2**-100: far above the
# subnormals), so -log p would be less exact than lse - z[label].
_TINY_PROB = 2.0 ** -100


def _pick(xp, z, labels):
    """z[..., labels]: each row's entry at its label."""
    if z.ndim == 2:
        return z[xp.arange(z.shape[0]), labels]
    return xp.take_along_axis(z, labels[..., None].astype(numpy.int64), axis=-1)[..., 0]


@_sparse_xent.vjp
def _(g, out, logits, labels, probs=None):
    return _sparse_xent_grad(logits, labels, g, probs=probs), None


@op("sparse_softmax_cross_entropy_grad", same_dtype=False)
def _sparse_xent_grad(logits, labels, g, probs=None):
    """g * (softmax(logits) - onehot(labels)): the loss's gradient in one pass, no one-hot
    array (PyTorch's nll_loss backward writes the -1s the same way). `probs`, when given, is
    softmax(logits), copied instead of computed again."""
    xp = _xp()
    if probs is not None and xp is numpy:
        p = probs.copy()
    else:
        p = xp.exp(logits - logits.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
    flat = p.reshape(-1, p.shape[-1])
    rows = xp.arange(flat.shape[0])
    labels = labels.reshape(-1)
    if xp is not numpy:  # unchecked on a GPU (the loss is NaN there): keep the write in bounds
        labels = xp.clip(labels, 0, flat.shape[1] - 1)
    flat[rows, labels] -= 1  # (on the CPU the forward checked the labels)
    p *= g[..., None]
    return p


@_sparse_xent_grad.vjp
def _(gg, out, logits, labels, g, probs=None):
    # out = g * (s - onehot), s = softmax(logits): linear in g, and through s in logits.
    s = _softmax(logits)
    n = logits.value.shape[-1]
    gs = gg * expand_dims(g, -1)
    d_logits = s * (gs - reduce_sum(gs * s, axis=-1, keepdims=True))
    d_g = reduce_sum(gg * (s - one_hot(labels, n, dtype=logits.dtype)), axis=-1)
    return d_logits, None, d_g


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None, _probs=None):
    """-log softmax(logits)[labels] per example (TF's op). `_probs`, for the Keras losses
    only: softmax(logits) already computed, with labels already checked."""
    logits = logits if isinstance(logits, Tensor) else convert_to_tensor(logits)
    labels = labels if isinstance(labels, Tensor) else convert_to_tensor(labels)
    if labels.dtype.kind not in "iu":
        labels = cast(labels, backend.int64)
    if tuple(labels.value.shape) != tuple(logits.value.shape[:-1]):
        raise InvalidArgumentError(
            f"sparse_softmax_cross_entropy_with_logits: labels shape {tuple(labels.shape)} must "
            f"equal logits shape without the last axis {tuple(logits.shape[:-1])}"
        )
    if _probs is not None:
        return _sparse_xent(logits, labels, probs=_probs.value)
    return _sparse_xent(logits, labels)


@op("softmax_cross_entropy")
def _softmax_xent(logits, labels):
    xp = _xp()
    z = logits - logits.max(axis=-1, keepdims=True)
    return -(labels * (z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True)))).sum(axis=-1)


@_softmax_xent.vjp
def _(g, out, logits, labels):
    g = g[..., None]
    total = reduce_sum(labels, axis=-1, keepdims=True)
    return g * (_softmax(logits) * total - labels), -g * _log_softmax(logits)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    logits = logits if isinstance(logits, Tensor) else convert_to_tensor(logits)
    labels = convert_to_tensor(labels, dtype=logits.dtype) if not isinstance(
        labels, Tensor) else labels
    return _softmax_xent(logits, labels)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Stable: max(x, 0) - x * z + log(1 + exp(-|x|))."""
    from .math import abs as abs_
    from .math import log1p

    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels, dtype=logits.dtype)
    return relu(logits) - logits * labels + log1p(exp(-abs_(logits)))


def l2_loss(t, name=None):
    return reduce_sum(t * t) / 2


def bias_add(value, bias, data_format=None, name=None):
    return value + bias


def moments(x, axes, shift=None, keepdims=False, name=None):
    from .math import reduce_mean, square

    mean = reduce_mean(x, axis=tuple(axes), keepdims=True)
    var = reduce_mean(square(x - mean), axis=tuple(axes), keepdims=True)
    if not keepdims:
        from .array import squeeze

        mean, var = squeeze(mean, axes), squeeze(var, axes)
    return mean, var


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability `rate`, scaling the rest by 1/(1-rate)."""
    from .. import random

    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if not 0 <= rate < 1:
        raise InvalidArgumentError(f"dropout: rate must be in [0, 1), got {rate}")
    if rate == 0:
        return x
    shape = tuple(noise_shape) if noise_shape is not None else tuple(x.value.shape)
    keep = random.uniform(shape, dtype=x.dtype, seed=seed).value >= rate
    scale = _xp().asarray(1 / (1 - rate), dtype=x.dtype)
    return x * Tensor(keep.astype(x.dtype) * scale)
