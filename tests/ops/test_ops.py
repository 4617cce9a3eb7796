"""Every op, driven by the table in op_db.py: forward against NumPy (float64 and float32), the VJP
against central differences, the VJP of the VJP (nested tapes) for rows marked second_order,
and a guard that fails when a registered op has no row.

The gradient check is the dot-product form: for a random output cotangent u and input direction
v, <u, J v> by central differences must equal <J^T u, v> from tape.gradient(out, x,
output_gradients=u). One forward pair per input instead of one per element.
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_db import OP_DB, ROWS, Sample, draw, samples_of

import tapegrad as tf
from tapegrad.ops import OPS

EPS = 1e-6

DIFF_ROWS = [r for r in OP_DB if r.differentiable]
SECOND_ROWS = [r for r in OP_DB if r.second_order]
NONDIFF_ROWS = [r for r in OP_DB if not r.differentiable]


def _ids(rows):
    return [r.name for r in rows]


def _tensors(args, dtype=None):
    out = []
    for a in args:
        a = np.asarray(a)
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype(dtype)
        out.append(tf.constant(a))
    return out


def _value(row_fn, args, kwargs):
    out = row_fn(*_tensors(args), **kwargs)
    return np.asarray(out.numpy(), dtype=np.float64)


def _diff_positions(row, sample):
    nondiff = row.nondiff if sample.nondiff is None else sample.nondiff
    return [i for i, a in enumerate(sample.args)
            if i not in nondiff and np.asarray(a).dtype.kind == "f"]


# ---------------------------------------------------------------- the checks


def check_forward(row, sample, dtype):
    args = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
            for a in sample.args]
    out = row.fn(*_tensors(args), **sample.kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.asarray(row.ref(*[a.astype(np.float64) if a.dtype.kind == "f" else a
                                        for a in args], **sample.kwargs))
    assert isinstance(out, tf.Tensor), f"{row.name}: returned {type(out).__name__}"
    assert tuple(out.shape) == expected.shape, f"{row.name} {sample}: shape"
    has_float = any(a.dtype.kind == "f" for a in args)
    if has_float and expected.dtype.kind == "f":
        assert out.dtype == dtype, f"{row.name} {sample}: {dtype.__name__} in, {out.dtype} out"
    else:
        assert out.dtype == expected.dtype, f"{row.name} {sample}: dtype {out.dtype}"
    if out.dtype.kind in "biu":
        np.testing.assert_array_equal(out.numpy(), expected, err_msg=f"{row.name} {sample}")
        return
    if dtype == np.float64:
        rtol, atol = 1e-9, 1e-12
    else:
        finite = np.abs(expected[np.isfinite(expected)])
        rtol, atol = row.fwd_rtol32, 1e-5 * max(1.0, finite.max() if finite.size else 1.0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=rtol, atol=atol,
                               err_msg=f"{row.name} {sample} ({dtype.__name__})")


def check_vjp(fn, args, kwargs, diff, rng, rtol, atol, what):
    """<u, J v> by central differences == <J^T u, v> by the tape, for each input in `diff`."""
    xs = _tensors(args)
    with tf.GradientTape() as tape:
        for i in diff:
            tape.watch(xs[i])
        out = fn(*xs, **kwargs)
    y = np.asarray(out.numpy(), dtype=np.float64)
    u = rng.standard_normal(y.shape)
    grads = tape.gradient(out, [xs[i] for i in diff], output_gradients=tf.constant(u))
    for i, g in zip(diff, grads):
        v = rng.standard_normal(np.shape(args[i]))
        plus = list(args)
        minus = list(args)
        plus[i] = args[i] + EPS * v
        minus[i] = args[i] - EPS * v
        jv = (_value(fn, plus, kwargs) - _value(fn, minus, kwargs)) / (2 * EPS)
        numeric = float(np.sum(u * jv))
        if g is None:
            analytic = 0.0
        else:
            assert tuple(g.shape) == tuple(np.shape(args[i])), (
                f"{what}: gradient of input {i} has shape {tuple(g.shape)}, "
                f"input {np.shape(args[i])}")
            assert g.dtype == xs[i].dtype, f"{what}: gradient dtype {g.dtype}"
            analytic = float(np.sum(np.asarray(g.numpy(), np.float64) * v))
        # a bound on the rounding noise of the differences (eps_machine * |y| / EPS per
        # element), and a scale immune to cancellation in the sum
        noise = 2e-9 * float(np.sum(np.abs(u * y)))
        scale = float(np.sum(np.abs(u * jv))) + abs(analytic)
        assert abs(analytic - numeric) <= atol + noise + rtol * scale, (
            f"{what}: input {i}: tape <J^T u, v> = {analytic!r}, finite differences "
            f"<u, J v> = {numeric!r}")


def vjp_of_vjp(row, kwargs, diff, ws):
    """h(x..., u) = sum_i <(J^T u)_i, w_i>, taken with an inner tape, so that checking h's
    gradient (by an outer tape) checks the rules' own rules: second order, in x and in u."""
    def h(*xu):
        *xs, u = xu
        with tf.GradientTape() as inner:
            for i in diff:
                inner.watch(xs[i])
            out = row.fn(*xs, **kwargs)
        gs = inner.gradient(out, [xs[i] for i in diff], output_gradients=u,
                            unconnected_gradients="zero")
        total = tf.constant(0.0, dtype=tf.float64)
        for g, w in zip(gs, ws):
            total = total + tf.reduce_sum(g * w)
        return total

    return h


# ---------------------------------------------------------------- table-driven tests


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("row", OP_DB, ids=_ids(OP_DB))
def test_forward_matches_numpy(row, dtype):
    for sample in samples_of(row):
        check_forward(row, sample, dtype)


@pytest.mark.parametrize("row", DIFF_ROWS, ids=_ids(DIFF_ROWS))
def test_vjp_matches_finite_differences(row):
    rng = np.random.default_rng(1)
    for sample in samples_of(row):
        if not sample.check_grad:
            continue
        diff = _diff_positions(row, sample)
        assert diff, f"{row.name}: a sample with nothing to differentiate"
        check_vjp(row.fn, [np.asarray(a) for a in sample.args], sample.kwargs, diff, rng,
                  row.grad_rtol, row.grad_atol, f"{row.name} {sample}")


@pytest.mark.parametrize("row", SECOND_ROWS, ids=_ids(SECOND_ROWS))
def test_second_order_matches_finite_differences(row):
    rng = np.random.default_rng(2)
    for sample in samples_of(row):
        if not (sample.check_grad and sample.second_order):
            continue
        args = [np.asarray(a) for a in sample.args]
        diff = _diff_positions(row, sample)
        y = _value(row.fn, args, sample.kwargs)
        u = rng.standard_normal(y.shape)
        ws = [rng.standard_normal(args[i].shape) for i in diff]
        h = vjp_of_vjp(row, sample.kwargs, diff, ws)
        check_vjp(h, args + [u], {}, diff + [len(args)], rng, row.grad_rtol,
                  row.grad_atol, f"{row.name} (second order) {sample}")


@pytest.mark.parametrize("row", DIFF_ROWS, ids=_ids(DIFF_ROWS))
def test_float32_gradients_stay_float32(row):
    sample = next(s for s in samples_of(row) if s.check_grad)
    xs = _tensors(sample.args, np.float32)
    diff = _diff_positions(row, sample)
    with tf.GradientTape() as tape:
        for i in diff:
            tape.watch(xs[i])
        out = row.fn(*xs, **sample.kwargs)
    assert out.dtype == tf.float32
    for i, g in zip(diff, tape.gradient(out, [xs[i] for i in diff])):
        assert g is None or (g.dtype == tf.float32 and tuple(g.shape) == tuple(xs[i].shape))


@pytest.mark.parametrize("row", NONDIFF_ROWS, ids=_ids(NONDIFF_ROWS))
def test_nondifferentiable_ops_never_record(row):
    sample = samples_of(row)[1 if len(samples_of(row)) > 1 else 0]
    xs = _tensors(sample.args)
    floats = [x for x in xs if x.dtype.kind == "f"]
    with tf.GradientTape() as tape:
        tape.watch(floats)
        row.fn(*xs, **sample.kwargs)
    assert tape._records == [], f"{row.name} recorded on the tape"
    if row.name in OPS:
        assert not OPS[row.name].differentiable


def test_every_registered_op_has_a_row():
    missing = sorted(set(OPS) - set(ROWS))
    assert not missing, f"ops without a row in tests/ops/op_db.py: {missing}"


def test_rows_agree_with_the_registry():
    for name, op in OPS.items():
        row = ROWS[name]
        assert row.differentiable == op.differentiable, name
        assert (op.rule is not None) == op.differentiable, f"{name}: rule vs differentiable"


def test_every_row_has_samples():
    for row in OP_DB:
        assert samples_of(row), row.name


def test_second_order_covers_elementwise_matmul_activations_conv():
    must = {"add", "multiply", "divide", "pow", "exp", "log", "tanh", "sin", "matmul", "relu",
            "sigmoid", "softplus", "elu", "selu", "softmax", "log_softmax", "conv2d",
            "max_pool2d", "avg_pool2d"}
    assert must <= {r.name for r in SECOND_ROWS}


# ---------------------------------------------------------------- hypothesis: shapes

# A fixed, quick set by default; TAPEGRAD_HYPOTHESIS_EXAMPLES=200 explores more, randomised.
_EXAMPLES = int(os.environ.get("TAPEGRAD_HYPOTHESIS_EXAMPLES", "0"))
HSETTINGS = settings(max_examples=_EXAMPLES or 25, deadline=None, database=None,
                     derandomize=not _EXAMPLES, suppress_health_check=[HealthCheck.too_slow])

BINARY_ROWS = [r for r in OP_DB if r.kind == "binary"]
UNARY_ROWS = [r for r in OP_DB if r.kind == "unary"]
REDUCE_ROWS = [r for r in OP_DB if r.kind == "reduction"]


def _check_sample(row, sample, seed):
    check_forward(row, sample, np.float64)
    if row.differentiable:
        check_vjp(row.fn, list(sample.args), sample.kwargs, _diff_positions(row, sample),
                  np.random.default_rng(seed), row.grad_rtol, row.grad_atol,
                  f"{row.name} {sample}")


@pytest.mark.parametrize("row", BINARY_ROWS, ids=_ids(BINARY_ROWS))
@HSETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_broadcasting_shapes(row, shapes, seed):
    rng = np.random.default_rng(seed)
    args = draw(rng, row.domains, shapes.input_shapes, row.valid)
    _check_sample(row, Sample(args), seed)


@pytest.mark.parametrize("row", UNARY_ROWS, ids=_ids(UNARY_ROWS))
@HSETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
       seed=st.integers(0, 2**16))
def test_elementwise_any_shape(row, shape, seed):
    rng = np.random.default_rng(seed)
    _check_sample(row, Sample(draw(rng, row.domains, (shape,), row.valid)), seed)


@st.composite
def _shape_and_axis(draw_):
    shape = draw_(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    axis = draw_(st.one_of(st.none(), st.integers(-nd, nd - 1),
                           hnp.valid_tuple_axes(nd, min_size=1)))
    return shape, dict(axis=axis, keepdims=draw_(st.booleans()))


@pytest.mark.parametrize("row", REDUCE_ROWS, ids=_ids(REDUCE_ROWS))
@HSETTINGS
@given(case=_shape_and_axis(), seed=st.integers(0, 2**16))
def test_reduction_any_shape_and_axis(row, case, seed):
    shape, kwargs = case
    rng = np.random.default_rng(seed)
    _check_sample(row, Sample(draw(rng, row.domains, (shape,), row.valid), kwargs), seed)


@pytest.mark.parametrize("row", DIFF_ROWS, ids=_ids(DIFF_ROWS))
def test_variables_as_inputs_give_the_same_gradients(row):
    """Inputs given as trainable Variables (read through `read_variable`, auto-watched)."""
    sample = next(s for s in samples_of(row) if s.check_grad)
    diff = _diff_positions(row, sample)
    xs = _tensors(sample.args)
    vs = [tf.Variable(x) if i in diff else x for i, x in enumerate(xs)]
    with tf.GradientTape() as tape:
        for i in diff:
            tape.watch(xs[i])
        expected = tape.gradient(row.fn(*xs, **sample.kwargs), [xs[i] for i in diff])
    with tf.GradientTape() as tape:
        out = row.fn(*vs, **sample.kwargs)
    got = tape.gradient(out, [vs[i] for i in diff])
    assert [v.name for v in tape.watched_variables()] == [vs[i].name for i in diff]
    for e, g in zip(expected, got):
        assert (e is None) == (g is None)
        if e is not None:
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- kinks, ties and edges as TF


def _grad(f, *xs):
    xs = [tf.constant(np.asarray(x, np.float32)) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    return [None if g is None else g.numpy().tolist() for g in tape.gradient(y, xs)]


def test_gradients_at_ties_and_kinks_follow_tensorflow():
    assert _grad(tf.reduce_max, [1.0, 3.0, 3.0]) == [[0.0, 0.5, 0.5]]  # ties share
    assert _grad(tf.reduce_min, [[2.0, 2.0], [1.0, 5.0]]) == [[[0.0, 0.0], [1.0, 0.0]]]
    assert _grad(lambda x: tf.reduce_max(x, axis=1), [[2.0, 2.0], [1.0, 5.0]]) == [
        [[0.5, 0.5], [0.0, 1.0]]]
    assert _grad(tf.maximum, [1.0, 2.0], [1.0, 1.0]) == [[1.0, 1.0], [0.0, 0.0]]  # ties: x
    assert _grad(tf.minimum, [1.0, 2.0], [1.0, 1.0]) == [[1.0, 0.0], [0.0, 1.0]]
    assert _grad(tf.nn.relu, [0.0, -1.0, 2.0]) == [[0.0, 0.0, 1.0]]
    assert _grad(tf.abs, [0.0, -2.0]) == [[0.0, -1.0]]
    assert _grad(lambda x: tf.clip_by_value(x, 1.0, 2.0), [0.5, 1.0, 1.5, 2.0, 2.5]) == [
        [0.0, 1.0, 1.0, 1.0, 0.0]]  # the ends let the gradient through, as TF's rule
    gx, gy = _grad(tf.pow, [0.0, 2.0], [2.0, 3.0])  # d/dy at x == 0 is 0, not nan
    assert gx == [0.0, 12.0] and gy[0] == 0.0 and abs(gy[1] - 8 * np.log(2.0)) < 1e-5
    pool = _grad(lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"),
                 np.array([[1.0, 3.0], [3.0, 0.0]]).reshape(1, 2, 2, 1))
    assert np.asarray(pool[0]).ravel().tolist() == [0.0, 1.0, 0.0, 0.0]  # the first maximum


@pytest.mark.parametrize("ksize,strides,padding", [
    ((2, 2), (2, 2), "VALID"),   # windows tile the input: the direct-write path
    ((3, 3), (2, 2), "SAME"),    # overlapping, padded: the accumulate path
])
def test_max_pool_gradient_at_many_ties_goes_to_each_first_maximum(ksize, strides, padding):
    from op_db import max_pool_ref, max_pool_scatter_ref

    rng = np.random.default_rng(3)
    # ReLU-like input: half zeros, and small integers, so most windows hold ties; odd sizes
    # leave a row and a column that no VALID window covers.
    x = np.maximum(rng.integers(-3, 3, (2, 7, 9, 3)), 0).astype(np.float64)
    g = rng.standard_normal(tf.nn.max_pool2d(x, ksize, strides, padding).shape)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, ksize, strides, padding)
    got = tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()
    want = max_pool_scatter_ref(x, g, max_pool_ref(x, ksize, strides, padding), ksize,
                                strides, padding)
    np.testing.assert_array_equal(got, want)


def test_reduce_prod_gradient_with_zeros_is_exact():
    assert _grad(tf.reduce_prod, [2.0, 0.0, 3.0]) == [[0.0, 6.0, 0.0]]
    assert _grad(tf.reduce_prod, [0.0, 0.0, 3.0]) == [[0.0, 0.0, 0.0]]


def test_conv2d_and_pool_accept_tensorflow_stride_forms():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((1, 5, 5, 2)).astype(np.float32))
    w = tf.constant(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    a = tf.nn.conv2d(x, w, 2, "SAME")
    for strides in ([1, 2, 2, 1], (2, 2), [2]):
        np.testing.assert_array_equal(tf.nn.conv2d(x, w, strides, "same").numpy(), a.numpy())
    assert tf.nn.max_pool2d(x, 2, None, "VALID").shape == (1, 2, 2, 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="channels"):
        tf.nn.conv2d(x, tf.ones((3, 3, 3, 1)), 1, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="window"):
        tf.nn.conv2d(x, tf.ones((7, 7, 2, 1)), 1, "VALID")


def test_op_errors_name_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 3\).*\[3\]"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 3], logits=tf.ones((2, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="gather"):
        tf.gather(tf.ones((3,)), [5])
    with pytest.raises(NotImplementedError, match="batch_dims"):
        tf.gather(tf.ones((2, 3)), [[0], [1]], batch_dims=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="concat"):
        tf.concat([tf.ones((2, 3)), tf.ones((3, 2))], axis=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="tensordot"):
        tf.tensordot(tf.ones((2, 3)), tf.ones((2, 3)), axes=1)


def test_dropout_gradient_is_the_kept_mask_scaled():
    x = tf.constant(np.ones(1000, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.dropout(x, rate=0.25, seed=3)
    g = tape.gradient(y, x).numpy()
    kept = y.numpy() != 0
    np.testing.assert_allclose(g[kept], 1 / 0.75, rtol=1e-6)
    assert (g[~kept] == 0).all() and 0.65 < kept.mean() < 0.85
    assert tf.nn.dropout(x, 0.0) is x


def test_reductions_take_axis_as_tensor_list_or_negative():
    x = tf.constant(np.arange(24.0).reshape(2, 3, 4))
    for axis in (tf.constant([0, 2]), [0, 2], (0, -1), [-3, -1]):
        np.testing.assert_allclose(tf.reduce_sum(x, axis=axis).numpy(),
                                   x.numpy().sum(axis=(0, 2)))


# ---------------------------------------------------------------- the threaded passes

THREADED = ["conv2d", "im2col", "col2im", "max_pool2d", "max_pool2d_scatter",
            "max_pool2d_gather", "relu", "relu_grad", "add", "bias_relu"]


@pytest.fixture
def every_pass_threaded(monkeypatch):
    # Large passes split the batch over threads (backend.over_rows); the samples are small,
    # so lower the threshold to run those code paths on them, with an uneven split.
    from tapegrad import backend

    monkeypatch.setattr(backend, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(backend, "BLOCK_ELEMENTS", 50)  # and each thread's rows in blocks
    backend.set_num_threads(3)
    yield
    backend.set_num_threads(None)


@pytest.mark.parametrize("name", THREADED)
def test_threaded_passes_match_the_reference_and_finite_differences(every_pass_threaded, name):
    row = ROWS[name]
    rng = np.random.default_rng(4)
    for sample in samples_of(row):
        check_forward(row, sample, np.float64)
        if sample.check_grad:
            check_vjp(row.fn, [np.asarray(a) for a in sample.args], sample.kwargs,
                      _diff_positions(row, sample), rng, row.grad_rtol, row.grad_atol,
                      f"{row.name} {sample} (threaded)")


def test_threaded_bias_add_and_pool_on_a_real_batch(every_pass_threaded):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 9, 9, 4))
    b = rng.standard_normal(4)
    np.testing.assert_array_equal(tf.add(tf.constant(x), tf.constant(b)).numpy(), x + b)
    # broadcasting that grows the result is not split (the output is not x's shape)
    np.testing.assert_array_equal(
        tf.add(tf.constant(x[..., :1]), tf.constant(b)).numpy(), x[..., :1] + b)
    from op_db import max_pool_ref

    np.testing.assert_array_equal(tf.nn.max_pool2d(tf.constant(x), 2, 2, "VALID").numpy(),
                                  max_pool_ref(x, (2, 2), (2, 2), "VALID"))


def test_tf_config_threading_sets_the_threads_of_the_large_passes():
    from tapegrad import backend

    assert callable(tf.config.set_visible_devices) and callable(tf.config.get_visible_devices)
    tf.config.threading.set_intra_op_parallelism_threads(3)
    try:
        assert tf.config.threading.get_intra_op_parallelism_threads() == 3
        assert backend.num_threads == 3
        calls = []
        backend.over_rows(lambda lo, hi: calls.append((lo, hi)), 10,
                          backend.PARALLEL_MIN_ELEMENTS)
        assert sorted(calls) == [(0, 3), (3, 6), (6, 10)]   # every row once, in 3 parts
        calls.clear()
        backend.over_rows(lambda lo, hi: calls.append((lo, hi)), 10, 100)  # small: one call
        assert calls == [(0, 10)]
        calls.clear()
        # in blocks: each thread's rows in equal blocks of about `block` elements (2 rows)
        assert backend.PARALLEL_MIN_ELEMENTS <= 10 * 2 ** 15
        backend.over_rows(lambda lo, hi: calls.append((lo, hi)), 10, 10 * 2 ** 15,
                          block=2 * 2 ** 15)
        assert sorted(calls) == [(0, 1), (1, 3), (3, 4), (4, 6), (6, 8), (8, 10)]
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(0)


@pytest.mark.parametrize("shape,axis", [((64, 13, 13, 32), (0, 1, 2)), ((5000, 8), 0),
                                        ((300, 70), (0,)), ((40, 30, 20), (-3, -2))])
@pytest.mark.parametrize("keepdims", [False, True])
def test_large_sums_over_leading_axes_match_float64(shape, axis, keepdims):
    # reduce_sum over the leading axes of a large array runs as one BLAS product (bias
    # gradients); it must agree with NumPy's float64 sum and keep NumPy's shapes
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    got = tf.reduce_sum(tf.constant(x), axis=axis, keepdims=keepdims).numpy()
    want = x.astype(np.float64).sum(axis=axis, keepdims=keepdims)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_python_numbers_as_operands_keep_sign_nan_and_dtype():
    # Python numbers in x * 3, x + 0.5 become cached read-only 0-d constants of x's dtype:
    # repeating them is exact, -0.0 keeps its sign, NaN is never cached, and a square's two
    # identical gradients (one product returned twice) add to 2x at first and second order
    x = tf.constant(np.array([-1.5, 2.0, 4.0], np.float32))
    for _ in range(2):
        np.testing.assert_array_equal((3 * x).numpy(), np.float32(3) * x.numpy())
        np.testing.assert_array_equal((x + 0.5).numpy(), x.numpy() + np.float32(0.5))
        assert (x * 0.5).dtype == tf.float32
    assert np.signbit((tf.constant(np.float32(2.0)) * -0.0).numpy())
    assert not np.signbit((tf.constant(np.float32(2.0)) * 0.0).numpy())
    assert np.isnan((x * float("nan")).numpy()).all()
    v = tf.Variable(np.array([1.0, -3.0], np.float64))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(v * v * v + 3 * v)
        g = inner.gradient(y, v)
    np.testing.assert_allclose(g.numpy(), 3 * v.numpy() ** 2 + 3)
    np.testing.assert_allclose(outer.gradient(g, v).numpy(), 6 * v.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = tf.reduce_sum(x * x)
    np.testing.assert_array_equal(tape.gradient(s, x).numpy(), 2 * x.numpy())


def test_bias_relu_names_the_op_and_both_shapes_for_a_bias_that_does_not_fit():
    from tapegrad.ops.nn import bias_relu

    x = tf.constant(np.ones((2, 3, 4), np.float32))
    for b in (np.ones(3, np.float32), np.ones((1, 4), np.float32)):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"bias_relu: the bias \(.*\) must be one value per channel.*"
                                 r"\(2, 3, 4\)"):
            bias_relu(x, tf.constant(b))
