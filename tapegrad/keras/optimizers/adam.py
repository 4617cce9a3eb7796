"""Adam and AdamW (decoupled weight decay): Keras' update rule, in place on the arrays."""

import math

from ... import backend, kernels
from .base import Optimizer
from .updates import storage, subtract_from


class Adam(Optimizer):
    """Adam (Kingma & Ba) with Keras' bias correction folded into the step size:

        m += (g - m) * (1 - beta_1);  v += (g² - v) * (1 - beta_2)
        variable -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    With amsgrad, the running maximum of v replaces v in the denominator.

    >>> opt = tf.keras.optimizers.Adam(learning_rate=1e-3)
    """

    _state_prefix = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="Adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)
        self.slot_names = ("m", "v", "vhat") if amsgrad else ("m", "v")

    def update_step(self, gradient, variable, slots, learning_rate, step):
        xp = backend.namespace(gradient)
        b1, b2 = float(self.beta_1), float(self.beta_2)
        alpha = learning_rate * math.sqrt(1.0 - b2**step) / (1.0 - b1**step)
        m, v = storage(slots[0]), storage(slots[1])
        if not self.amsgrad and kernels.available(xp):  # one fused kernel on a GPU
            variable.value = kernels.adam(gradient, variable.value, m, v, alpha, b1, b2,
                                          self.epsilon)
            return
        tmp = self._scratch(gradient)
        xp.subtract(gradient, m, out=tmp)
        tmp *= 1.0 - b1
        m += tmp
        xp.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1.0 - b2
        v += tmp
        if self.amsgrad:
            v_hat = storage(slots[2])
            xp.maximum(v_hat, v, out=v_hat)
            v = v_hat
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        subtract_from(variable, tmp)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): before each Adam step,
    `v -= v * weight_decay * lr`.

    >>> opt = tf.keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.004)
    """

    _state_prefix = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="AdamW", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float, got None; use "
                             "Adam for no weight decay")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name, weight_decay=weight_decay,
                         **kwargs)
