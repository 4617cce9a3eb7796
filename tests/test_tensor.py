"""Tensor and Variable: TensorFlow's faces (repr, names, formatting), the dtype policy, Python
data on either side of every operator, indexing with gradients, creation functions, random
seeds, and the errors a user meets first (each naming the op and the shapes)."""

import operator
import os
import subprocess
import sys

import numpy as np
import pytest

import tapegrad as tf
from tapegrad import backend
from tapegrad.errors import InvalidArgumentError


def close(t, expected, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(np.asarray(t.numpy(), np.float64), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- faces


def test_variable_repr_as_tensorflow():
    tf.random.set_seed(0)
    x = tf.Variable(tf.random.uniform((2, 2)))
    a = x.numpy()
    assert repr(x) == ("<tapegrad.Variable 'Variable:0' shape=(2, 2) dtype=float32, numpy=\n"
                       f"{a!r}>")
    assert str(x) == repr(x)
    assert repr(tf.Variable(0.0)) == (
        "<tapegrad.Variable 'Variable:0' shape=() dtype=float32, numpy=0.0>")
    b = tf.Variable(tf.zeros((2,)))
    assert repr(b) == ("<tapegrad.Variable 'Variable:0' shape=(2,) dtype=float32, "
                       "numpy=array([0., 0.], dtype=float32)>")


def test_tensor_str_and_repr_as_tensorflow():
    assert str(tf.constant(3.0)) == "tapegrad.Tensor(3.0, shape=(), dtype=float32)"
    assert str(tf.constant([[4.5, 4.0], [5.0, 3.5]])) == (
        "tapegrad.Tensor(\n[[4.5 4. ]\n [5.  3.5]], shape=(2, 2), dtype=float32)")
    assert repr(tf.constant([3.0, 1.5])) == (
        "<tapegrad.Tensor: shape=(2,), dtype=float32, numpy=array([3. , 1.5], dtype=float32)>")
    assert repr(tf.constant(2)) == "<tapegrad.Tensor: shape=(), dtype=int32, numpy=2>"


def test_variable_names():
    assert tf.Variable(3.0, name="x0").name == "x0:0"
    assert tf.Variable(3.0).name == "Variable:0"
    assert tf.Variable(1.0, name="dense/kernel").name == "dense/kernel:0"
    assert tf.Variable(1.0).trainable
    assert not tf.Variable(1.0, trainable=False).trainable


def test_shape_dtype_and_numpy():
    t = tf.constant([[1.0, 2.0, 3.0]])
    assert t.shape == (1, 3)
    assert t.shape.as_list() == [1, 3]
    assert t.shape.rank == 2 and t.ndim == 2
    assert t.dtype == tf.float32
    assert isinstance(t.numpy(), np.ndarray)
    assert tf.constant(2.5).numpy() == 2.5
    assert len(t) == 1
    assert [float(r) for r in tf.constant([1.0, 2.0])] == [1.0, 2.0]
    with pytest.raises(TypeError):
        len(tf.constant(1.0))


def test_scalar_conversions_and_formatting():
    assert bool(tf.constant(1.0)) is True
    assert bool(tf.constant(0.0)) is False
    assert float(tf.constant(2.5)) == 2.5
    assert int(tf.constant(7)) == 7
    assert f"{tf.constant(2.3456):.2f}" == "2.35"
    assert f"{tf.Variable(0.125):.1%}" == "12.5%"
    assert f"loss at batch 0: {tf.reduce_mean(tf.constant([4.0, 5.32])):.2f}" == (
        "loss at batch 0: 4.66")
    assert f"{tf.constant(1.0)}" == str(tf.constant(1.0))
    assert [1, 2, 3][tf.constant(1)] == 2  # an integer scalar is an index
    with pytest.raises(ValueError):
        bool(tf.constant([1.0, 2.0]))
    with pytest.raises(ValueError):
        float(tf.constant([1.0, 2.0]))


def test_numpy_interop():
    t = tf.constant([1.0, 2.0])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.tolist() == [1.0, 2.0]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(tf.Variable([3.0])).tolist() == [3.0]
    assert float(np.mean(t)) == 1.5
    v = tf.Variable([1.0, 2.0])
    snapshot = np.asarray(v)  # a copy, as v.numpy(): assign updates the storage in place
    v.assign_add([1.0, 1.0])
    assert snapshot.tolist() == [1.0, 2.0] and np.asarray(v).tolist() == [2.0, 3.0]


# ---------------------------------------------------------------- Variables


def test_assign_assign_add_assign_sub():
    v = tf.Variable([1.0, 2.0])
    assert v.assign([3.0, 4.0]) is v
    close(v, [3.0, 4.0])
    v.assign_add([1.0, 1.0])
    close(v, [4.0, 5.0])
    v.assign_sub(tf.constant([0.5, 0.5]))
    close(v, [3.5, 4.5])
    assert v.dtype == tf.float32
    n = v.numpy()
    n[0] = 100.0  # a copy: the variable does not change
    close(v, [3.5, 4.5])


def test_assign_with_a_wrong_shape_names_the_shapes():
    v = tf.Variable(tf.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match=r"\(3,\).*\(2, 2\)"):
        v.assign(tf.ones((3,)))
    with pytest.raises(InvalidArgumentError, match="assign_add"):
        v.assign_add([1.0, 2.0, 3.0])
    assert issubclass(InvalidArgumentError, ValueError)


def test_assign_with_a_wrong_dtype_is_an_error():
    v = tf.Variable(1.0)
    with pytest.raises(InvalidArgumentError, match="float64"):
        v.assign(tf.constant(2.0, dtype=tf.float64))
    w = tf.Variable(1)
    with pytest.raises(InvalidArgumentError):
        w.assign(2.5)  # no silent truncation
    w.assign(3)
    assert int(w) == 3


def test_variable_owns_its_storage():
    a = np.array([1.0, 2.0], np.float32)
    v = tf.Variable(a)
    a[0] = 10.0
    close(v, [1.0, 2.0])
    t = tf.constant([5.0, 6.0])
    v2 = tf.Variable(t)
    v2.assign_add([1.0, 1.0])
    close(t, [5.0, 6.0])


def test_variable_from_a_callable_and_dtype():
    v = tf.Variable(lambda: tf.zeros((2,)))
    assert v.shape == (2,)
    assert tf.Variable(1.0, dtype=tf.float64).dtype == tf.float64
    assert tf.Variable(3).dtype == tf.int32


# ---------------------------------------------------------------- errors


def test_matmul_shape_error_names_the_op_and_shapes():
    a, b = tf.ones((2, 3)), tf.ones((2, 3))
    for f in (lambda: tf.matmul(a, b), lambda: a @ b):
        with pytest.raises(InvalidArgumentError) as e:
            f()
        assert "matmul" in str(e.value) and "(2, 3)" in str(e.value)
        assert isinstance(e.value, ValueError)


def test_matmul_shape_error_with_a_transpose_flag_says_it_transposed():
    a, b = tf.ones((2, 3)), tf.ones((3, 4))
    with pytest.raises(InvalidArgumentError) as e:
        tf.matmul(a, b, transpose_b=True)   # (2, 3) @ (4, 3): 3 != 4
    msg = str(e.value)
    assert "matmul" in msg and "(after transposing)" in msg and "(4, 3)" in msg


def test_reshape_to_a_wrong_size_names_the_op_and_shapes():
    with pytest.raises(InvalidArgumentError) as e:
        tf.reshape(tf.ones((2, 3)), (4, 2))
    msg = str(e.value)
    assert "reshape" in msg and "(2, 3)" in msg and "(4, 2)" in msg


def test_incompatible_broadcast_names_the_op_and_shapes():
    with pytest.raises(InvalidArgumentError) as e:
        tf.ones((2, 3)) + tf.ones((4,))
    assert "add" in str(e.value) and "(2, 3)" in str(e.value) and "(4,)" in str(e.value)


def test_float32_plus_float64_is_a_clear_error():
    a = tf.constant([1.0, 2.0])
    b = tf.constant([1.0, 2.0], dtype=tf.float64)
    for f in (lambda: a + b, lambda: b * a, lambda: tf.matmul(tf.ones((1, 1)),
                                                             tf.ones((1, 1), tf.float64))):
        with pytest.raises(InvalidArgumentError) as e:
            f()
        msg = str(e.value)
        assert "float32" in msg and "float64" in msg and "tf.cast" in msg


def test_float_python_data_into_an_integer_tensor_is_an_error():
    i = tf.constant([1, 2])
    with pytest.raises(InvalidArgumentError, match="int32"):
        i + 1.5
    with pytest.raises(InvalidArgumentError):
        i * [0.5, 1.0]
    with pytest.raises(InvalidArgumentError):
        tf.constant([1.5], dtype=tf.int32)
    with pytest.raises(InvalidArgumentError):
        tf.convert_to_tensor(np.array([1.5]), dtype=tf.int32)


# ---------------------------------------------------------------- dtype policy


def test_dtype_policy():
    assert tf.constant(1.5).dtype == tf.float32
    assert tf.constant([1.0, 2.0]).dtype == tf.float32
    assert tf.constant(1).dtype == tf.int32
    assert tf.constant([1, 2]).dtype == tf.int32
    assert tf.constant([2 ** 40]).dtype == tf.int64  # too big for int32
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(np.array([1.0, 2.0])).dtype == tf.float64  # NumPy keeps its dtype
    assert tf.constant(np.float64(1.5)).dtype == tf.float64
    assert tf.constant(np.array([1, 2], np.int64)).dtype == tf.int64
    assert tf.constant(1.5, dtype=tf.float64).dtype == tf.float64
    assert tf.constant(1, dtype="float32").dtype == tf.float32
    x64 = tf.constant([1.0, 2.0], dtype=tf.float64)
    assert (x64 + 1.5).dtype == tf.float64  # Python scalars take the tensor's dtype
    assert (x64 * [3.0, 4.0]).dtype == tf.float64  # and so do lists
    assert ([3.0, 4.0] * x64).dtype == tf.float64
    assert (tf.constant([1.0]) * np.float64(2.0)).dtype == tf.float32
    assert (tf.constant([1, 2]) * 2).dtype == tf.int32
    assert (tf.constant(3) / tf.constant(2)).dtype == tf.float64  # TF's integer truediv
    close(tf.constant(3) / 2, 1.5)
    assert (tf.constant(1.0) < 2).dtype == tf.bool


def test_cast():
    x = tf.constant([1.7, -1.7])
    close(tf.cast(x, tf.int32), [1, -1])
    assert tf.cast(x, tf.float64).dtype == tf.float64
    assert tf.cast(tf.constant([0, 2]), tf.bool).numpy().tolist() == [False, True]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(x, tf.float64) * 2.0
    g = tape.gradient(y, x)
    assert g.dtype == tf.float32
    close(g, [2.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(x, tf.int32)
    assert tape.gradient(y, x) is None  # through integers: no gradient, as in TF


# ---------------------------------------------------------------- operators with Python data

ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
         operator.floordiv, operator.mod]
COMPARE = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@pytest.mark.parametrize("op", ARITH + COMPARE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["scalar", "list", "numpy", "tensor"])
def test_operators_take_python_data_on_either_side(op, kind):
    base = np.array([[1.5, 2.0], [3.0, 0.5]], np.float32)
    other_np = np.array([2.0, 0.5], np.float32)
    other = {"scalar": 2.0, "list": [2.0, 0.5], "numpy": other_np,
             "tensor": tf.constant(other_np)}[kind]
    ref_other = 2.0 if kind == "scalar" else other_np
    t = tf.constant(base)
    for left, right, ref in [(t, other, op(base, ref_other)), (other, t, op(ref_other, base))]:
        out = op(left, right)
        assert isinstance(out, tf.Tensor), f"{op.__name__}({type(left)}, {type(right)})"
        expected = np.asarray(ref)
        assert out.dtype == expected.dtype, (op.__name__, kind, out.dtype)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("kind", ["list", "numpy", "tensor", "variable"])
def test_matmul_operator_takes_python_data_on_either_side(kind):
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b = np.array([[0.5], [2.0]], np.float32)
    make = {"list": lambda x: x.tolist(), "numpy": lambda x: x, "tensor": tf.constant,
            "variable": tf.Variable}[kind]
    close(tf.constant(a) @ make(b), a @ b)
    close(make(a) @ tf.constant(b), a @ b)


def test_unary_operators_and_variables_in_expressions():
    t = tf.constant([-1.5, 2.0])
    close(-t, [1.5, -2.0])
    close(abs(t), [1.5, 2.0])
    close(+t, [-1.5, 2.0])
    v = tf.Variable([1.0, 2.0])
    close(v * 3 - 1, [2.0, 5.0])
    close(3 - v, [2.0, 1.0])
    close(v ** 2, [1.0, 4.0])
    close(2 ** v, [2.0, 4.0])
    b = tf.constant([True, False])
    assert (~b).numpy().tolist() == [False, True]
    assert (b & [True, True]).numpy().tolist() == [True, False]
    assert (b | False).numpy().tolist() == [True, False]
    assert round(tf.constant(2.6)) == 3


def test_comparisons_are_elementwise():
    t = tf.constant([1.0, 2.0, 3.0])
    assert (t == 2.0).numpy().tolist() == [False, True, False]
    assert (t != [1.0, 0.0, 3.0]).numpy().tolist() == [False, True, False]
    assert (2.0 < t).numpy().tolist() == [False, False, True]
    assert (t >= tf.constant(2.0)).numpy().tolist() == [False, True, True]
    assert (t == None) is False  # noqa: E711 - identity semantics for non-array data
    assert (t != None) is True  # noqa: E711
    assert t in [t]
    assert {t: 1}[t] == 1


# ---------------------------------------------------------------- indexing with gradients


def _grad_of_indexing(key, shape=(4, 5)):
    x = tf.Variable(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    with tf.GradientTape() as tape:
        y = x[key]
    expected = x.numpy()[key if not isinstance(key, tf.Tensor) else key.numpy()]
    close(y, expected)
    return tape.gradient(y, x).numpy()


def test_slicing_and_its_gradient():
    g = _grad_of_indexing((slice(1, 3), slice(None, None, 2)))
    expected = np.zeros((4, 5))
    expected[1:3, ::2] = 1
    np.testing.assert_array_equal(g, expected)


def test_negative_steps_and_indices():
    g = _grad_of_indexing((slice(None, None, -1), -1))
    expected = np.zeros((4, 5))
    expected[:, -1] = 1
    np.testing.assert_array_equal(g, expected)
    g = _grad_of_indexing((slice(3, 0, -2), slice(-2, None)))
    expected = np.zeros((4, 5))
    expected[[3, 1], 3:] = 1
    np.testing.assert_array_equal(g, expected)


def test_fancy_indices_with_repeats_accumulate():
    g = _grad_of_indexing([0, 0, 2, 0])
    expected = np.zeros((4, 5))
    expected[0] = 3
    expected[2] = 1
    np.testing.assert_array_equal(g, expected)
    g = _grad_of_indexing((slice(None), [1, 1]))
    expected = np.zeros((4, 5))
    expected[:, 1] = 2
    np.testing.assert_array_equal(g, expected)
    g = _grad_of_indexing(tf.constant([3, 3]))
    expected = np.zeros((4, 5))
    expected[3] = 2
    np.testing.assert_array_equal(g, expected)


def test_boolean_mask_newaxis_and_ellipsis():
    g = _grad_of_indexing(np.array([True, False, True, False]))
    expected = np.zeros((4, 5))
    expected[[0, 2]] = 1
    np.testing.assert_array_equal(g, expected)
    x = tf.constant(np.arange(6.0).reshape(2, 3))
    assert x[tf.newaxis].shape == (1, 2, 3)
    assert x[..., None].shape == (2, 3, 1)
    assert x[..., 1].numpy().tolist() == [1.0, 4.0]
    assert x[-1, -1].numpy() == 5.0
    assert x[tf.constant(1)].numpy().tolist() == [3.0, 4.0, 5.0]


def test_index_out_of_range_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match=r"\(2, 3\)"):
        tf.ones((2, 3))[5]


def test_gather_with_repeats_accumulates():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.gather(x, [2, 2, 0]) * tf.constant([1.0, 10.0, 100.0]))
    close(tape.gradient(y, x), [100.0, 0.0, 11.0])


# ---------------------------------------------------------------- creation


def test_constant():
    a = np.array([1.0, 2.0], np.float32)
    t = tf.constant(a)
    a[0] = 10.0  # a constant owns its data
    close(t, [1.0, 2.0])
    close(tf.constant(0.0, shape=(2, 3)), np.zeros((2, 3)))
    close(tf.constant([1.0, 2.0, 3.0, 4.0], shape=(2, 2)), [[1.0, 2.0], [3.0, 4.0]])
    assert tf.constant(tf.constant([1, 2]), dtype=tf.float32).dtype == tf.float32


def test_zeros_ones_fill():
    assert tf.zeros((2, 3)).dtype == tf.float32 and tf.zeros((2, 3)).shape == (2, 3)
    assert tf.zeros(2).shape == (2,)
    assert tf.zeros([2], dtype=tf.int32).dtype == tf.int32
    close(tf.ones((3,)), [1.0, 1.0, 1.0])
    f = tf.fill([2, 2], 3.0)
    assert f.dtype == tf.float32
    close(f, np.full((2, 2), 3.0))
    assert tf.fill((2,), 3).dtype == tf.int32


def test_range_linspace_eye():
    r = tf.range(5)
    assert r.dtype == tf.int32 and r.numpy().tolist() == [0, 1, 2, 3, 4]
    assert tf.range(1, 5, 2).numpy().tolist() == [1, 3]
    r = tf.range(0.0, 1.0, 0.25)
    assert r.dtype == tf.float32
    close(r, [0.0, 0.25, 0.5, 0.75])
    assert tf.range(3, dtype=tf.float64).dtype == tf.float64
    ls = tf.linspace(-10.0, 10.0, 201)
    assert ls.shape == (201,) and ls.dtype == tf.float32
    close(ls[100], 0.0)
    close(tf.linspace(0.0, 1.0, 5), [0.0, 0.25, 0.5, 0.75, 1.0])
    close(tf.eye(2), np.eye(2))
    close(tf.eye(2, 3), np.eye(2, 3))
    assert tf.eye(2, batch_shape=[3]).shape == (3, 2, 2)


def test_zeros_like_ones_like():
    x = tf.constant([[1.0, 2.0]], dtype=tf.float64)
    z = tf.zeros_like(x)
    assert z.dtype == tf.float64 and z.shape == (1, 2)
    close(z, [[0.0, 0.0]])
    o = tf.ones_like(x, dtype=tf.int32)
    assert o.dtype == tf.int32 and o.numpy().tolist() == [[1, 1]]
    assert tf.zeros_like(tf.Variable([1, 2])).dtype == tf.int32


# ---------------------------------------------------------------- random


def test_random_uniform_with_a_seed_repeats():
    a = tf.random.uniform((3, 2), seed=7)
    b = tf.random.uniform((3, 2), seed=7)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == tf.float32 and a.shape == (3, 2)
    u = tf.random.uniform((1000,), minval=-2, maxval=3, seed=1).numpy()
    assert u.min() >= -2 and u.max() < 3
    w = tf.random.uniform((28 * 28, 512), minval=0, maxval=1e-1)  # seed 001's initializer
    assert 0 <= float(tf.reduce_min(w)) and float(tf.reduce_max(w)) < 0.1
    i = tf.random.uniform((100,), minval=2, maxval=5, dtype=tf.int32, seed=3)
    assert i.dtype == tf.int32 and set(i.numpy().tolist()) <= {2, 3, 4}


def test_tapegrad_seed_in_the_environment_seeds_the_generator_at_import():
    code = "import tapegrad as tf; print(tf.random.uniform((3,)).numpy().tolist())"

    def draw(seed):
        env = dict(os.environ, TAPEGRAD_SEED=seed)
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=120)

    a, b, c = draw("5"), draw("5"), draw("6")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout and a.stdout != c.stdout
    bad = draw("five")
    assert bad.returncode != 0 and "TAPEGRAD_SEED must be an integer, got 'five'" in bad.stderr


_BLAS_PROBE = """
import ctypes
import json
import sys
import threading
import numpy as np
a = np.random.default_rng(0).random((600, 500), dtype=np.float32)
before = a @ a.T              # OpenBLAS's workers run before tapegrad is imported
import tapegrad as tf
from tapegrad import backend
libs = [ctypes.CDLL(p) for p in backend._loaded_openblas()]
after = a @ a.T               # ... and start again after it stopped them
at_import = [lib.openblas_thread_timeout() for lib in libs]
if sys.argv[1] == "thread":   # another Python thread alive: tapegrad's threads change nothing
    stop = threading.Event()
    threading.Thread(target=stop.wait).start()
tf.nn.relu(tf.ones((64, 32, 32, 4)))   # large: runs on tapegrad's threads
if sys.argv[1] == "thread":
    stop.set()
print(json.dumps({"tuned": backend.blas_tuned, "at_import": at_import,
                  "pooled": [lib.openblas_thread_timeout() for lib in libs],
                  "same": bool(np.array_equal(before, after) and
                               np.array_equal(before, a @ a.T)),
                  "env_left": "OPENBLAS_THREAD_TIMEOUT" in __import__("os").environ}))
"""


def test_openblas_workers_sleep_soon_after_a_product_unless_the_user_says_otherwise():
    import json

    if not backend._loaded_openblas():
        pytest.skip("NumPy here does not use OpenBLAS (no libopenblas in /proc/self/maps)")

    def probe(mode="alone", **env):
        base = {k: v for k, v in os.environ.items()
                if k not in ("TAPEGRAD_BLAS", "OPENBLAS_THREAD_TIMEOUT")}
        r = subprocess.run([sys.executable, "-c", _BLAS_PROBE, mode],
                           env=dict(base, TAPEGRAD_NUM_THREADS="2", **env),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    tuned = probe()
    assert tuned["tuned"] and tuned["same"] and not tuned["env_left"]
    assert set(tuned["at_import"]) == {backend.BLAS_THREAD_TIMEOUT}
    assert set(tuned["pooled"]) == {backend.BLAS_THREAD_TIMEOUT_POOLED}
    threaded = probe("thread")
    assert threaded["same"] and set(threaded["pooled"]) == {backend.BLAS_THREAD_TIMEOUT}
    system = probe(TAPEGRAD_BLAS="system")
    assert system["tuned"] == [] and set(system["pooled"]) == {0}   # OpenBLAS's default
    own = probe(OPENBLAS_THREAD_TIMEOUT="25")
    assert own["tuned"] == [] and set(own["pooled"]) == {25} and own["same"]


def test_set_seed_makes_a_program_repeatable():
    tf.random.set_seed(42)
    a = [tf.random.uniform((4,)).numpy(), tf.random.normal((4,)).numpy()]
    tf.random.set_seed(42)
    b = [tf.random.uniform((4,)).numpy(), tf.random.normal((4,)).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], tf.random.uniform((4,)).numpy())  # the stream moves on
    n = tf.random.normal((20000,), mean=1.0, stddev=2.0, seed=0).numpy()
    assert abs(n.mean() - 1.0) < 0.05 and abs(n.std() - 2.0) < 0.05
    assert tf.random.normal((2,), dtype=tf.float64).dtype == tf.float64
