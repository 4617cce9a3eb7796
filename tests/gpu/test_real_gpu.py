"""The op table, the layer tests and two seed-style programs on the GPU, compared with the CPU.

Each test runs twice: on real CuPy ('cupy'), skipped with "no GPU: CuPy is not installed or
sees no device" where there is none (CI), and on the NumPy stand-in ('fake'), which runs
everywhere and catches NumPy-only code without a GPU: a function CuPy lacks, an implicit host
conversion, a host array handed to a device op, a NumPy scalar where CuPy gives a 0-d array.

Per op row: the first sample (the first with a gradient check, for differentiable rows), in
float64 and float32; the forward value and the input gradients for one fixed cotangent must
match the CPU's, and the output must live on the GPU.
"""

import importlib.util
import os
import sys

import numpy as np
import pytest

import tapegrad as tf
from tapegrad import backend

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "ops"))
from op_db import OP_DB, samples_of  # noqa: E402

TOLERANCE = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-4, atol=1e-5)}


def _sample(row):
    samples = samples_of(row)
    if row.differentiable:
        return next((s for s in samples if s.check_grad), samples[0])
    return samples[0]


def _forward_and_gradients(row, sample, dtype):
    """The output and the input gradients (cotangent fixed by a seed), as host arrays."""
    args = [np.asarray(a) for a in sample.args]
    args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in args]
    xs = [tf.constant(a) for a in args]
    nondiff = row.nondiff if sample.nondiff is None else sample.nondiff
    diff = [i for i, a in enumerate(args) if i not in nondiff and a.dtype.kind == "f"] if (
        row.differentiable and sample.check_grad) else []
    with tf.GradientTape() as tape:
        for i in diff:
            tape.watch(xs[i])
        out = row.fn(*xs, **sample.kwargs)
    device = backend.array_device(out.value)
    value = out.numpy()
    grads = []
    if diff:
        u = np.random.default_rng(0).standard_normal(np.shape(value)).astype(out.dtype)
        gs = tape.gradient(out, [xs[i] for i in diff], output_gradients=tf.constant(u))
        grads = [None if g is None else (backend.array_device(g.value), g.numpy()) for g in gs]
    return device, value, grads


def _on_cpu(fn, *args):
    with tf.device("/CPU:0"):
        return fn(*args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("row", OP_DB, ids=[r.name for r in OP_DB])
def test_op_matches_the_cpu(gpu, row, dtype):
    sample = _sample(row)
    want_device, want, want_grads = _on_cpu(_forward_and_gradients, row, sample, dtype)
    device, got, grads = _forward_and_gradients(row, sample, dtype)
    assert device == "gpu", f"{row.name}: the output lives on the {device}"
    tol = TOLERANCE[dtype]
    assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, **tol, err_msg=f"{row.name} forward")
    assert len(grads) == len(want_grads)
    for i, (g, w) in enumerate(zip(grads, want_grads)):
        assert (g is None) == (w is None), f"{row.name}: gradient {i} None on one device only"
        if g is not None:
            assert g[0] == "gpu", f"{row.name}: gradient {i} lives on the {g[0]}"
            np.testing.assert_allclose(g[1], w[1], **tol, err_msg=f"{row.name} gradient {i}")


# ---------------------------------------------------------------- the layer tests, on the GPU


def _layer_tests():
    spec = importlib.util.spec_from_file_location(
        "gpu_layer_tests", os.path.join(ROOT, "tests", "keras", "test_layers.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [getattr(module, n) for n in sorted(vars(module)) if n.startswith("test_")]


LAYER_TESTS = _layer_tests()


@pytest.mark.parametrize("test", LAYER_TESTS, ids=[t.__name__ for t in LAYER_TESTS])
def test_layer_test_passes_on_the_gpu(gpu, test):
    test()  # tests/keras/test_layers.py, every tensor on the GPU


# ---------------------------------------------------------------- seed-style programs


def _dense_fit():
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28)).astype("float32"), rng.integers(0, 10, 64)
    model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                 tf.keras.layers.Dense(32, activation="relu"),
                                 tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    return history.history["loss"], [w.numpy() for w in model.weights]


def _cnn_step():
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((8, 12, 12, 1)).astype("float32"))
    labels = tf.constant(rng.integers(0, 10, 8))
    inputs = tf.keras.layers.Input(shape=(12, 12, 1))
    h = tf.keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    h = tf.keras.layers.MaxPooling2D((2, 2))(h)
    outputs = tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(h))
    model = tf.keras.models.Model(inputs, outputs)
    loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = tf.keras.optimizers.Adam()
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = loss_object(labels, model(images))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return [float(loss)], [w.numpy() for w in model.weights]


@pytest.mark.parametrize("program", [_dense_fit, _cnn_step], ids=["dense_fit", "cnn_step"])
def test_seed_style_program_matches_the_cpu(gpu, program):
    want_loss, want_weights = _on_cpu(program)
    loss, weights = program()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-4)
    for w, v in zip(weights, want_weights):
        np.testing.assert_allclose(w, v, rtol=1e-3, atol=1e-5)


# ---------------------------------------------------------------- fused kernels (real CuPy only)


@pytest.fixture
def cupy_only():
    import fake_cupy

    cp = backend._find_cupy() if backend._probed is not fake_cupy else None
    if cp is None or cp is fake_cupy:
        pytest.skip(backend.NO_GPU)
    before = backend.current_device()
    backend.set_device("/GPU:0")
    try:
        yield cp
    finally:
        backend.set_device(before)


def test_fused_adam_kernel_matches_the_array_code(cupy_only):
    from tapegrad import kernels

    cp = cupy_only
    assert kernels.available(cp)
    rng = np.random.default_rng(0)
    p, g, m, v = (rng.standard_normal(1000).astype(np.float32) for _ in range(4))
    v = np.abs(v)
    alpha, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    m2 = m + (g - m) * (1 - b1)
    v2 = v + (g * g - v) * (1 - b2)
    want = p - alpha * m2 / (np.sqrt(v2) + eps)
    dm, dv = cp.asarray(m), cp.asarray(v)
    got = kernels.adam(cp.asarray(g), cp.asarray(p), dm, dv, alpha, b1, b2, eps)
    np.testing.assert_allclose(cp.asnumpy(got), want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(cp.asnumpy(dm), m2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cp.asnumpy(dv), v2, rtol=1e-6, atol=1e-7)


def test_fused_relu_grad_kernel_matches_the_array_code(cupy_only):
    from tapegrad import kernels

    cp = cupy_only
    rng = np.random.default_rng(1)
    out = np.maximum(rng.standard_normal((64, 33)), 0).astype(np.float32)
    g = rng.standard_normal((64, 33)).astype(np.float32)
    got = kernels.relu_grad(cp.asarray(g), cp.asarray(out))
    np.testing.assert_array_equal(cp.asnumpy(got), g * (out > 0))
