"""tapegrad.keras.optimizers against update rules written out in NumPy (Keras' formulas), plus
schedules, clipping, learning-rate handling, state round trips and copy-on-write updates."""

import math
import warnings
import weakref

import numpy as np
import pytest

import tapegrad as tf
from tapegrad.errors import InvalidArgumentError
from tapegrad.keras import optimizers
from tapegrad.keras.optimizers import schedules, updates

rng = np.random.default_rng(0)
SHAPE = (3, 4)
W0 = rng.standard_normal(SHAPE)
GRADS = [rng.standard_normal(SHAPE) for _ in range(3)]


def f32(x):
    """The float32 value of a Python float: the optimizer stores its learning rate as float32."""
    return float(np.float32(x))


def trajectory(opt, dtype="float64", steps=3):
    v = tf.Variable(W0.astype(dtype))
    out = []
    for g in GRADS[:steps]:
        opt.apply_gradients([(tf.constant(g.astype(dtype)), v)])
        out.append(v.numpy())
    return out


# ------------------------------------------------------------ reference update rules (Keras)
def ref_sgd(lr, momentum=0.0, nesterov=False):
    w, m, out = W0.copy(), np.zeros(SHAPE), []
    for g in GRADS:
        if momentum:
            m = momentum * m - lr * g
            w = w + (momentum * m - lr * g if nesterov else m)
        else:
            w = w - lr * g
        out.append(w.copy())
    return out


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    w, m, v, vhat, out = W0.copy(), np.zeros(SHAPE), np.zeros(SHAPE), np.zeros(SHAPE), []
    for t, g in enumerate(GRADS, start=1):
        if wd:
            w = w - w * wd * lr
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        if amsgrad:
            vhat = np.maximum(vhat, v)
        w = w - alpha * m / (np.sqrt(vhat if amsgrad else v) + eps)
        out.append(w.copy())
    return out


def ref_rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w, vel, mom, mg, out = W0.copy(), np.zeros(SHAPE), np.zeros(SHAPE), np.zeros(SHAPE), []
    for g in GRADS:
        vel = rho * vel + (1 - rho) * g**2
        if centered:
            mg = rho * mg + (1 - rho) * g
            denom = vel - mg**2 + eps
        else:
            denom = vel + eps
        inc = lr * g / np.sqrt(denom)
        if momentum:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
        out.append(w.copy())
    return out


def ref_adagrad(lr, init=0.1, eps=1e-7):
    w, acc, out = W0.copy(), np.full(SHAPE, init), []
    for g in GRADS:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
        out.append(w.copy())
    return out


CASES = [
    ("sgd", lambda: optimizers.SGD(0.1), ref_sgd(f32(0.1))),
    ("sgd-momentum", lambda: optimizers.SGD(0.1, momentum=0.9), ref_sgd(f32(0.1), 0.9)),
    ("sgd-nesterov", lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
     ref_sgd(f32(0.1), 0.9, True)),
    ("adam", lambda: optimizers.Adam(0.01), ref_adam(f32(0.01))),
    ("adam-amsgrad", lambda: optimizers.Adam(0.01, beta_1=0.5, beta_2=0.6, amsgrad=True),
     ref_adam(f32(0.01), 0.5, 0.6, amsgrad=True)),
    ("adamw", lambda: optimizers.AdamW(0.01, weight_decay=0.1),
     ref_adam(f32(0.01), wd=0.1)),
    ("rmsprop", lambda: optimizers.RMSprop(0.01), ref_rmsprop(f32(0.01))),
    ("rmsprop-centered-momentum", lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
     ref_rmsprop(f32(0.01), momentum=0.5, centered=True)),
    ("adagrad", lambda: optimizers.Adagrad(0.1), ref_adagrad(f32(0.1))),
]


@pytest.mark.parametrize("make,want", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_three_steps_match_keras_rule(make, want):
    got = trajectory(make())
    for step, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")
    got32 = trajectory(make(), dtype="float32")
    assert got32[-1].dtype == np.float32
    np.testing.assert_allclose(got32[-1], want[-1], rtol=2e-5, atol=2e-6)


def test_defaults_are_keras_defaults():
    sgd, adam, adamw = optimizers.SGD(), optimizers.Adam(), optimizers.AdamW()
    rms, ada = optimizers.RMSprop(), optimizers.Adagrad()
    assert f32(0.01) == float(sgd.learning_rate) and sgd.momentum == 0.0 and not sgd.nesterov
    assert (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (0.9, 0.999, 1e-7, False)
    assert float(adam.learning_rate) == f32(0.001) and adamw.weight_decay == 0.004
    assert (rms.rho, rms.momentum, rms.epsilon, rms.centered) == (0.9, 0.0, 1e-7, False)
    assert (ada.initial_accumulator_value, ada.epsilon) == (0.1, 1e-7)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)


def test_weight_decay_on_any_optimizer_and_exclusion():
    opt = optimizers.SGD(0.5, weight_decay=0.1)
    a, b = tf.Variable([1.0, 2.0], name="a"), tf.Variable([1.0], name="bias")
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(np.zeros(2, "float32"), a), (np.zeros(1, "float32"), b)])
    np.testing.assert_allclose(a.numpy(), [0.95, 1.9], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [1.0])
    with pytest.raises(ValueError, match="before"):
        opt.exclude_from_weight_decay(var_names=["x"])


# ------------------------------------------------------------ schedules
SCHEDULE_CASES = [
    (schedules.ExponentialDecay(0.1, 10, 0.5), lambda s: 0.1 * 0.5 ** (s / 10)),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
     lambda s: 0.1 * 0.5 ** math.floor(s / 10)),
    (schedules.PiecewiseConstantDecay([5, 15], [1.0, 0.5, 0.1]),
     lambda s: 1.0 if s <= 5 else 0.5 if s <= 15 else 0.1),
    (schedules.CosineDecay(0.2, 20, alpha=0.1),
     lambda s: 0.2 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 20) / 20)) + 0.1)),
    (schedules.CosineDecay(0.0, 20, warmup_target=0.4, warmup_steps=10),
     lambda s: 0.4 * s / 10 if s < 10 else
     0.4 * 0.5 * (1 + math.cos(math.pi * min(s - 10, 20) / 20))),
    (schedules.InverseTimeDecay(0.3, 4, 0.5), lambda s: 0.3 / (1 + 0.5 * s / 4)),
    (schedules.InverseTimeDecay(0.3, 4, 0.5, staircase=True),
     lambda s: 0.3 / (1 + 0.5 * math.floor(s / 4))),
    (schedules.PolynomialDecay(0.5, 10, end_learning_rate=0.1, power=2.0),
     lambda s: (0.5 - 0.1) * (1 - min(s, 10) / 10) ** 2 + 0.1),
    (schedules.PolynomialDecay(0.5, 10, end_learning_rate=0.1, cycle=True),
     lambda s: (0.4 * (1 - s / (10 * max(1, math.ceil(s / 10)))) + 0.1)),
    (schedules.CosineDecayRestarts(1.0, 10, t_mul=1.0, m_mul=0.5),
     lambda s: 0.5 ** (s // 10) * 0.5 * (1 + math.cos(math.pi * (s % 10) / 10))),
    (schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0),
     lambda s: 0.5 * (1 + math.cos(math.pi * (s / 10 if s < 10 else (s - 10) / 20 if s < 30
                                               else (s - 30) / 40)))),
]


@pytest.mark.parametrize("schedule,formula", SCHEDULE_CASES,
                         ids=[f"{type(s).__name__}{i}" for i, (s, _) in enumerate(SCHEDULE_CASES)])
def test_schedule_values(schedule, formula):
    for step in (0, 1, 3, 5, 6, 9, 10, 11, 15, 16, 25, 40):
        assert schedule.value_at(step) == pytest.approx(formula(step), rel=1e-12, abs=1e-15)
        t = schedule(tf.constant(step))
        assert t.dtype == np.float32
        assert float(t) == pytest.approx(formula(step), rel=1e-6, abs=1e-7)
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()


def test_schedule_argument_errors():
    with pytest.raises(ValueError, match="plus 1"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 2.0])
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_optimizer_follows_schedule_at_iterations():
    sched = schedules.PiecewiseConstantDecay([1], [0.5, 0.25])
    opt = optimizers.SGD(sched)
    v = tf.Variable(0.0, dtype="float64")
    seen = []
    for _ in range(3):
        seen.append(float(opt.learning_rate))
        opt.apply_gradients([(tf.constant(1.0, dtype="float64"), v)])
    assert seen == [0.5, 0.5, 0.25]  # iterations 0, 1 are <= 1
    assert float(v) == pytest.approx(-1.25, rel=1e-12)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.1
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    again = optimizers.SGD.from_config(config)
    assert again._learning_rate.get_config() == sched.get_config()


def test_custom_schedule_subclass_gets_iterations():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2.0 ** int(step)

        def get_config(self):
            return {}

    opt = optimizers.SGD(Halving())
    v = tf.Variable(0.0, dtype="float64")
    for _ in range(3):
        opt.apply_gradients([(tf.constant(1.0, dtype="float64"), v)])
    assert float(v) == pytest.approx(-(1 + 0.5 + 0.25))


def test_learning_rate_settable_as_float_schedule_and_callable():
    opt = optimizers.SGD(0.5)
    assert isinstance(opt.learning_rate, tf.Variable) and float(opt.learning_rate) == 0.5
    v = tf.Variable(1.0, dtype="float64")
    g = tf.constant(1.0, dtype="float64")
    opt.learning_rate = 0.25
    opt.apply_gradients([(g, v)])
    opt.lr = 0.125  # the Keras 2 alias
    assert float(opt.lr) == 0.125
    opt.apply_gradients([(g, v)])
    opt.learning_rate.assign(0.5)  # TF style: assign to the Variable
    opt.apply_gradients([(g, v)])
    opt.learning_rate = schedules.ExponentialDecay(1.0, 1, 0.5)  # at iterations=3: 0.125
    opt.apply_gradients([(g, v)])
    opt.learning_rate = lambda: 0.0625
    assert opt.learning_rate == 0.0625
    opt.apply_gradients([(g, v)])
    assert float(v) == pytest.approx(1 - 0.25 - 0.125 - 0.5 - 0.125 - 0.0625)
    with pytest.raises(TypeError, match="number"):
        optimizers.SGD("fast")


def test_legacy_lr_and_decay_arguments():
    opt = optimizers.legacy.SGD(lr=0.5, decay=1.0)
    v = tf.Variable(0.0, dtype="float64")
    for _ in range(3):
        opt.apply_gradients([(tf.constant(1.0, dtype="float64"), v)])
    assert float(v) == pytest.approx(-(0.5 + 0.25 + 0.5 / 3))
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(betta_1=0.9)


# ------------------------------------------------------------ clipping
def test_clipnorm_is_per_gradient():
    opt = optimizers.SGD(1.0, clipnorm=1.0)
    a, b = tf.Variable([0.0, 0.0]), tf.Variable([0.0])
    opt.apply_gradients([(tf.constant([3.0, 4.0]), a), (tf.constant([0.5]), b)])
    np.testing.assert_allclose(a.numpy(), [-0.6, -0.8], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-0.5], rtol=1e-6)


def test_global_clipnorm_scales_all_gradients_together():
    opt = optimizers.SGD(1.0, global_clipnorm=1.3)
    a, b = tf.Variable([0.0, 0.0]), tf.Variable([0.0])
    opt.apply_gradients([(tf.constant([3.0, 4.0]), a), (tf.constant([12.0]), b)])  # norm 13
    np.testing.assert_allclose(a.numpy(), [-0.3, -0.4], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-1.2], rtol=1e-6)
    small = optimizers.SGD(1.0, global_clipnorm=100.0)
    small.apply_gradients([(tf.constant([3.0, 4.0]), a)])
    np.testing.assert_allclose(a.numpy(), [-3.3, -4.4], rtol=1e-6)


def test_clipvalue_and_only_one_clipping_option():
    opt = optimizers.SGD(1.0, clipvalue=0.5)
    a = tf.Variable([0.0, 0.0, 0.0])
    opt.apply_gradients([(tf.constant([-2.0, 0.25, 3.0]), a)])
    np.testing.assert_allclose(a.numpy(), [0.5, -0.25, -0.5])
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


# ------------------------------------------------------------ gradients and variables
def test_none_gradients_are_skipped_with_a_warning():
    opt = optimizers.SGD(0.5)
    a, b = tf.Variable([1.0], name="a"), tf.Variable([1.0], name="b")
    with pytest.warns(UserWarning, match="b:0"):
        opt.apply_gradients(zip([tf.constant([1.0]), None], [a, b]))
    assert a.numpy()[0] == 0.5 and b.numpy()[0] == 1.0
    assert int(opt.iterations) == 1


def test_all_none_gradients_raise_naming_the_variables():
    opt = optimizers.Adam()
    a, b = tf.Variable([1.0], name="dense/kernel"), tf.Variable([1.0], name="dense/bias")
    with pytest.raises(ValueError, match=r"No gradients provided for any variable.*dense/kernel"):
        opt.apply_gradients(zip([None, None], [a, b]))


def test_shape_mismatch_raises_naming_variable_and_shapes():
    opt = optimizers.SGD()
    v = tf.Variable(np.zeros((2, 3), "float32"), name="dense/kernel")
    with pytest.raises(InvalidArgumentError, match=r"dense/kernel.*\(3, 2\).*\(2, 3\)"):
        opt.apply_gradients([(np.zeros((3, 2), "float32"), v)])


def test_gradients_as_arrays_generators_and_other_dtypes():
    opt = optimizers.SGD(0.5)
    v = tf.Variable([1.0, 1.0])
    opt.apply_gradients((g, w) for g, w in [(np.array([1.0, 2.0]), v)])  # float64 -> float32
    assert v.dtype == np.float32
    np.testing.assert_allclose(v.numpy(), [0.5, 0.0])
    opt.apply_gradients([([1.0, 1.0], v)])
    np.testing.assert_allclose(v.numpy(), [0.0, -0.5])
    assert opt.apply_gradients([]) is opt.iterations and int(opt.iterations) == 2
    with pytest.raises(TypeError, match="Variable"):
        opt.apply_gradients([(tf.constant([1.0]), tf.constant([1.0]))])
    with pytest.raises(ValueError, match="pairs"):
        opt.apply_gradients([tf.constant([1.0])])


def test_in_place_when_writeable():
    opt = optimizers.Adam(0.1)
    v = tf.Variable(np.ones((4, 5), "float32"))
    storage = weakref.ref(v.value)  # (a weak reference: holding the array would force a copy)
    opt.apply_gradients([(np.ones((4, 5), "float32"), v)])
    m = opt.get_slot(v, "m").value
    opt.apply_gradients([(np.ones((4, 5), "float32"), v)])
    assert v.value is storage() and opt.get_slot(v, "m").value is m
    assert not np.allclose(storage(), 1.0)


@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_arrays_a_finished_tape_froze_are_updated_in_place_and_a_live_tape_keeps_its_own(make):
    opt = make()
    v = tf.Variable(W0.astype("float32"))
    x = tf.constant(np.arange(W0.shape[-1], dtype="float32"))

    def loss():
        return tf.reduce_sum(tf.square(v * x))

    with tf.GradientTape() as tape:
        value = loss()
    assert not v.value.flags.writeable   # the tape saved (and froze) the variable's array
    g = tape.gradient(value, v)
    storage = weakref.ref(v.value)
    opt.apply_gradients([(g, v)])
    # the tape is done and nothing else holds the array: updated where it is, writeable again
    assert v.value is storage() and v.value.flags.writeable
    # a persistent tape still holds the array it saw: the update moves the variable instead
    with tf.GradientTape(persistent=True) as keep:
        value = loss()
    saw = v.numpy()
    g1 = keep.gradient(value, v).numpy()
    opt.apply_gradients([(tf.constant(g1), v)])
    assert not np.array_equal(v.numpy(), saw)
    np.testing.assert_array_equal(keep.gradient(value, v).numpy(), g1)  # still at what it saw
    held = v.value
    opt.apply_gradients([(tf.constant(g1), v)])   # a holder outside any tape: also left alone
    assert v.value is not held and not np.array_equal(v.numpy(), held)



@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_copy_on_write_leaves_read_only_arrays_alone(make):
    opt = make()
    v = tf.Variable(W0.astype("float32"))
    opt.apply_gradients([(GRADS[0].astype("float32"), v)])  # build slots
    old = v.value
    old.flags.writeable = False
    slot_arrays = [s.value for s in opt.variables[1:]]
    for a in slot_arrays:
        a.flags.writeable = False
    saved = old.copy(), [a.copy() for a in slot_arrays]
    opt.apply_gradients([(GRADS[1].astype("float32"), v)])
    assert v.value is not old
    np.testing.assert_array_equal(old, saved[0])
    for a, copy in zip(slot_arrays, saved[1]):
        np.testing.assert_array_equal(a, copy)
    assert not np.array_equal(v.numpy(), old)


def test_tape_saved_weights_survive_the_update():
    v = tf.Variable(np.array([1.0, 2.0], "float32"))
    opt = optimizers.SGD(0.1, momentum=0.9, nesterov=True)
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(v * v)
    before = v.numpy()
    opt.apply_gradients([(tape.gradient(loss, v), v)])
    np.testing.assert_allclose(v.numpy(), before - 0.1 * 2 * before * 1.9, rtol=1e-6)
    # The tape still holds the old weights: the gradient is unchanged.
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), 2 * before)


def test_minimize_converges_on_a_quadratic():
    target = np.array([1.0, -2.0, 3.0], "float32")
    for opt in (optimizers.SGD(0.1), optimizers.Adam(0.1), optimizers.RMSprop(0.05),
                optimizers.Adagrad(0.5), optimizers.SGD(0.05, momentum=0.9)):
        v = tf.Variable(np.zeros(3, "float32"))
        for _ in range(300):
            opt.minimize(lambda v=v: tf.reduce_sum((v - target) ** 2), [v])
        np.testing.assert_allclose(v.numpy(), target, atol=2e-2, err_msg=type(opt).__name__)
    v = tf.Variable(np.zeros(3, "float32"))
    opt = optimizers.SGD(0.25)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum((v - target) ** 2)
    opt.minimize(loss, [v], tape=tape)
    np.testing.assert_allclose(v.numpy(), target * 0.5)
    with pytest.raises(ValueError, match="tape"):
        opt.minimize(loss, [v])


# ------------------------------------------------------------ state and config
def test_state_round_trip_continues_identically():
    def fresh():
        return [tf.Variable(W0.astype("float32"), name="dense/kernel"),
                tf.Variable(np.zeros(4, "float32"), name="dense/bias")]

    def step(opt, vs, i):
        opt.apply_gradients(zip([GRADS[i % 3].astype("float32"),
                                 GRADS[i % 3][0].astype("float32")], vs))

    a_vars, a = fresh(), optimizers.Adam(0.01, amsgrad=True)
    for i in range(2):
        step(a, a_vars, i)
    state = a.get_state()
    assert int(state["iterations"]) == 2
    assert {"adam/m/dense/kernel:0", "adam/v/dense/bias:0", "adam/vhat/dense/kernel:0",
            "learning_rate"} <= set(state)
    b_vars = fresh()
    for mine, theirs in zip(b_vars, a_vars):
        mine.assign(theirs.numpy())
    b = optimizers.Adam(0.01, amsgrad=True)
    b.set_state(state)  # before the first step: slots restored when the variables appear
    c = optimizers.Adam(0.01, amsgrad=True)
    c_vars = fresh()
    for mine, theirs in zip(c_vars, a_vars):
        mine.assign(theirs.numpy())
    c.set_state(state, var_list=c_vars)
    for i in range(2, 5):
        step(a, a_vars, i)
        step(b, b_vars, i)
        step(c, c_vars, i)
    for x, y, z in zip(a_vars, b_vars, c_vars):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
        np.testing.assert_array_equal(x.numpy(), z.numpy())
    assert int(b.iterations) == 5
    with pytest.raises(ValueError, match="not the state"):
        optimizers.SGD(momentum=0.9).set_state(state)


def test_duplicate_variable_names_get_distinct_state_keys():
    opt = optimizers.SGD(momentum=0.5)
    a, b = tf.Variable([1.0]), tf.Variable([2.0])
    opt.apply_gradients([(tf.constant([1.0]), a), (tf.constant([2.0]), b)])
    keys = [k for k in opt.get_state() if k.startswith("sgd/")]
    assert keys == ["sgd/momentum/Variable:0", "sgd/momentum/Variable:0_1"]


def test_variables_and_weights():
    opt = optimizers.RMSprop(momentum=0.5, centered=True)
    v = tf.Variable(np.ones(3, "float32"))
    assert len(opt.variables) == 1 and len(opt.variables()) == 1  # property or TF2 call
    opt.apply_gradients([(np.ones(3, "float32"), v)])
    assert opt.iterations.dtype == np.int64 and opt.iterations.numpy() == 1
    assert not opt.iterations.trainable
    assert len(opt.variables) == 4 and all(not s.trainable for s in opt.variables)
    weights = opt.get_weights()
    opt.apply_gradients([(np.ones(3, "float32"), v)])
    opt.set_weights(weights)
    assert opt.iterations.numpy() == 1
    with pytest.raises(ValueError, match="expected 4"):
        opt.set_weights(weights[:2])
    assert opt.get_slot_names() == ["velocity", "momentum", "average_gradient"]


def test_get_serialize_deserialize():
    for name, cls in [("sgd", optimizers.SGD), ("Adam", optimizers.Adam),
                      ("ADAMW", optimizers.AdamW), ("RMSprop", optimizers.RMSprop),
                      ("adagrad", optimizers.Adagrad)]:
        assert type(optimizers.get(name)) is cls
    opt = optimizers.Adam(0.02, beta_1=0.8, clipnorm=2.0, name="my_adam")
    assert optimizers.get(opt) is opt
    again = optimizers.get(optimizers.serialize(opt))
    assert type(again) is optimizers.Adam and again.get_config() == opt.get_config()
    assert again.get_config()["learning_rate"] == 0.02 and again.name == "my_adam"
    for cls in (optimizers.SGD, optimizers.RMSprop, optimizers.Adagrad, optimizers.AdamW):
        o = cls()
        assert cls.from_config(o.get_config()).get_config() == o.get_config()
    with pytest.raises(ValueError, match="adagrad.*sgd"):
        optimizers.get("adamax_typo")
    assert tf.keras.optimizers.legacy.Adam is optimizers.Adam
    assert tf.optimizers.SGD is optimizers.SGD
    assert tf.keras.optimizers.schedules.CosineDecay is schedules.CosineDecay


def test_no_tape_records_during_update():
    v = tf.Variable(np.ones(3, "float32"))
    opt = optimizers.Adam()
    with tf.GradientTape() as tape, warnings.catch_warnings():
        warnings.simplefilter("error")
        tape.watch(v)
        opt.apply_gradients([(tf.ones(3), v)])
    assert tape._records == []


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(1e-3),
                                  lambda: optimizers.SGD(1e-2, momentum=0.9),
                                  lambda: optimizers.RMSprop(1e-3, momentum=0.9)],
                         ids=["adam", "sgd_momentum", "rmsprop"])
def test_state_of_zero_gradient_entries_is_flushed_before_it_turns_subnormal(make, monkeypatch):
    # Half the entries get a gradient once and zeros after (a dead ReLU unit's weights): their
    # state decays by 0.9 a step, into float32's subnormal range (slow arithmetic) by ~850
    # steps. With the flush it never gets there, and the weights come out bit for bit the same.
    def run(flush_every):
        monkeypatch.setattr(updates, "FLUSH_EVERY", flush_every)
        opt, r = make(), np.random.default_rng(1)
        v = tf.Variable(np.ones(16, "float32"))
        for step in range(1000):
            g = r.standard_normal(16).astype("float32")
            if step:
                g[8:] = 0.0
            opt.apply_gradients([(g, v)])
        tiny = np.finfo(np.float32).tiny
        slots = [opt.get_slot(v, s).value for s in opt.get_slot_names()]
        subnormal = sum(int(np.count_nonzero((s != 0) & (np.abs(s) < tiny))) for s in slots)
        return v.value.copy(), subnormal

    plain, subnormal_plain = run(0)
    flushed, subnormal_flushed = run(8)
    assert subnormal_plain > 0, "the test no longer drives any state subnormal"
    assert subnormal_flushed == 0
    np.testing.assert_array_equal(flushed, plain)


def test_sgd_update_of_a_large_array_runs_in_blocks_in_place_with_the_same_result(monkeypatch):
    monkeypatch.setattr(updates, "BLOCK_ELEMENTS", 5)   # 12 elements: blocks of 5, 5, 2
    v = tf.Variable(W0.astype("float32"))
    storage = weakref.ref(v.value)
    want = W0.astype("float32")
    for g in GRADS:
        g = g.astype("float32")
        optimizers.SGD(0.1).apply_gradients([(g, v)])
        want = want - np.float32(f32(0.1)) * g
    assert v.value is storage()
    np.testing.assert_array_equal(v.numpy(), want)
    # An array someone else holds is left alone: the variable moves to a new one.
    held = v.value
    optimizers.SGD(0.1).apply_gradients([(GRADS[0].astype("float32"), v)])
    assert v.value is not held
    np.testing.assert_array_equal(held, want)
