"""Device placement and host/device copies, on the NumPy stand-in for CuPy (tests/gpu/fake_cupy.py).

These run everywhere. They check the rules in backend.py's docstring: where tensors are made,
the device context and TAPEGRAD_DEVICE, the error for an op given tensors of two devices,
explicit copies (.numpy(), tf.identity under a device), Variable copy-on-write without NumPy's
read-only flag, host-resident datasets and checkpoints, tf.config's device lists, and that a
training step makes no device->host copy (each one would make a real GPU wait).
"""

import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fake_cupy
import tapegrad as tf
from tapegrad import backend
from tapegrad.errors import InvalidArgumentError

config = importlib.import_module("tapegrad.config")  # tf.config is a namespace until __init__

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def on_gpu(t):
    return type(t.value) is fake_cupy.ndarray


def on_cpu(t):
    return isinstance(t.value, np.ndarray)


# ---------------------------------------------------------------- placement


def test_tensors_are_made_on_the_current_device(fake_gpu):
    made = [tf.constant([1.0, 2.0]), tf.Variable([1.0]), tf.zeros((2, 2)), tf.ones(3),
            tf.random.normal((2,)), tf.random.uniform((2,), seed=1), tf.range(4),
            tf.convert_to_tensor(np.ones(2)), tf.constant(3) + 1]
    assert all(on_gpu(t) for t in made), [type(t.value) for t in made]
    assert made[0].device == "/job:localhost/replica:0/task:0/device:GPU:0"
    with tf.device("/CPU:0"):
        x = tf.constant([1.0, 2.0])
        y = tf.Variable(np.zeros(3))
        assert backend.current_device() == "cpu" and backend.xp is np
    assert on_cpu(x) and on_cpu(y) and x.device.endswith("device:CPU:0")
    assert backend.current_device() == "gpu"


def test_the_device_context_nests_and_restores_after_errors(fake_gpu):
    with tf.device("/CPU:0"):
        with tf.device("GPU:0"):
            assert on_gpu(tf.constant(1.0))
        assert on_cpu(tf.constant(1.0))
        with tf.device(None):  # TensorFlow's "no change"
            assert backend.current_device() == "cpu"
    with pytest.raises(ZeroDivisionError):
        with tf.device("/CPU:0"):
            1 / 0
    assert backend.current_device() == "gpu"


@pytest.mark.parametrize("name", ["gpu", "GPU", "GPU:0", "/GPU:0", "/device:GPU:0",
                                  "/job:localhost/replica:0/task:0/device:GPU:0"])
def test_tensorflow_device_names_are_understood(fake_gpu, name):
    with tf.device("/CPU:0"):
        with tf.device(name):
            assert backend.current_device() == "gpu"
    gpu = config.list_physical_devices("GPU")[0]
    with tf.device("/CPU:0"), tf.device(gpu):
        assert backend.current_device() == "gpu"


@pytest.mark.parametrize("name", ["/GPU:1", "/TPU:0", "cuda", ""])
def test_unknown_device_names_are_refused(fake_gpu, name):
    if name == "":
        with tf.device(name):  # as None: no change
            assert backend.current_device() == "gpu"
        return
    with pytest.raises(ValueError, match="unknown device"):
        backend.set_device(name)


def test_without_a_gpu_the_gpu_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "_probed", None)  # what _find_cupy answers with no GPU
    monkeypatch.setattr(backend, "cupy", None)
    with pytest.raises(RuntimeError, match="no GPU: CuPy is not installed or sees no device"):
        with tf.device("/GPU:0"):
            pass
    assert backend.current_device() == "cpu"
    assert config.list_physical_devices("GPU") == []
    assert [d.device_type for d in config.list_physical_devices()] == ["CPU"]


# ---------------------------------------------------------------- TAPEGRAD_DEVICE (fresh imports)


def _run(code, **env):
    """Run `code` in a fresh interpreter where `import cupy` finds the fake (unless told not)."""
    prelude = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {HERE!r})
        import fake_cupy
        if {env.pop('fake', True)!r}:
            sys.modules.update(fake_cupy.modules())
        else:
            sys.modules["cupy"] = None  # `import cupy` fails, as with no CuPy installed
    """)
    full_env = {k: v for k, v in os.environ.items() if k != "TAPEGRAD_DEVICE"}
    full_env.update(env)
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=60)


_REPORT = """
    import tapegrad as tf
    t = tf.constant([1.0])
    print(tf.backend.current_device(), type(t.value).__module__, t.device[-5:],
          len(tf.config.list_physical_devices('GPU')))
"""


@pytest.mark.parametrize("env, expected", [
    ({}, "gpu fake_cupy GPU:0 1"),  # the default: the GPU when CuPy sees one, as TF
    ({"TAPEGRAD_DEVICE": "gpu"}, "gpu fake_cupy GPU:0 1"),
    ({"TAPEGRAD_DEVICE": "cpu"}, "cpu numpy CPU:0 1"),  # the GPU is still listed
    ({"TAPEGRAD_DEVICE": "/CPU:0"}, "cpu numpy CPU:0 1"),
    ({"FAKE_CUPY_DEVICES": "0"}, "cpu numpy CPU:0 0"),  # CuPy installed, no device
    ({"fake": False}, "cpu numpy CPU:0 0"),  # no CuPy
])
def test_tapegrad_device_environment_variable(env, expected):
    r = _run(_REPORT, **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == expected.split()


@pytest.mark.parametrize("env, message", [
    ({"TAPEGRAD_DEVICE": "gpu", "fake": False}, "no GPU: CuPy is not installed"),
    ({"TAPEGRAD_DEVICE": "tpu"}, "TAPEGRAD_DEVICE='tpu'"),
])
def test_tapegrad_device_environment_variable_errors(env, message):
    r = _run("import tapegrad", **env)
    assert r.returncode != 0 and message in r.stderr, r.stderr


# ---------------------------------------------------------------- mixing devices


def test_an_op_on_two_devices_names_both_and_the_fix(fake_gpu):
    with tf.device("/CPU:0"):
        a = tf.constant([1.0, 2.0])
    b = tf.constant([3.0, 4.0])
    with pytest.raises(InvalidArgumentError) as e:
        a + b
    msg = str(e.value)
    assert msg.startswith("add:") and "/CPU:0" in msg and "/GPU:0" in msg
    assert "tf.identity" in msg and ".numpy()" in msg
    with tf.device("/CPU:0"), pytest.raises(InvalidArgumentError, match=r"^multiply: .*GPU"):
        b * 2.0  # a GPU tensor in an op that runs on the CPU


def test_a_variable_on_the_other_device_is_named_by_the_op_that_reads_it(fake_gpu):
    with tf.device("/CPU:0"):
        v = tf.Variable([[1.0], [2.0]])
    with tf.GradientTape(), pytest.raises(InvalidArgumentError, match=r"^matmul: .*CPU"):
        tf.matmul(tf.ones((2, 2)), v)  # not "read_variable": the op's own inputs are checked


def test_host_data_is_welcome_in_gpu_ops(fake_gpu):
    b = tf.constant([3.0, 4.0])
    out = [b + np.ones(2, np.float32), b * 2.0, b + [1.0, 1.0], tf.maximum(b, 0.0)]
    assert all(on_gpu(t) for t in out)
    np.testing.assert_allclose(out[0].numpy(), [4.0, 5.0])


def test_cpu_only_programs_do_not_run_the_check(monkeypatch):
    if backend.cupy is not None:
        pytest.skip("a GPU is in use: the check runs")
    monkeypatch.setattr(backend, "check_placement", lambda *a: pytest.fail("check ran"))
    with tf.GradientTape():
        tf.matmul(tf.ones((2, 2)), tf.Variable(tf.ones((2, 1))))


def test_identity_under_a_device_is_the_explicit_copy(fake_gpu):
    x = tf.constant([1.0, 2.0])
    with tf.device("/CPU:0"):
        h = tf.identity(x)
        assert on_cpu(h) and on_cpu(h + 1.0)
    g = tf.identity(h)
    assert on_gpu(g) and on_gpu(g + x)
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0])


def test_gradient_runs_on_the_device_of_the_forward(fake_gpu):
    with tf.device("/CPU:0"):
        v = tf.Variable([1.0, 2.0])
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(v * v)
    g = tape.gradient(y, v)  # called outside the CPU scope
    assert on_cpu(g)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_a_gradient_through_a_copy_comes_back_to_the_source_device(fake_gpu):
    with tf.device("/CPU:0"):
        x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.identity(x) ** 2)  # x copied to the GPU, squared there
    g = tape.gradient(y, x)
    assert on_cpu(g)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


# ---------------------------------------------------------------- host copies


def test_numpy_is_one_host_copy(fake_gpu):
    t = tf.constant([[1.0, 2.0]])
    v = tf.Variable([1.0, 2.0])
    counters = fake_gpu.counters
    counters.reset()
    a = t.numpy()
    assert isinstance(a, np.ndarray) and counters.d2h == 1
    a[0, 0] = 9.0  # a copy: the tensor does not change
    assert v.numpy().tolist() == [1.0, 2.0] and counters.d2h == 2  # one copy, not two
    assert float(t[0, 1]) == 2.0 and counters.d2h == 3
    assert np.asarray(v).tolist() == [1.0, 2.0] and counters.d2h == 4
    assert t.numpy()[0, 0] == 1.0


def test_implicit_host_conversions_fail_as_on_cupy(fake_gpu):
    a = tf.constant([1.0, 2.0]).value
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(2)
    assert backend.to_numpy(a).tolist() == [1.0, 2.0]
    assert backend.namespace(a) is fake_gpu and backend.namespace(np.ones(1)) is np
    assert backend.namespace(1.0) is np and backend.array_device(1.0) == "cpu"


def test_convert_to_tensor_moves_arrays_of_either_device(fake_gpu):
    d = fake_gpu.asarray(np.arange(3.0))
    with tf.device("/CPU:0"):
        t = tf.convert_to_tensor(d)
    assert on_cpu(t) and t.numpy().tolist() == [0.0, 1.0, 2.0]
    assert on_gpu(tf.convert_to_tensor(np.arange(3.0)))
    assert on_gpu(tf.constant(d))


# ---------------------------------------------------------------- Variables on the GPU


def test_variable_writes_work_on_arrays_without_a_writeable_flag(fake_gpu):
    v = tf.Variable([1.0, 2.0])
    assert not hasattr(v.value.flags, "writeable")  # as CuPy's flags
    v.assign([3.0, 4.0])
    v.assign_add([1.0, 1.0])
    v.assign_sub(tf.constant([0.5, 0.5]))
    assert on_gpu(v) and v.numpy().tolist() == [3.5, 4.5]
    with tf.device("/CPU:0"):
        host = tf.constant([7.0, 8.0])
    v.assign(host)  # assign copies a value of either device into the variable's storage
    v.assign(np.array([5.0, 6.0], np.float32))
    assert on_gpu(v) and v.numpy().tolist() == [5.0, 6.0]
    s = tf.Variable(1.0)
    s.assign_add(1.0)
    assert on_gpu(s) and s.value.shape == () and float(s) == 2.0
    with pytest.raises(InvalidArgumentError, match="shape"):
        v.assign([1.0])
    with pytest.raises(InvalidArgumentError, match="dtype"):
        v.assign(tf.constant([1.0, 2.0], dtype=tf.float64))


def test_variable_copy_on_write_keeps_what_a_tape_saw(fake_gpu):
    v = tf.Variable([1.0, 2.0])
    snapshot = tf.identity(v)
    read = v.read_value()
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(v * v)
    v.assign([10.0, 20.0])  # CuPy cannot mark the saved array read-only: v moves instead
    v.assign_add([1.0, 1.0])
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [2.0, 4.0])
    assert snapshot.numpy().tolist() == [1.0, 2.0] and read.numpy().tolist() == [1.0, 2.0]
    assert v.numpy().tolist() == [11.0, 21.0]


def test_an_optimizer_step_keeps_what_a_tape_saw(fake_gpu):
    # CuPy has no read-only flag: a GPU variable moves to a new array on update, so a
    # persistent tape still holds the value it saw (on the CPU the tape's flag does this).
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(v * v)
    first = tape.gradient(y, v).numpy()
    tf.keras.optimizers.SGD(0.5).apply_gradients([(tf.ones(2), v)])
    assert on_gpu(v) and v.numpy().tolist() == [0.5, 1.5]
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), first)


def test_the_optimizer_step_and_learning_rate_live_on_the_host(fake_gpu):
    opt = tf.keras.optimizers.Adam(1e-3)
    v = tf.Variable([1.0, 2.0])
    opt.apply_gradients([(tf.ones(2), v)])
    assert on_gpu(v)
    assert isinstance(opt.iterations.value, np.ndarray) and int(opt.iterations) == 1
    assert isinstance(opt.learning_rate.value, np.ndarray)
    opt.learning_rate = 0.5  # callbacks set it
    assert float(opt.learning_rate) == 0.5


def test_an_out_of_range_label_on_the_gpu_gives_nan_as_in_tensorflow(fake_gpu):
    logits = tf.constant([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([1, 7]),
                                                          logits=logits)
    values = loss.numpy()
    assert np.isnan(values[1]) and np.isfinite(values[0])
    with tf.device("/CPU:0"), pytest.raises(InvalidArgumentError, match=r"\[0, 3\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.constant([1, 7]), logits=tf.constant([[1.0, 2.0, 3.0]] * 2))


# ---------------------------------------------------------------- data and checkpoints


def test_datasets_stay_on_the_host_and_move_a_batch_at_a_time(fake_gpu):
    x = np.arange(20.0, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    counters = fake_gpu.counters
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10, seed=0).batch(4)
    counters.reset()
    batches = list(ds)
    assert len(batches) == 3 and all(on_gpu(a) and on_gpu(b) for a, b in batches)
    assert counters.h2d == 6 and counters.d2h == 0  # one copy per component per batch
    counters.reset()
    host = list(ds.as_numpy_iterator())
    assert isinstance(host[0][0], np.ndarray) and counters.h2d == counters.d2h == 0


def test_checkpoints_save_host_copies_and_load_onto_the_gpu(fake_gpu, tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
    fake_gpu.counters.reset()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    assert fake_gpu.counters.d2h == len(model.weights)  # one host copy per weight
    model.save(str(tmp_path / "m.keras"))
    clone = tf.keras.models.load_model(str(tmp_path / "m.keras"))
    assert all(on_gpu(w) for w in clone.weights)
    np.testing.assert_allclose(clone.predict(np.ones((2, 3)), verbose=0),
                               model.predict(np.ones((2, 3)), verbose=0), rtol=1e-6)
    clone.load_weights(str(tmp_path / "w.weights.h5"))
    assert all(on_gpu(w) for w in clone.weights)


# ---------------------------------------------------------------- tf.config


def test_list_physical_devices_sees_the_gpu(fake_gpu, monkeypatch):
    assert config.list_physical_devices("GPU") == [
        backend.PhysicalDevice("/physical_device:GPU:0", "GPU")]
    assert [d.device_type for d in tf.config.list_physical_devices()] == ["CPU", "GPU"]
    assert [d.name for d in config.list_logical_devices()] == ["/device:CPU:0", "/device:GPU:0"]
    gpu = config.list_physical_devices("GPU")[0]
    config.experimental.set_memory_growth(gpu, True)  # accepted: CuPy's pool grows anyway
    assert config.experimental.get_device_details(gpu)["device_name"].startswith("Fake GPU")
    monkeypatch.setenv("FAKE_CUPY_DEVICES", "2")
    assert len(config.list_physical_devices("GPU")) == 2


def test_hiding_the_gpu_moves_work_to_the_cpu(fake_gpu, monkeypatch):
    monkeypatch.setattr(config, "_gpu_hidden", False)
    config.set_visible_devices([], "GPU")  # TensorFlow's way to force the CPU
    assert backend.current_device() == "cpu" and on_cpu(tf.constant(1.0))
    assert config.list_logical_devices("GPU") == [] and config.get_visible_devices("GPU") == []
    assert len(config.list_physical_devices("GPU")) == 1  # still there physically
    config.set_visible_devices(config.list_physical_devices("GPU"), "GPU")
    assert backend.current_device() == "gpu"
    with pytest.raises(ValueError, match="CPU cannot be hidden"):
        config.set_visible_devices([])


# ---------------------------------------------------------------- host round trips in training


def _small_models():
    cnn = tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(4, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(), tf.keras.layers.Flatten(), tf.keras.layers.Dense(3)])
    mlp = tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(16, activation="relu"), tf.keras.layers.Dense(3)])
    return [cnn, mlp]


def test_forward_and_gradient_make_no_host_copies(fake_gpu):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((4, 8, 8, 1)).astype(np.float32))
    y = tf.one_hot(tf.constant([0, 1, 2, 1]), 3)
    for model in _small_models():
        model(x)  # build
        fake_gpu.counters.reset()
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits))
        grads = tape.gradient(loss, model.trainable_variables)
        assert all(on_gpu(g) for g in grads)
        assert fake_gpu.counters.sites() == {}


# Device->host copies a training step may make, by the function that asks for them: none.
# (Label range checks, the optimizer's step and learning rate, and Mean.result's `count != 0`
# used to copy; labels are now checked on the host only, the optimizer's scalars live on the
# host, and Mean divides on the device.) Logging the metrics (get_metrics_result) is the one
# copy fit needs per step: the epoch's progress bar prints the values.
PENDING = set()


def _unexpected(sites):
    out = {}
    for site, n in sites.items():
        file, func = site.split(" <- ")[0].split(" ")[:2]
        if (file.rsplit(":", 1)[0], func) not in PENDING:
            out[site] = n
    return out


def _seed003_step(model, loss_object, optimizer, metrics, images, labels):
    """Seed 003's train_step, as the seed writes it."""
    with tf.GradientTape() as tape:
        predictions = model(images)
        loss = loss_object(labels, predictions)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    metrics[0](loss)
    metrics[1](labels, predictions)


def test_a_custom_training_step_makes_no_unexpected_host_copies(fake_gpu):
    rng = np.random.default_rng(0)
    images = tf.constant(rng.standard_normal((4, 8, 8, 1)).astype(np.float32))
    labels = tf.constant([0, 1, 2, 1])
    for model in _small_models():
        args = (model, tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                tf.keras.optimizers.Adam(),
                [tf.keras.metrics.Mean(), tf.keras.metrics.SparseCategoricalAccuracy()])
        _seed003_step(*args, images, labels)  # builds the optimizer's slots
        fake_gpu.counters.reset()
        for _ in range(3):
            _seed003_step(*args, images, labels)
        assert _unexpected(fake_gpu.counters.sites()) == {}


def test_fit_makes_no_unexpected_host_copies(fake_gpu, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    for model in _small_models():
        model.compile(optimizer="adam", metrics=["accuracy"],
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        logged = []
        original = model.get_metrics_result

        def get_metrics_result(original=original, logged=logged):
            with fake_gpu.counters.aside(logged):
                return original()

        monkeypatch.setattr(model, "get_metrics_result", get_metrics_result)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # builds
        fake_gpu.counters.reset()
        logged.clear()
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 4 steps
        assert _unexpected(fake_gpu.counters.sites()) == {}
        # Logging the running loss and accuracy: one host copy per metric per step (float())
        assert len([e for e in logged if e[0] == "d2h"]) <= 4 * 2
