"""Activation functions by name, as Keras resolves them ('relu', 'softmax', …)."""

import weakref

from .. import nn
from ..ops import math as _m


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    if alpha == 0 and max_value is None and threshold == 0:
        return nn.relu(x)
    y = nn.leaky_relu(x, alpha=alpha) if alpha else nn.relu(x)
    return _m.minimum(y, max_value) if max_value is not None else y


# Keras' `_keras_logits`: a softmax or sigmoid output remembers the logits it came from, and
# the cross-entropy losses use them (the fused, stable from-logits form) instead of clipping
# and taking the log of probabilities, exactly as tf.keras does. Keyed by id, the entry living
# as long as the output (a Tensor has no attribute dict to hold it).
_LOGITS = {}


def _keep_logits(output, logits, kind, axis=-1):
    key = id(output)
    _LOGITS[key] = (weakref.ref(output, lambda _, key=key: _LOGITS.pop(key, None)),
                    logits, kind, axis)
    return output


def logits_of(output, kind, axis=-1):
    """The logits a Keras `softmax`/`sigmoid` activation (`kind`) made `output` from, or None."""
    entry = _LOGITS.get(id(output))
    if entry is None or entry[0]() is not output or entry[2] != kind:
        return None
    nd = output.value.ndim
    return entry[1] if nd and entry[3] % nd == axis % nd else None


def softmax(x, axis=-1):
    return _keep_logits(nn.softmax(x, axis=axis), x, "softmax", axis)


def sigmoid(x):
    return _keep_logits(nn.sigmoid(x), x, "sigmoid")


def log_softmax(x, axis=-1):
    return nn.log_softmax(x, axis=axis)


tanh = _m.tanh
elu = nn.elu
selu = nn.selu
gelu = nn.gelu
swish = nn.swish
silu = nn.swish
softplus = nn.softplus
softsign = nn.softsign
exponential = _m.exp
leaky_relu = nn.leaky_relu
relu6 = nn.relu6

_BY_NAME = {
    "linear": linear, "relu": relu, "softmax": softmax, "log_softmax": log_softmax,
    "sigmoid": sigmoid, "tanh": tanh, "elu": elu, "selu": selu, "gelu": gelu, "swish": swish,
    "silu": silu, "softplus": softplus, "softsign": softsign, "exponential": exponential,
    "leaky_relu": leaky_relu, "relu6": relu6,
}


def get(identifier):
    """The activation for a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier.lower()]
        except KeyError:
            raise ValueError(
                f"Unknown activation {identifier!r}; valid names: {sorted(_BY_NAME)}"
            ) from None
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation {identifier!r}")


def serialize(activation):
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME:
        return name
    raise ValueError(
        f"activation {activation!r} has no registered name; pass it via custom_objects when loading"
    )
