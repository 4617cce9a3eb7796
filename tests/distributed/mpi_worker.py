"""The programs the MPI tests run under `mpiexec -n 2` (one scenario per run).

    mpiexec -n 2 python tests/distributed/mpi_worker.py SCENARIO OUT_DIR [OPTIMIZER]

Each rank writes what it saw to OUT_DIR/rank{r}.npz or .json; test_mpi.py checks it. The model,
the data and the single-process reference step live here too, so the test and the ranks build
exactly the same things.
"""

import json
import os
import sys
import time

import numpy

import tapegrad as tf
import tapegrad.distributed as hvd

GLOBAL_BATCH = 16
STEPS = 3


def data():
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(GLOBAL_BATCH * STEPS, 5)).astype("float32")
    y = rng.normal(size=(GLOBAL_BATCH * STEPS, 3)).astype("float32")
    return x, y


def build_model(seed):
    tf.random.set_seed(seed)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"),
                                 tf.keras.layers.Dense(3)])
    model(tf.zeros((1, 5)))
    return model


class PlainSGD:
    """A minimal optimizer, so the tape path is tested whatever keras.optimizers provides."""

    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate

    def apply_gradients(self, grads_and_vars):
        for g, v in grads_and_vars:
            if g is not None:
                v.assign_sub(self.learning_rate * g)


def make_optimizer(name):
    if name == "plain":
        return PlainSGD(0.1)
    opts = tf.keras.optimizers
    return {"sgd": lambda: opts.SGD(0.1), "adam": lambda: opts.Adam(0.01)}[name]()


def loss_fn(model, x, y):
    return tf.reduce_mean(tf.square(model(x) - y))


def local_steps(model, opt, x, y, wrap, batch, rank_, size_):
    """STEPS steps on this rank's slice of each global batch; `wrap`: 'tape' or 'optimizer'."""
    for step in range(STEPS):
        lo = step * batch + rank_ * (batch // size_)
        xs, ys = x[lo:lo + batch // size_], y[lo:lo + batch // size_]
        with tf.GradientTape() as tape:
            loss = loss_fn(model, xs, ys)
        if wrap == "tape":
            tape = hvd.DistributedGradientTape(tape)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))


def reference_weights(initial, optimizer):
    """One process, whole global batches: what the ranks must end with."""
    model = build_model(0)
    model.set_weights(initial)
    x, y = data()
    local_steps(model, make_optimizer(optimizer), x, y, "none", GLOBAL_BATCH, 0, 1)
    return model.get_weights()


def save(out, name, *arrays, **named):
    numpy.savez(os.path.join(out, f"{name}.npz"), *arrays, **named)


def scenario_step(out, wrap, optimizer):
    model = build_model(seed=100 + hvd.rank())  # different on purpose: broadcast fixes it
    hvd.broadcast_variables(model.variables, root_rank=0)
    initial = model.get_weights()
    opt = make_optimizer(optimizer)
    if wrap == "optimizer":
        opt = hvd.DistributedOptimizer(opt)
    x, y = data()
    hvd.collective_stats(reset=True)
    local_steps(model, opt, x, y, wrap, GLOBAL_BATCH, hvd.rank(), hvd.size())
    calls = hvd.collective_stats()["calls"]
    save(out, f"rank{hvd.rank()}", *initial, *model.get_weights(), calls=calls)


def scenario_collectives(out):
    r = hvd.rank()
    seen = {}
    seen["average"] = hvd.allreduce(tf.constant([1.0, 2.0]) * (r + 1)).numpy().tolist()
    seen["sum"] = hvd.allreduce(tf.constant([1, 2]) * (r + 1), op=hvd.Sum).numpy().tolist()
    seen["average_false"] = hvd.allreduce(tf.constant(1.0), average=False).numpy().tolist()
    seen["max"] = hvd.allreduce(tf.constant([r, -r]), op=hvd.Max).numpy().tolist()
    gathered = hvd.allgather(tf.fill([r + 1, 2], float(r)))
    seen["allgather"] = gathered.numpy().tolist()
    seen["broadcast"] = hvd.broadcast(tf.constant([r, r + 10]), root_rank=1).numpy().tolist()
    seen["grouped"] = [t.numpy().tolist() for t in
                       hvd.grouped_allreduce([tf.constant([float(r)]), tf.constant(2.0 * r)])]
    # Gradients: one variable used on rank 1 only, one unused everywhere.
    a, b, c = tf.Variable([1.0, 2.0]), tf.Variable(3.0), tf.Variable(4.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(a * a) + (b * 5.0 if r == 1 else 0.0)
    grads = hvd.DistributedGradientTape(tape).gradient(loss, {"a": a, "b": b, "c": c})
    seen["grads"] = {k: None if g is None else g.numpy().tolist() for k, g in grads.items()}
    stats = hvd.collective_stats()
    seen["stats_calls"] = stats["calls"]
    from tapegrad import backend

    seen["threads"] = [backend.num_threads, backend._default_threads(), hvd.local_size()]
    with open(os.path.join(out, f"rank{r}.json"), "w") as f:
        json.dump(seen, f)


class FakeOptimizer:
    def __init__(self, learning_rate, momentum):
        self.learning_rate, self.momentum = learning_rate, momentum


def warmup_schedule(callback, epochs, steps):
    """(lr, momentum) seen inside each batch of `epochs` x `steps`, driving the hooks by hand."""
    import types

    model = types.SimpleNamespace(optimizer=FakeOptimizer(callback.initial_lr, 0.9))
    callback.set_model(model)
    callback.on_train_begin()
    seen = []
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        for batch in range(steps):
            callback.on_train_batch_begin(batch)
            seen.append((model.optimizer.learning_rate, model.optimizer.momentum))
            callback.on_train_batch_end(batch)
        callback.on_epoch_end(epoch, {})
    seen.append((model.optimizer.learning_rate, model.optimizer.momentum))
    return seen


def scenario_callbacks(out):
    from tapegrad.distributed.callbacks import LearningRateWarmupCallback, MetricAverageCallback

    r = hvd.rank()
    logs = {"loss": 1.0 + r, "accuracy": 0.5 + 0.25 * r, "name": "not a number"}
    MetricAverageCallback().on_epoch_end(0, logs)
    warmup = LearningRateWarmupCallback(0.8, warmup_epochs=2, steps_per_epoch=2)
    logs["warmup"] = warmup_schedule(warmup, epochs=3, steps=2)
    with open(os.path.join(out, f"rank{r}.json"), "w") as f:
        json.dump(logs, f)


def fit_data(x, y, batch, size_):
    """Reorder (x, y) so that fit's k-th batch of `batch` holds every rank's k-th local batch."""
    local = batch // size_
    n = len(x) // size_
    shards = [(x[i * n:(i + 1) * n], y[i * n:(i + 1) * n]) for i in range(size_)]
    order_x, order_y = [], []
    for k in range(n // local):
        for sx, sy in shards:
            order_x.append(sx[k * local:(k + 1) * local])
            order_y.append(sy[k * local:(k + 1) * local])
    return numpy.concatenate(order_x), numpy.concatenate(order_y)


def compile_model(model, optimizer, distributed):
    opt = make_optimizer(optimizer)
    model.compile(optimizer=hvd.DistributedOptimizer(opt) if distributed else opt, loss="mse")


def scenario_fit(out, optimizer):
    r, n = hvd.rank(), hvd.size()
    model = build_model(seed=100 + r)
    initial = hvd.broadcast(tf.concat([tf.reshape(w, [-1]) for w in model.get_weights()], 0))
    compile_model(model, optimizer, distributed=True)
    x, y = data()
    shard = len(x) // n
    history = model.fit(
        x[r * shard:(r + 1) * shard], y[r * shard:(r + 1) * shard], epochs=2,
        batch_size=GLOBAL_BATCH // n, shuffle=False, verbose=0,
        callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                   hvd.callbacks.MetricAverageCallback()])
    save(out, f"rank{r}", *model.get_weights(), initial=initial.numpy(),
         loss=numpy.array(history.history["loss"]))


def scenario_raise(out):
    if hvd.rank() == 1:
        raise ValueError("boom on rank 1")
    hvd.allreduce(tf.constant(1.0))  # rank 0 would wait here forever without the abort
    time.sleep(60)


def scenario_stall(out):
    if hvd.rank() == 1:
        time.sleep(60)  # a stalled peer
    hvd.allreduce(tf.ones([10]), name="stalled")


def main(argv):
    scenario, out = argv[0], argv[1]
    hvd.init()
    if scenario == "step":
        scenario_step(out, argv[2], argv[3])
    elif scenario == "fit":
        scenario_fit(out, argv[2])
    else:
        globals()[f"scenario_{scenario}"](out)


if __name__ == "__main__":
    main(sys.argv[1:])
