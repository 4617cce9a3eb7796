"""SGD, with optional (Nesterov) momentum: Keras' update rule, in place on the arrays."""

from ... import backend
from .base import Optimizer
from .updates import add_to, storage, subtract_from, subtract_scaled


class SGD(Optimizer):
    """Gradient descent: `v -= lr * g`; with momentum, `m = momentum * m - lr * g`, then
    `v += m`, or `v += momentum * m - lr * g` when nesterov.

    >>> opt = tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    """

    _state_prefix = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1], got {momentum}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if momentum else ()

    def update_step(self, gradient, variable, slots, learning_rate, step):
        if not slots and subtract_scaled(variable, gradient, learning_rate, self._block):
            return
        xp = backend.namespace(gradient)
        scaled = self._scratch(gradient)
        xp.multiply(gradient, learning_rate, out=scaled)  # lr * g
        if not slots:
            subtract_from(variable, scaled)
            return
        momentum = self.momentum
        m = storage(slots[0])
        m *= momentum
        m -= scaled  # m = momentum * m - lr * g
        if self.nesterov:
            subtract_from(variable, scaled)
            xp.multiply(m, momentum, out=scaled)
            variable.value += scaled  # the array is writeable after subtract_from
        else:
            add_to(variable, m)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
