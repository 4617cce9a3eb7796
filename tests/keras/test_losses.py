"""tapegrad.keras.losses against formulas written out in NumPy (float64), plus gradients by
central finite differences through GradientTape."""

import numpy as np
import pytest

import tapegrad as tf
from tapegrad.errors import InvalidArgumentError
from tapegrad.keras import losses

EPS = 1e-7
N, C = 4, 3
rng = np.random.default_rng(0)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def one_hot(labels, n=C):
    return np.eye(n)[labels]


# ---------------------------------------------------------------- NumPy references


def ref_bce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p = sigmoid(p)
        return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def ref_cce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        return -np.sum(t * log_softmax(p), axis=-1)
    p = np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(t * np.log(p), axis=-1)


def ref_sparse(labels, p, from_logits=False):
    labels = np.asarray(labels).reshape(p.shape[:-1]).astype(int)
    if from_logits:
        logp = log_softmax(p)
    else:
        logp = np.log(np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS))
    return -np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


def signed(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def unit(x):
    return x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), 1e-12))


def regression():
    return rng.normal(size=(N, C)), rng.normal(size=(N, C))


def positive():
    return rng.uniform(0.1, 2, size=(N, C)), rng.uniform(0.1, 2, size=(N, C))


def distributions():
    return softmax(rng.normal(size=(N, C))), softmax(rng.normal(size=(N, C)))


def binary_labels():
    return rng.integers(0, 2, size=(N, C)).astype(float), rng.normal(size=(N, C))


def one_hot_targets():
    return one_hot(rng.integers(0, C, size=N)), rng.normal(size=(N, C))


def probabilities():
    return rng.integers(0, 2, size=(N, C)).astype(float), rng.uniform(0.05, 0.95, size=(N, C))


# name -> (function, kwargs, reference, inputs)
CASES = {
    "mse": (losses.mean_squared_error, {}, lambda t, p: np.mean((p - t) ** 2, -1), regression),
    "mae": (losses.mean_absolute_error, {}, lambda t, p: np.mean(np.abs(p - t), -1), regression),
    "mape": (losses.mean_absolute_percentage_error, {},
             lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1),
             regression),
    "msle": (losses.mean_squared_logarithmic_error, {},
             lambda t, p: np.mean((np.log(np.maximum(p, EPS) + 1)
                                   - np.log(np.maximum(t, EPS) + 1)) ** 2, -1), positive),
    "bce": (losses.binary_crossentropy, {}, ref_bce, probabilities),
    "bce_logits": (losses.binary_crossentropy, {"from_logits": True},
                   lambda t, p: ref_bce(t, p, True), binary_labels),
    "bce_smooth": (losses.binary_crossentropy, {"label_smoothing": 0.2},
                   lambda t, p: ref_bce(t, p, label_smoothing=0.2), probabilities),
    "cce": (losses.categorical_crossentropy, {},
            lambda t, p: ref_cce(t, p), lambda: (one_hot_targets()[0], distributions()[1])),
    "cce_unnormalised": (losses.categorical_crossentropy, {}, ref_cce,
                         lambda: (one_hot_targets()[0], positive()[1])),
    "cce_logits": (losses.categorical_crossentropy, {"from_logits": True},
                   lambda t, p: ref_cce(t, p, True), one_hot_targets),
    "cce_smooth_logits": (losses.categorical_crossentropy,
                          {"from_logits": True, "label_smoothing": 0.1},
                          lambda t, p: ref_cce(t, p, True, 0.1), one_hot_targets),
    "huber": (losses.huber, {"delta": 0.7},
              lambda t, p: np.mean(np.where(np.abs(p - t) <= 0.7, 0.5 * (p - t) ** 2,
                                            0.7 * np.abs(p - t) - 0.5 * 0.49), -1), regression),
    "kld": (losses.kl_divergence, {},
            lambda t, p: np.sum(np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1)
                                                            / np.clip(p, EPS, 1)), -1),
            distributions),
    "hinge": (losses.hinge, {}, lambda t, p: np.mean(np.maximum(1 - signed(t) * p, 0), -1),
              binary_labels),
    "hinge_signed": (losses.hinge, {}, lambda t, p: np.mean(np.maximum(1 - t * p, 0), -1),
                     lambda: (2 * binary_labels()[0] - 1, rng.normal(size=(N, C)))),
    "squared_hinge": (losses.squared_hinge, {},
                      lambda t, p: np.mean(np.maximum(1 - signed(t) * p, 0) ** 2, -1),
                      binary_labels),
    "categorical_hinge": (losses.categorical_hinge, {},
                          lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1)
                                                  + 1, 0), one_hot_targets),
    "log_cosh": (losses.log_cosh, {}, lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
                 regression),
    "poisson": (losses.poisson, {}, lambda t, p: np.mean(p - t * np.log(p + EPS), -1), positive),
    "cosine": (losses.cosine_similarity, {}, lambda t, p: -np.sum(unit(t) * unit(p), -1),
               regression),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_function_matches_numpy_formula(case):
    fn, kwargs, ref, make = CASES[case]
    t, p = make()
    out = fn(t, p, **kwargs)
    assert isinstance(out, tf.Tensor) and out.dtype == tf.float64 and out.shape == (N,)
    np.testing.assert_allclose(out.numpy(), ref(t, p), rtol=1e-10, atol=1e-12)
    out32 = fn(tf.constant(t.astype(np.float32)), tf.constant(p.astype(np.float32)), **kwargs)
    assert out32.dtype == tf.float32
    np.testing.assert_allclose(out32.numpy(), ref(t, p), rtol=2e-4, atol=2e-5)


def fd_check(f, x0, seed=1):
    """<grad, u> from the tape against a float64 central finite difference, element by element."""
    u = np.random.default_rng(seed).normal(size=np.shape(f(tf.constant(x0))))
    x = tf.Variable(x0)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(f(x) * u)
    g = tape.gradient(total, x).numpy()
    h = 1e-6
    numeric = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[i] += h
        xm[i] -= h
        numeric[i] = (np.sum(f(tf.constant(xp)).numpy() * u)
                      - np.sum(f(tf.constant(xm)).numpy() * u)) / (2 * h)
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_matches_finite_differences(case):
    fn, kwargs, _, make = CASES[case]
    t, p = make()
    if case == "huber":  # keep |error| away from the kink at delta
        p = t + np.where(rng.random(p.shape) < 0.5, 0.3, 1.5) * np.sign(p - t)
    fd_check(lambda x: fn(t, x, **kwargs), p)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_gradient_matches_finite_differences(from_logits):
    labels = np.array([0, 2, 1, 2])
    p = rng.normal(size=(N, C)) if from_logits else rng.uniform(0.05, 0.95, size=(N, C))
    fd_check(lambda x: losses.sparse_categorical_crossentropy(labels, x, from_logits), p)


def test_binary_crossentropy_logits_gradient_at_zero():
    # d/dx = sigmoid(x) - z = 0.5 - z exactly at x == 0 (a zero-initialised output layer).
    z = np.array([[1.0, 0.0, 1.0]])
    x = tf.Variable(np.zeros((1, 3)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(losses.binary_crossentropy(z, x, from_logits=True))
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), (0.5 - z) / 3)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("shape", [(N,), (N, 1)])
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "float32", "float64"])
def test_sparse_values_for_label_shapes_and_dtypes(from_logits, shape, dtype):
    labels = np.array([0, 2, 1, 2]).reshape(shape).astype(dtype)
    p = rng.normal(size=(N, C)) if from_logits else softmax(rng.normal(size=(N, C)))
    want = ref_sparse(labels, p, from_logits)
    for y_true in (labels, tf.constant(labels)):
        out = losses.sparse_categorical_crossentropy(y_true, p, from_logits=from_logits)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)
        cls = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        np.testing.assert_allclose(float(cls(y_true, p)), want.mean(), rtol=1e-10)


def test_sparse_probabilities_are_renormalised():
    # tf.keras: log(clip(p)) used as logits, so p is renormalised after clipping
    p = np.array([[0.2, 0.1, 0.1], [0.5, 0.25, 0.25]])
    out = losses.sparse_categorical_crossentropy([0, 0], p)
    np.testing.assert_allclose(out.numpy(), [np.log(2), np.log(2)], rtol=1e-12)


def test_sparse_sequence_labels_and_axis():
    logits = rng.normal(size=(2, 5, C))
    labels = rng.integers(0, C, size=(2, 5))
    want = ref_sparse(labels, logits, True)
    out = losses.sparse_categorical_crossentropy(labels[..., None], logits, from_logits=True)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)
    moved = np.moveaxis(logits, -1, 1)  # classes on axis 1
    out = losses.sparse_categorical_crossentropy(labels, moved, from_logits=True, axis=1)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("labels", [[0, 3, 1, 7], [0, -1, 1, 2], [[0], [5], [1], [2]]])
def test_sparse_out_of_range_labels_raise(from_logits, labels):
    p = softmax(rng.normal(size=(N, C)))
    with pytest.raises(InvalidArgumentError) as info:
        losses.sparse_categorical_crossentropy(labels, p, from_logits=from_logits)
    msg = str(info.value)
    bad = [v for v in np.ravel(labels) if not 0 <= v < C]
    assert "sparse_categorical_crossentropy" in msg and f"{C} classes" in msg
    assert all(str(v) in msg for v in bad)
    with pytest.raises(InvalidArgumentError):
        losses.SparseCategoricalCrossentropy(from_logits=from_logits)(labels, p)


def test_sparse_labels_of_wrong_shape_raise():
    with pytest.raises(InvalidArgumentError, match="categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(one_hot([0, 1, 2, 0]), softmax(np.ones((N, C))))


def test_categorical_shape_mismatch_raises():
    with pytest.raises(InvalidArgumentError, match="sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(np.array([0.0, 1, 2, 0]), softmax(np.ones((N, C))))


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_ignore_class(from_logits):
    labels = np.array([0, -1, 2, -1])
    p = rng.normal(size=(N, C)) if from_logits else softmax(rng.normal(size=(N, C)))
    valid = labels != -1
    full = ref_sparse(np.where(valid, labels, 0), p, from_logits)
    per_sample = losses.sparse_categorical_crossentropy(labels, p, from_logits, ignore_class=-1)
    np.testing.assert_allclose(per_sample.numpy(), np.where(valid, full, 0), rtol=1e-10)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1)
    np.testing.assert_allclose(float(loss(labels, p)), full[valid].mean(), rtol=1e-10)
    w = np.array([1.0, 5.0, 3.0, 2.0])
    np.testing.assert_allclose(float(loss(labels, p, sample_weight=w)),
                               (full * w)[valid].sum() / valid.sum(), rtol=1e-10)
    total = losses.SparseCategoricalCrossentropy(from_logits, ignore_class=-1, reduction="sum")
    np.testing.assert_allclose(float(total(labels, p)), full[valid].sum(), rtol=1e-10)


@pytest.mark.parametrize("fn,target", [
    (losses.binary_crossentropy, np.array([[1.0, 0.0]])),
    (losses.categorical_crossentropy, np.array([[1.0, 0.0]])),
    (losses.sparse_categorical_crossentropy, np.array([0])),
])
def test_probability_zero_gives_finite_loss(fn, target):
    p = np.array([[0.0, 1.0]])
    out = fn(target, p).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, -np.log(EPS), rtol=1e-6)  # every entry is wrong by 1
    x = tf.Variable(p)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(fn(target, x))
    assert np.all(np.isfinite(tape.gradient(loss, x).numpy()))


@pytest.mark.parametrize("cls,fn,kwargs", [
    (losses.MeanSquaredError, losses.mean_squared_error, {}),
    (losses.BinaryCrossentropy, losses.binary_crossentropy, {"from_logits": True}),
    (losses.CategoricalCrossentropy, losses.categorical_crossentropy, {"label_smoothing": 0.1}),
    (losses.Huber, losses.huber, {"delta": 2.0}),
    (losses.CosineSimilarity, losses.cosine_similarity, {}),
    (losses.LogCosh, losses.log_cosh, {}),
])
@pytest.mark.parametrize("weight_shape", [None, (), (N,), (N, 1)])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "auto", "sum", "none"])
def test_reductions_and_sample_weight(cls, fn, kwargs, weight_shape, reduction):
    t, p = one_hot_targets()
    per_sample = fn(t, p, **kwargs).numpy()
    w = None if weight_shape is None else rng.uniform(0.5, 2, size=weight_shape)
    weighted = per_sample if w is None else per_sample * np.reshape(w, (-1,) if w.ndim else ())
    weighted = np.broadcast_to(weighted, per_sample.shape)
    out = cls(reduction=reduction, **kwargs)(t, p, sample_weight=w).numpy()
    want = {"none": weighted, "sum": weighted.sum()}.get(reduction, weighted.mean())
    np.testing.assert_allclose(out, want, rtol=1e-10)


def test_loss_object_reduces_per_timestep_losses_with_per_sample_weights():
    t, p = rng.normal(size=(2, 5, C)), rng.normal(size=(2, 5, C))
    per = np.mean((p - t) ** 2, -1)
    w = np.array([1.0, 3.0])
    out = losses.MeanSquaredError()(t, p, sample_weight=w)
    np.testing.assert_allclose(float(out), (per * w[:, None]).mean(), rtol=1e-12)


def test_y_true_dtypes_and_rank_alignment():
    p = tf.constant(rng.normal(size=(N, 1)).astype(np.float32))
    t = np.arange(N)  # int64 labels, rank 1 against (N, 1) predictions
    out = losses.mean_squared_error(t, p)
    assert out.dtype == tf.float32 and out.shape == (N,)
    np.testing.assert_allclose(out.numpy(), (p.numpy()[:, 0] - t) ** 2, rtol=1e-6)
    out64 = losses.mean_squared_error(tf.constant(t.astype(np.float64)), p)  # cast to float32
    assert out64.dtype == tf.float32
    scalar = losses.MeanSquaredError()(t, p)
    np.testing.assert_allclose(float(scalar), np.mean((p.numpy()[:, 0] - t) ** 2), rtol=1e-6)


def test_categorical_crossentropy_axis():
    t, x = one_hot_targets()
    for from_logits in (False, True):
        p = x if from_logits else softmax(x)
        want = ref_cce(t, p, from_logits)
        out = losses.categorical_crossentropy(t.T, p.T, from_logits=from_logits, axis=0)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)


def test_input_arrays_are_not_frozen_by_the_tape():
    t, p = one_hot_targets()
    x = tf.Variable(p)
    with tf.GradientTape() as tape:
        loss = losses.CategoricalCrossentropy(from_logits=True)(t, x)
    tape.gradient(loss, x)
    t[0, 0] = 0.5  # the caller's label array stays writable


def test_custom_loss_subclass():
    class Scaled(losses.Loss):
        def call(self, y_true, y_pred):
            return 3.0 * losses.mean_absolute_error(y_true, y_pred)

    t, p = regression()
    out = Scaled(reduction="sum")(t, p)
    np.testing.assert_allclose(float(out), 3 * np.abs(p - t).mean(-1).sum(), rtol=1e-12)
    assert Scaled().name == "Scaled"


def test_invalid_reduction_raises():
    with pytest.raises(ValueError, match="sum_over_batch_size"):
        losses.MeanSquaredError(reduction="mean_please")
    assert losses.Reduction.SUM_OVER_BATCH_SIZE == "sum_over_batch_size"
    assert set(losses.Reduction.all()) == {"auto", "none", "sum", "sum_over_batch_size"}


def test_get_resolves_names_configs_and_callables():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MSE") is losses.mean_squared_error
    assert losses.get("mae") is losses.mean_absolute_error
    assert losses.get("kld") is losses.kl_divergence
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    obj = losses.get("SparseCategoricalCrossentropy")
    assert isinstance(obj, losses.SparseCategoricalCrossentropy) and not obj._fn_kwargs[
        "from_logits"]
    cfg = {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}
    assert losses.get(cfg)._fn_kwargs["from_logits"] is True
    loss = losses.Huber()
    assert losses.get(loss) is loss
    assert losses.get(np.sum) is np.sum
    assert losses.get(None) is None


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        losses.get("mean_squared_eror")
    msg = str(info.value)
    assert "mean_squared_eror" in msg
    assert "mean_squared_error" in msg and "SparseCategoricalCrossentropy" in msg
    with pytest.raises(ValueError, match="Valid names"):
        losses.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError):
        losses.get(42)


LOSS_OBJECTS = [
    losses.MeanSquaredError(), losses.MeanAbsoluteError(reduction="sum"),
    losses.MeanAbsolutePercentageError(), losses.MeanSquaredLogarithmicError(),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.CategoricalCrossentropy(label_smoothing=0.2, name="cce"),
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
    losses.Huber(delta=2.5), losses.KLDivergence(), losses.Hinge(), losses.SquaredHinge(),
    losses.CategoricalHinge(), losses.LogCosh(), losses.Poisson(),
    losses.CosineSimilarity(axis=0, reduction="none"),
    losses.LossFunctionWrapper(losses.mean_squared_error, name="wrapped"),
]


@pytest.mark.parametrize("loss", LOSS_OBJECTS, ids=lambda x: type(x).__name__)
def test_serialize_round_trip(loss):
    config = losses.serialize(loss)
    assert config["class_name"] == type(loss).__name__
    again = losses.deserialize(config)
    assert type(again) is type(loss)
    assert again.get_config() == loss.get_config()
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()


def test_serialize_functions_and_names():
    assert losses.serialize(losses.mse) == {"class_name": "function",
                                            "config": "mean_squared_error"}
    assert losses.deserialize(losses.serialize("mse")) is losses.mean_squared_error
    assert losses.serialize("MeanSquaredError")["class_name"] == "MeanSquaredError"


def test_default_names_follow_keras():
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.SparseCategoricalCrossentropy().name == "sparse_categorical_crossentropy"
    assert losses.Huber().name == "huber_loss"
    assert losses.KLDivergence().name == "kl_divergence"


def test_compute_weighted_loss():
    per = tf.constant(np.array([1.0, 2.0, 3.0]))
    assert float(losses.compute_weighted_loss(per)) == 2.0
    assert float(losses.compute_weighted_loss(per, [1.0, 0.0, 1.0])) == pytest.approx(4 / 3)
    assert float(losses.compute_weighted_loss(per, 2.0, reduction="sum")) == 12.0
    with pytest.raises(InvalidArgumentError, match="sample_weight"):
        losses.compute_weighted_loss(per, [1.0, 2.0])


@pytest.mark.parametrize("loss,labels", [
    (tf.keras.losses.SparseCategoricalCrossentropy(), [2, 0]),
    (tf.keras.losses.CategoricalCrossentropy(), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
])
def test_softmax_output_losses_use_its_logits_as_tf_keras_does(loss, labels):
    # Saturated logits: p[label] underflows to 0. Clipping probabilities would give the loss
    # -log(1e-7) = 16.1 and a zero gradient through the clip; the logits give the true loss.
    logits = tf.constant([[0.0, 1.0, -120.0], [3.0, 1.0, 0.5]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        probs = tf.keras.activations.softmax(logits)
        value = loss(tf.constant(labels), probs)
    want = float(tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        tf.constant([2, 0]), logits))
    assert abs(float(value) - want) < 1e-4 and want > 60
    g = tape.gradient(value, logits).numpy()
    np.testing.assert_allclose(g[0, 2], -0.5, atol=1e-6)   # d(mean loss)/d logit of the label
    # the same probabilities made another way (no activation) take the clipped path
    plain = tf.constant(probs.numpy())
    assert abs(float(loss(tf.constant(labels), plain)) - want) > 10


def test_sigmoid_output_binary_crossentropy_uses_its_logits():
    logits = tf.constant([[40.0, -3.0]])
    probs = tf.keras.activations.sigmoid(logits)
    got = float(tf.keras.losses.BinaryCrossentropy()(tf.constant([[0.0, 1.0]]), probs))
    want = float(tf.keras.losses.BinaryCrossentropy(from_logits=True)(
        tf.constant([[0.0, 1.0]]), logits))
    assert abs(got - want) < 1e-5 and want > 20   # clipping would cap the first term at 16.1


@pytest.mark.parametrize("ignore_class", [None, 1])
def test_softmax_output_sparse_loss_reuses_the_probabilities_and_matches_the_logits(
        ignore_class):
    # The loss of a softmax layer's output is taken from -log p[label] and its gradient from
    # p - onehot (no second softmax); it must agree with the from-logits loss in float64.
    logits = tf.constant(rng.normal(size=(6, 5)) * 3)
    labels = tf.constant([0, 1, 4, 2, 1, 3])
    kw = {} if ignore_class is None else {"ignore_class": ignore_class}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        probs = tf.keras.activations.softmax(logits)
        value = tf.keras.losses.SparseCategoricalCrossentropy(**kw)(labels, probs)
        want = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, **kw)(
            labels, logits)
    reused = [r for r in tape._records if r.op.name == "sparse_softmax_cross_entropy"]
    assert len(reused) == 2 and reused[0].params["probs"] is probs.value
    assert "probs" not in reused[1].params
    np.testing.assert_allclose(float(value), float(want), rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(value, logits).numpy(),
                               tape.gradient(want, logits).numpy(), rtol=1e-10, atol=1e-14)
    # and the second derivative (the Hessian-vector product) too
    with tf.GradientTape() as outer:
        outer.watch(logits)
        with tf.GradientTape() as inner:
            inner.watch(logits)
            loss = tf.keras.losses.SparseCategoricalCrossentropy(**kw)(
                labels, tf.keras.activations.softmax(logits))
        g = inner.gradient(loss, logits)
        gv = tf.reduce_sum(g * tf.constant(np.linspace(-1, 1, 30).reshape(6, 5)))
    hv = outer.gradient(gv, logits).numpy()
    z = logits.numpy()
    v = np.linspace(-1, 1, 30).reshape(6, 5)
    w = np.ones(6) if ignore_class is None else (labels.numpy() != ignore_class).astype(float)
    s = softmax(z)
    want_hv = (s * (v - (v * s).sum(-1, keepdims=True))) * w[:, None] / w.sum()
    np.testing.assert_allclose(hv, want_hv, rtol=1e-9, atol=1e-12)
