"""Core layers: Input, Dense, Flatten, Dropout, Activation, Reshape, Lambda, merging."""

from ...errors import InvalidArgumentError
from ...ops import array as A
from ...ops import nn as N
from ...ops.linalg import _matmul
from .. import activations, initializers, regularizers
from .base import KerasTensor, Layer, unique_name


class InputLayer(Layer):
    """The entry of a functional model: holds the KerasTensor `Input` returns."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, name=None,
                 batch_input_shape=None, **kwargs):
        name = name or unique_name("input", zero_based=False)
        if batch_input_shape is None:
            batch_input_shape = (batch_size,) + tuple(input_shape or ())
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_input_shape, **kwargs)
        self.built = True
        self.output = KerasTensor(self._batch_input_shape, self.dtype, node=(self, None, (), {}))

    def call(self, inputs):
        return inputs


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, **kwargs):  # noqa: N802
    """A symbolic input for the functional API: `inputs = Input(shape=(28, 28, 1))`."""
    if shape is None and batch_shape is None:
        raise ValueError("Input: give shape=(...) (without the batch dimension)")
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       batch_input_shape=batch_shape)
    return layer.output


class Dense(Layer):
    """`activation(inputs @ kernel + bias)`, applied to the last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        last = input_shape[-1]
        if last is None:
            raise ValueError(f"Dense '{self.name}': the last dimension of the input must be known")
        self.kernel = self.add_weight("kernel", (last, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self._expected = (len(input_shape), last)
        self.built = True

    def _check_input(self, x):
        if x.value.ndim < 2 or x.value.shape[-1] != self._expected[1]:
            raise InvalidArgumentError(
                f"Input to layer '{self.name}' (Dense) has shape {tuple(x.shape)}, but the layer "
                f"was built for inputs whose last dimension is {self._expected[1]} (kernel "
                f"{tuple(self.kernel.shape)}): check the data's shape or add a Flatten layer"
            )

    def call(self, inputs):
        return bias_and_activation(_matmul(inputs, self.kernel), self.bias, self.activation)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _ser_reg(self.kernel_regularizer),
                "bias_regularizer": _ser_reg(self.bias_regularizer)}


def bias_and_activation(y, bias, activation):
    """activation(y + bias) for Dense and Conv2D (bias None: no bias). A ReLU after a bias
    is one op, bias_relu: the sum made once and the ReLU applied in place on it."""
    if bias is None:
        return activation(y)
    if activation is activations.relu or activation is N.relu:
        return N.bias_relu(y, bias)
    return activation(y + bias)


def _ser_reg(reg):
    return None if reg is None else regularizers.serialize(reg)


class Flatten(Layer):
    """(batch, d1, d2, …) -> (batch, d1*d2*…)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def call(self, inputs):
        n = inputs.value.shape[0] if inputs.value.ndim else 1
        return A.reshape(inputs, (n, -1))


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        return A.reshape(inputs, (inputs.value.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zero a `rate` fraction of inputs while training, scaling the rest; identity otherwise."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return N.dropout(inputs, self.rate, noise_shape=self.noise_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Lambda(Layer):
    """Wrap a function of tensors as a layer (not serializable to a config)."""

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function, self.arguments = function, arguments or {}

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        raise NotImplementedError(
            f"Lambda layer '{self.name}' holds Python code, which tapegrad never saves or loads; "
            "write a Layer subclass and pass it in custom_objects"
        )


class _Merge(Layer):
    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a list of >= 2 inputs")


class Add(_Merge):
    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Multiply(_Merge):
    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        self._check(inputs)
        return A.concat(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["Activation", "Add", "Concatenate", "Dense", "Dropout", "Flatten", "Input",
           "InputLayer", "Lambda", "Multiply", "Reshape"]
