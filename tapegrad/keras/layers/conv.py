"""Conv2D and pooling layers (channels_last / NHWC)."""

import numpy

from ...errors import InvalidArgumentError
from ...ops import conv as C
from ...ops import math as M
from .. import activations, initializers, regularizers
from .base import Layer
from .core import _ser_reg, bias_and_activation


def _pair(v):
    return (int(v), int(v)) if numpy.ndim(v) == 0 else tuple(int(a) for a in v)


def _channels_last(data_format, name):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{name}: only data_format='channels_last' (NHWC) is supported")


class Conv2D(Layer):
    """2-D convolution over (batch, height, width, channels) inputs."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, groups=1, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format, "Conv2D")
        if _pair(dilation_rate) != (1, 1) or groups != 1:
            raise NotImplementedError("Conv2D: dilation_rate and groups other than 1")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size)
        self.strides = _pair(strides)
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"Conv2D: padding must be 'valid' or 'same', got {padding!r}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise InvalidArgumentError(
                f"Conv2D '{self.name}' needs 4-D input (batch, height, width, channels), got "
                f"shape {tuple(input_shape)}; add a channels axis with x[..., tf.newaxis]"
            )
        c = input_shape[-1]
        self.kernel = self.add_weight("kernel", self.kernel_size + (c, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self._expected = (4, c)
        self.built = True

    def call(self, inputs):
        y = C.conv2d_nhwc(inputs, self.kernel, strides=self.strides,
                          padding=self.padding.upper())
        return bias_and_activation(y, self.bias, self.activation)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _ser_reg(self.kernel_regularizer),
                "bias_regularizer": _ser_reg(self.bias_regularizer)}


class _Pooling2D(Layer):
    _op = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format, type(self).__name__)
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.padding = padding.lower()

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise InvalidArgumentError(
                f"{type(self).__name__} '{self.name}' needs 4-D input (batch, height, width, "
                f"channels), got shape {tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs):
        return type(self)._op(inputs, ksize=self.pool_size, strides=self.strides,
                              padding=self.padding.upper())

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    _op = C._max_pool


class AveragePooling2D(_Pooling2D):
    _op = C._avg_pool


class GlobalAveragePooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = keepdims

    def call(self, inputs):
        return M.reduce_mean(inputs, axis=(1, 2), keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalMaxPooling2D(GlobalAveragePooling2D):
    def call(self, inputs):
        return M.reduce_max(inputs, axis=(1, 2), keepdims=self.keepdims)


MaxPool2D, AvgPool2D, AveragePool2D = MaxPooling2D, AveragePooling2D, AveragePooling2D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
Convolution2D = Conv2D
