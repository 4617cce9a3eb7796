"""Every layer through one helper: values against NumPy, gradients by finite differences,
config round trip, weight names and counts; plus the errors a user meets first."""

import itertools

import numpy as np
import pytest

import tapegrad as tf
from tapegrad.errors import InvalidArgumentError
from tapegrad.keras import layers as L


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        gf[i] = (up - down) / (2 * eps)
    return g


def run_layer_test(layer_fn, x, reference=None, n_weights=None, training=None, atol=1e-5):
    """Output vs reference, weight count, config round trip, and float64 gradients w.r.t. the
    input and every trainable weight, by central differences through the layer."""
    layer = layer_fn(dtype="float64")
    kwargs = {} if training is None else {"training": training}
    y = layer(tf.constant(x), **kwargs)
    assert y.dtype == tf.float64
    if reference is not None:
        np.testing.assert_allclose(y.numpy(), reference(layer, x), rtol=1e-6, atol=1e-8)
    if n_weights is not None:
        assert len(layer.weights) == n_weights
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == {**config, "name": clone.name} or clone.name == layer.name
    # gradients: d sum(y * w) by the tape vs finite differences
    w = np.random.default_rng(1).standard_normal(y.shape)

    def loss_of_input(xv):
        return float(np.sum(layer(tf.constant(xv), **kwargs).numpy() * w))

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = tf.reduce_sum(layer(xt, **kwargs) * w)
    grads = tape.gradient(out, [xt] + layer.trainable_variables)
    if x.dtype.kind == "f":
        np.testing.assert_allclose(grads[0].numpy(), numeric_grad(loss_of_input, x.copy()),
                                   rtol=1e-4, atol=atol)
    for v, g in zip(layer.trainable_variables, grads[1:]):
        original = v.numpy()

        def loss_of_weight(wv, v=v):
            v.assign(wv)
            return loss_of_input(x)

        num = numeric_grad(loss_of_weight, original.copy())
        v.assign(original)
        np.testing.assert_allclose(g.numpy(), num, rtol=1e-4, atol=atol, err_msg=v.name)
    return layer


rng = np.random.default_rng(0)


def test_dense():
    x = rng.standard_normal((4, 3))
    layer = run_layer_test(
        lambda **k: L.Dense(5, activation="tanh", **k), x,
        reference=lambda la, x: np.tanh(x @ la.kernel.numpy() + la.bias.numpy()), n_weights=2)
    assert [v.name.split("/")[-1] for v in layer.weights] == ["kernel:0", "bias:0"]


def test_dense_on_3d_input_applies_to_last_axis():
    layer = L.Dense(2)
    y = layer(tf.ones((2, 5, 3)))
    assert y.shape == (2, 5, 2)


def test_conv2d_valid_and_same_and_strides():
    x = rng.standard_normal((2, 6, 5, 3))

    def ref(la, x, stride=1, pad=0):
        k, b = la.kernel.numpy(), la.bias.numpy()
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        kh, kw = k.shape[:2]
        oh = (xp.shape[1] - kh) // stride + 1
        ow = (xp.shape[2] - kw) // stride + 1
        out = np.zeros((x.shape[0], oh, ow, k.shape[3]))
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
                out[:, i, j] = np.tensordot(patch, k, axes=3)
        return out + b

    run_layer_test(lambda **k: L.Conv2D(4, 3, **k), x, reference=ref, n_weights=2)
    run_layer_test(lambda **k: L.Conv2D(4, 3, padding="same", **k), x,
                   reference=lambda la, x: ref(la, x, pad=1))
    run_layer_test(lambda **k: L.Conv2D(2, (2, 2), strides=2, **k), x,
                   reference=lambda la, x: ref(la, x, stride=2))


def test_pooling_layers():
    x = rng.standard_normal((2, 6, 6, 3))
    run_layer_test(lambda **k: L.MaxPooling2D(**k), x,
                   reference=lambda la, x: x.reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4)))
    run_layer_test(lambda **k: L.AveragePooling2D(**k), x,
                   reference=lambda la, x: x.reshape(2, 3, 2, 3, 2, 3).mean(axis=(2, 4)))
    run_layer_test(lambda **k: L.MaxPooling2D(3, strides=2, padding="same", **k), x)
    run_layer_test(lambda **k: L.GlobalAveragePooling2D(**k), x,
                   reference=lambda la, x: x.mean(axis=(1, 2)))


def test_flatten_reshape_activation_dropout():
    x = rng.standard_normal((3, 2, 4))
    run_layer_test(lambda **k: L.Flatten(**k), x, reference=lambda la, x: x.reshape(3, 8))
    run_layer_test(lambda **k: L.Reshape((4, 2), **k), x,
                   reference=lambda la, x: x.reshape(3, 4, 2))
    run_layer_test(lambda **k: L.Activation("sigmoid", **k), x,
                   reference=lambda la, x: 1 / (1 + np.exp(-x)))
    run_layer_test(lambda **k: L.Dropout(0.5, **k), x, reference=lambda la, x: x,
                   training=False)


def test_dropout_training_zeroes_and_scales():
    tf.random.set_seed(0)
    y = L.Dropout(0.5)(tf.ones((1000,)), training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6


def test_layer_normalization():
    x = rng.standard_normal((4, 5))

    def ref(la, x):
        m, v = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-3) * la.gamma.numpy() + la.beta.numpy()

    run_layer_test(lambda **k: L.LayerNormalization(**k), x, reference=ref, n_weights=2)


def test_batch_normalization_training_and_inference():
    x = rng.standard_normal((8, 3)) * 2 + 1

    def ref(la, x):
        m, v = x.mean(0), x.var(0)
        return (x - m) / np.sqrt(v + 1e-3)

    layer = run_layer_test(lambda **k: L.BatchNormalization(**k), x, reference=ref,
                           n_weights=4, training=True)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    # moving statistics moved towards the batch statistics
    assert np.all(layer.moving_mean.numpy() != 0)
    y = layer(tf.constant(x), training=False).numpy()
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    np.testing.assert_allclose(y, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-6)


def test_embedding():
    layer = L.Embedding(10, 3)
    ids = np.array([[1, 2], [9, 1]])
    y = layer(ids)
    assert y.shape == (2, 2, 3)
    np.testing.assert_allclose(y.numpy()[0, 0], layer.embeddings.numpy()[1])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(ids))
    (g,) = tape.gradient(loss, layer.trainable_variables)
    expected = np.zeros((10, 3))
    expected[1] = 2
    expected[2] = 1
    expected[9] = 1
    np.testing.assert_allclose(g.numpy(), expected)


def test_names_are_unique_keras_style():
    tf.keras.backend.clear_session()
    a, b = L.Dense(1), L.Dense(1)
    assert (a.name, b.name) == ("dense", "dense_1")
    b(tf.ones((1, 2)))
    assert [v.name for v in b.weights] == ["dense_1/kernel:0", "dense_1/bias:0"]
    assert L.Conv2D(1, 1).name == "conv2d"


def test_input_shape_mismatch_names_layer_and_shapes():
    layer = L.Dense(3)
    layer(tf.ones((2, 4)))
    with pytest.raises(InvalidArgumentError, match=r"dense.*\(2, 5\).*4"):
        layer(tf.ones((2, 5)))
    conv = L.Conv2D(2, 3)
    with pytest.raises(InvalidArgumentError, match="4-D input"):
        conv(tf.ones((2, 8, 8)))


def test_float64_numpy_input_is_cast_to_float32():
    y = L.Dense(2)(np.random.rand(3, 4))
    assert y.dtype == tf.float32


def test_trainable_flag_freezes_weights():
    layer = L.Dense(2)
    layer(tf.ones((1, 2)))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_unknown_activation_lists_names():
    with pytest.raises(ValueError, match="valid names"):
        L.Dense(2, activation="relux")


def test_regularizer_adds_loss():
    layer = L.Dense(2, kernel_regularizer=tf.keras.regularizers.l2(0.1))
    layer(tf.ones((1, 3)))
    (r,) = layer.regularization_losses()
    np.testing.assert_allclose(float(r), 0.1 * np.sum(layer.kernel.numpy() ** 2), rtol=1e-6)


def test_serialize_deserialize_allowlist():
    cfg = L.serialize(L.Dense(3, activation="relu"))
    layer = L.deserialize(cfg)
    assert isinstance(layer, L.Dense) and layer.units == 3
    with pytest.raises(ValueError, match="custom_objects"):
        L.deserialize({"class_name": "os.system", "config": {}})


def test_trainable_variables_follow_every_structure_change():
    # model.trainable_variables is cached between structure changes: each change must show
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,))])
    assert len(model.trainable_variables) == 2
    model.add(tf.keras.layers.Dense(1))
    assert len(model.trainable_variables) == 4
    model.layers[0].trainable = False
    assert len(model.trainable_variables) == 2 and len(model.non_trainable_variables) == 2
    model.layers[0].trainable = True
    model.pop()
    assert len(model.trainable_variables) == 2

    class WithExtra(tf.keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1], 1))

        def call(self, x):
            return tf.matmul(x, self.w)

    inner = WithExtra()
    outer = tf.keras.Sequential([inner])
    assert outer.trainable_variables == []
    outer(tf.ones((1, 4)))                       # build adds a weight
    assert [v.shape for v in outer.trainable_variables] == [(4, 1)]
    inner.extra = tf.Variable(1.0)               # a Variable assigned later is tracked
    assert len(outer.trainable_variables) == 2
    inner.extra.trainable = False                # a Variable's own flag is read each time
    assert len(outer.trainable_variables) == 1


def test_bias_and_relu_of_a_layer_are_one_op_with_the_same_values_and_gradients():
    # (no parameters: tests/gpu runs this file's tests as they are)
    rng = np.random.default_rng(3)
    cases = [(lambda act: tf.keras.layers.Dense(5, activation=act), (6, 4)),
             (lambda act: tf.keras.layers.Conv2D(3, 2, activation=act), (2, 5, 5, 2))]
    for (make, shape), act in itertools.product(cases, ["relu", tf.nn.relu]):
        x = tf.constant(rng.standard_normal(shape))
        fused, plain = make(act), make(None)
        fused.build(shape)
        plain.build(shape)
        plain.set_weights(fused.get_weights())
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = fused(x)
            want = tf.nn.relu(plain(x))
        assert [r.op.name for r in tape._records].count("bias_relu") == 1
        np.testing.assert_array_equal(y.numpy(), want.numpy())
        w = tf.constant(rng.standard_normal(tuple(y.shape)).astype(np.float32))
        for a, b in zip(tape.gradient(y, [x] + fused.trainable_variables, output_gradients=w),
                        tape.gradient(want, [x] + plain.trainable_variables,
                                      output_gradients=w)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
