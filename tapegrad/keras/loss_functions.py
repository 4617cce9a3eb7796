"""Keras' per-sample loss functions: each maps (y_true, y_pred) to one value per sample.

They reduce the last axis and are written with tapegrad ops, so every loss is differentiable in
y_pred. `tapegrad.keras.losses` re-exports them beside the `Loss` classes that weight and reduce
them. Probabilities are clipped to [1e-7, 1 - 1e-7] (Keras' epsilon) before a log, so p = 0 gives
a large finite loss rather than inf; logits go through log-softmax / sigmoid-with-logits.

    per_sample = sparse_categorical_crossentropy([1, 0], [[0.2, 0.8], [0.6, 0.4]])
"""

import numpy

from .. import backend
from ..errors import InvalidArgumentError
from ..ops import array as A
from ..ops import math as M
from ..ops import nn as N
from ..tensor import Tensor, convert_to_tensor
from .activations import logits_of

EPSILON = 1e-7


# ---------------------------------------------------------------- input preparation


def _pred(y_pred):
    y_pred = y_pred if isinstance(y_pred, Tensor) else convert_to_tensor(y_pred)
    return y_pred if y_pred.dtype.kind == "f" else A.cast(y_pred, backend.floatx)


def _like(y_true, y_pred):
    """y_true in y_pred's dtype, as Keras casts it (a float cast of a Tensor stays differentiable)."""
    if isinstance(y_true, Tensor):
        return A.cast(y_true, y_pred.dtype)
    return convert_to_tensor(y_true, dtype=y_pred.dtype)


def _same_rank(a, b):
    """Keras' squeeze_or_expand_to_same_rank: (N,) against (N, 1) becomes (N, 1) against (N, 1)."""
    ra, rb = a.ndim, b.ndim
    if ra == rb + 1 and a.shape[-1] == 1:
        return (a, A.expand_dims(b, -1)) if rb == 1 else (A.squeeze(a, -1), b)
    if rb == ra + 1 and b.shape[-1] == 1:
        return (A.expand_dims(a, -1), b) if ra == 1 else (a, A.squeeze(b, -1))
    return a, b


def _prepare(y_true, y_pred):
    y_pred = _pred(y_pred)
    return _same_rank(_like(y_true, y_pred), y_pred)


def _check_same_shape(name, y_true, y_pred, hint=""):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise InvalidArgumentError(
            f"{name}: y_true has shape {tuple(y_true.shape)} but y_pred has shape "
            f"{tuple(y_pred.shape)}; they must match{hint}"
        )


def _clip(p, low=EPSILON, high=1.0 - EPSILON):
    return M.minimum(M.maximum(p, low), high)


def _move_to_last(x, axis):
    axis = axis % x.ndim
    if axis == x.ndim - 1:
        return x
    perm = [i for i in range(x.ndim) if i != axis] + [axis]
    return A.transpose(x, perm)


def _sigmoid_xent(labels, logits):
    # TensorFlow's stable form, max(x, 0) - x z + log1p(exp(-|x|)), with both kinks resolved by
    # one `where` on x >= 0 so the gradient is right at x == 0 (tapegrad's
    # nn.sigmoid_cross_entropy_with_logits gives -z there instead of 0.5 - z).
    positive = logits >= 0
    relu_logits = M.where(positive, logits, M.zeros_like(logits))
    neg_abs = M.where(positive, -logits, logits)
    return relu_logits - logits * labels + M.log1p(M.exp(neg_abs))


def _sparse_labels(name, y_true, y_pred):
    """Integer labels as a backend array, a trailing axis of 1 squeezed: (N, 1) -> (N,)."""
    a = y_true.value if isinstance(y_true, Tensor) else backend.xp.asarray(y_true)
    if a.ndim == y_pred.ndim and a.ndim and a.shape[-1] == 1:
        a = a.reshape(a.shape[:-1])
    if tuple(a.shape) != tuple(y_pred.shape[:-1]):
        raise InvalidArgumentError(
            f"{name}: labels of shape {tuple(a.shape)} do not fit predictions of shape "
            f"{tuple(y_pred.shape)}; expected labels of shape {tuple(y_pred.shape[:-1])} (one "
            "class index per sample). For one-hot labels use categorical_crossentropy"
        )
    return a if a.dtype.kind == "i" else a.astype(numpy.int64)


def _check_labels(name, labels, n):
    if backend.array_device(labels) == "gpu":
        return  # no host copy per step: the op gives NaN for a bad label, as TF on a GPU
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n):
        bad = backend.to_numpy(labels[(labels < 0) | (labels >= n)])
        raise InvalidArgumentError(
            f"{name}: labels must be in [0, {n}) for {n} classes, found "
            f"{sorted(set(bad.ravel().tolist()))[:10]}; check the labels or the number of "
            "output units of the model"
        )


# ---------------------------------------------------------------- loss functions


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)**2, axis=-1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return M.reduce_mean(M.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|, axis=-1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return M.reduce_mean(M.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    diff = M.abs((y_true - y_pred) / M.maximum(M.abs(y_true), EPSILON))
    return 100.0 * M.reduce_mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    first = M.log(M.maximum(y_pred, EPSILON) + 1.0)
    second = M.log(M.maximum(y_true, EPSILON) + 1.0)
    return M.reduce_mean(M.square(first - second), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over `axis` of -(y log p + (1 - y) log(1 - p)); p = sigmoid(y_pred) if from_logits."""
    if not from_logits and logits_of(y_pred, "sigmoid") is not None:
        y_pred, from_logits = logits_of(y_pred, "sigmoid"), True  # as tf.keras does
    y_true, y_pred = _prepare(y_true, y_pred)
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = _sigmoid_xent(y_true, y_pred)
    else:
        p = _clip(y_pred)
        bce = -(y_true * M.log(p) + (1.0 - y_true) * M.log(1.0 - p))
    return M.reduce_mean(bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log p, axis) for one-hot (or soft) labels; p = softmax if from_logits.

    Probabilities are renormalised to sum to 1 along `axis` and clipped to [eps, 1 - eps].
    """
    if not from_logits and logits_of(y_pred, "softmax", axis) is not None:
        y_pred, from_logits = logits_of(y_pred, "softmax", axis), True  # as tf.keras does
    y_true, y_pred = _prepare(y_true, y_pred)
    _check_same_shape("categorical_crossentropy", y_true, y_pred,
                      "; for integer class labels use sparse_categorical_crossentropy")
    if label_smoothing:
        n = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        # The fused op works on the last axis only (its `axis` argument is ignored).
        return N.softmax_cross_entropy_with_logits(
            _move_to_last(y_true, axis), _move_to_last(y_pred, axis))
    p = _clip(y_pred / M.reduce_sum(y_pred, axis=axis, keepdims=True))
    return -M.reduce_sum(y_true * M.log(p), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1,
                                    ignore_class=None):
    """-log p[label] for integer labels of shape (N,) or (N, 1); p = softmax if from_logits.

    Labels equal to `ignore_class` give a loss of 0 (and the `Loss` class leaves them out of
    the mean). Labels outside [0, classes) raise InvalidArgumentError.
    """
    name = "sparse_categorical_crossentropy"
    probs = None
    if not from_logits and logits_of(y_pred, "softmax", axis) is not None:
        # as tf.keras does; the probabilities spare the loss a second softmax
        probs, y_pred, from_logits = y_pred, logits_of(y_pred, "softmax", axis), True
        if axis % y_pred.value.ndim != y_pred.value.ndim - 1:
            probs = None  # (moved to the last axis below: they would not line up)
    y_pred = _move_to_last(_pred(y_pred), axis)
    labels = _sparse_labels(name, y_true, y_pred)
    n = y_pred.shape[-1]
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = backend.xp.where(valid, labels, 0)
    _check_labels(name, labels, n)
    if from_logits:
        loss = N.sparse_softmax_cross_entropy_with_logits(Tensor(labels), y_pred,
                                                          _probs=probs)
    else:
        # tf.keras' form: clipped log-probabilities used as logits of the fused softmax
        # cross-entropy. When p[label] is clipped the loss still lowers the other
        # probabilities (a plain -log clip(p[label]) would have a zero gradient there).
        logp = M.log(_clip(y_pred))
        loss = N.sparse_softmax_cross_entropy_with_logits(Tensor(labels), logp)
    if valid is not None:
        loss = M.where(Tensor(valid), loss, M.zeros_like(loss))
    return loss


def huber(y_true, y_pred, delta=1.0):
    """mean(0.5 e**2 where |e| <= delta, else delta |e| - 0.5 delta**2), e = y_pred - y_true."""
    y_true, y_pred = _prepare(y_true, y_pred)
    err = y_pred - y_true
    abs_err = M.abs(err)
    quadratic = 0.5 * M.square(err)
    linear = delta * abs_err - 0.5 * delta * delta
    return M.reduce_mean(M.where(abs_err <= delta, quadratic, linear), axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [eps, 1]."""
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _clip(y_true, EPSILON, 1.0), _clip(y_pred, EPSILON, 1.0)
    return M.reduce_sum(y_true * M.log(y_true / y_pred), axis=-1)


def _signed_labels(y_true):
    """Labels in {0, 1} become {-1, 1}, as Keras' hinge losses expect."""
    v = y_true.value
    if bool(backend.xp.all((v == 0) | (v == 1))):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0), axis=-1); labels in {0, 1} are mapped to {-1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return M.reduce_mean(M.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)**2, axis=-1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    margin = M.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0)
    return M.reduce_mean(M.square(margin), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = M.reduce_sum(y_true * y_pred, axis=-1)
    neg = M.reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return M.maximum(neg - pos + 1.0, 0.0)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed as x + softplus(-2x) - log 2."""
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    return M.reduce_mean(x + N.softplus(-2.0 * x) - float(numpy.log(2.0)), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return M.reduce_mean(y_pred - y_true * M.log(y_pred + EPSILON), axis=-1)


def _l2_normalize(x, axis):
    return x * M.rsqrt(M.maximum(M.reduce_sum(M.square(x), axis=axis, keepdims=True), 1e-12))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 when they point alike."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return -M.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
