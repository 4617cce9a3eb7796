"""tapegrad: a TensorFlow-compatible eager framework whose every gradient is a short, readable rule.

    import tapegrad as tf

    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x ** 2
    tape.gradient(y, x)          # tapegrad.Tensor(6.0, shape=(), dtype=float32)
"""

import importlib
import types

from . import backend, config, errors, nest, random
from . import linalg, math, nn  # noqa: F401 - public namespaces
from .backend import (bool_ as bool, device, float16, float32, float64, int8, int16, int32,  # noqa: A004
                      int64, string, uint8)
from .custom_gradient import custom_gradient
from .explain import compute_gradient, gradcheck, why_none
from .explain import explain as explain_tape
from .linalg import einsum, norm, tensordot
from .math import (abs, add, argmax, argmin, cos, cumsum, divide, equal, exp, greater, less,  # noqa: A004
                   log, maximum, minimum, multiply, negative, pow, reduce_logsumexp,
                   reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum,
                   reduce_variance, round, sign, sin, sqrt, square, subtract, tan, tanh)
from .ops import OPS
from .ops.array import (broadcast_to, cast, concat, expand_dims, eye, fill, gather, identity,
                        linspace, one_hot, ones, pad, rank, reshape, reverse, shape, size, split,
                        squeeze, stack, stop_gradient, tile, transpose, unstack, zeros)
from .ops.array import range_ as range  # noqa: A004 - TensorFlow's name
from .ops.linalg import matmul
from .ops.math import ones_like, where, zeros_like
from .ops.nn import sigmoid
from .tape import GradientTape, UnconnectedGradients
from .tensor import Tensor, TensorShape, Variable, convert_to_tensor, is_tensor

newaxis = None
DType = type(float32)
dtypes = types.SimpleNamespace(
    float16=float16, float32=float32, float64=float64, int8=int8, int16=int16, int32=int32,
    int64=int64, uint8=uint8, bool=bool, string=string, as_dtype=backend.as_dtype, DType=DType,
)

__version__ = "0.1.0"


def constant(value, dtype=None, shape=None, name=None):
    """A Tensor holding a copy of `value` (Python data, NumPy array or Tensor)."""
    if isinstance(value, Tensor):
        t = value if dtype is None else cast(value, dtype)
    else:
        t = convert_to_tensor(value, dtype=dtype)
    # a constant owns its data: later edits of `value` do not reach it
    v = backend.owned(t.value.copy())
    if shape is not None:
        shape = tuple(shape)
        v = backend.xp.broadcast_to(v, shape).copy() if v.size == 1 else v.reshape(shape)
    return Tensor(v)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clamp to [min, max]; the gradient passes where t is inside the range (ends included)."""
    return minimum(maximum(t, clip_value_min), clip_value_max)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """Scale t down so its L2 norm (over `axes`) is at most clip_norm."""
    n = norm(t, axis=axes, keepdims=True)
    return t * clip_norm / maximum(n, clip_norm)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scale a list of tensors together so their joint L2 norm is at most clip_norm."""
    present = [t for t in t_list if t is not None]
    gnorm = use_norm if use_norm is not None else sqrt(
        sum(reduce_sum(square(t)) for t in present)
    )
    scale = clip_norm / maximum(gnorm, clip_norm)
    return [None if t is None else t * cast(scale, t.dtype) for t in t_list], gnorm


def function(func=None, **kwargs):
    """Accepted for compatibility: tapegrad is eager, so the function runs as written."""
    if func is None:
        return lambda f: f
    return func


def print(*inputs, sep=" ", end="\n", **kwargs):  # noqa: A001 - TensorFlow's name
    import builtins

    builtins.print(*[i.numpy() if isinstance(i, Tensor) else i for i in inputs], sep=sep, end=end)


_LAZY = {
    "keras": "tapegrad.keras",
    "data": "tapegrad.data",
    "losses": "tapegrad.keras.losses",
    "optimizers": "tapegrad.keras.optimizers",
    "metrics": "tapegrad.keras.metrics",
    "initializers": "tapegrad.keras.initializers",
    "train": "tapegrad.train",
    "distributed": "tapegrad.distributed",
    "explain_module": "tapegrad.explain",
    "debugging": "tapegrad.debugging",
    "test": "tapegrad.testing",
    "scratch": "tapegrad.scratch",
}


def __getattr__(name):
    if name == "TensorSpec":
        from .data.structure import TensorSpec

        return TensorSpec
    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name])
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'tapegrad' has no attribute '{name}'")
