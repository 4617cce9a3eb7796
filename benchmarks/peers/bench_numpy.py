"""The floor: the MLP workloads written by hand in NumPy, forward + backward + update.

    python bench_numpy.py --workload mlp32 [--repeats 5] [--json]

No framework, no tape, no allocation it can avoid: the least a training step can cost on this
machine with this NumPy (run with the interpreter tapegrad uses, so the BLAS is the same).
Covers mlp32, mlp1024, mlp001 (SGD), fitepoch (a plain slice loop), tinytape (the hand-derived
gradient 2x + 3) and opchain_notape (plain array adds). No CNN: a hand-written im2col CNN would
be a framework of its own, not a floor.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pins the BLAS threads before NumPy loads it

args = common.parse_args("numpy")
np = common.np
EPS = 1e-7
# Adam's m of a dead ReLU unit's weights decays into float32's subnormal range, where the
# arithmetic is tens of times slower; tapegrad's optimizers zero such state every 8 steps
# (tapegrad/keras/optimizers/updates.py) and so does the floor, so the ratio is overhead.
FLUSH_BELOW = float(np.finfo(np.float32).tiny) * 2.0**8

# The floor gets the host-allocator setting tapegrad makes at import (large temporaries reused
# from the heap, not fresh page-faulting mmaps: see tapegrad/backend.py), so that the ratio
# measures the framework, not glibc's defaults.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tapegrad.backend import _tune_host_allocator

_tune_host_allocator()


class MLP:
    """Dense(relu) -> Dense(softmax), sparse CE on the probabilities, Adam or SGD, float32."""

    def __init__(self, n_in, n_hidden, rng, init="glorot", optimizer="adam", lr=1e-3):
        def weight(a, b):
            if init == "glorot":
                limit = np.sqrt(6 / (a + b))
                return rng.uniform(-limit, limit, (a, b)).astype(np.float32)
            return rng.uniform(0, 0.1, (a, b)).astype(np.float32)
        self.params = [weight(n_in, n_hidden), np.zeros(n_hidden, np.float32),
                       weight(n_hidden, 10), np.zeros(10, np.float32)]
        self.optimizer, self.lr, self.t = optimizer, lr, 0
        if optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]
            self.tmp = [np.zeros_like(p) for p in self.params]

    def step(self, x, labels):
        w1, b1, w2, b2 = self.params
        x = x.reshape(len(x), -1)
        h = x @ w1
        h += b1
        np.maximum(h, 0, out=h)
        z = h @ w2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)                 # z is now the softmax output
        rows = np.arange(len(labels))
        picked = z[rows, labels]
        loss = -np.log(np.clip(picked, EPS, 1 - EPS)).mean()
        z[rows, labels] -= 1                              # dloss/dlogits * batch
        z *= (((picked > EPS) & (picked < 1 - EPS)) / len(labels))[:, None]   # clipped: 0
        gh = z @ w2.T
        gh *= h > 0
        grads = [x.T @ gh, gh.sum(0), h.T @ z, z.sum(0)]
        if self.optimizer == "sgd":
            for p, g in zip(self.params, grads):
                g *= self.lr
                p -= g
            return loss
        self.t += 1
        b1_, b2_ = 0.9, 0.999
        lr_t = self.lr * np.sqrt(1 - b2_ ** self.t) / (1 - b1_ ** self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= b1_
            m += (1 - b1_) * g
            v *= b2_
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2_
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += EPS
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp
            if self.t % 8 == 0:   # keep m and v out of float32's slow subnormal range
                for s in (m, v):
                    np.multiply(s, np.abs(s) >= FLUSH_BELOW, out=s)   # as tapegrad does
        return loss


def build(workload):
    rng = np.random.default_rng(0)
    if workload in ("mlp32", "mlp1024", "mlp001"):
        if workload == "mlp001":
            model = MLP(784, 512, rng, init="uniform", optimizer="sgd")
        else:
            model = MLP(784, 128, rng)
        batches = common.batch_pool(workload)
        box = {"i": 0}

        def step():
            box["i"] += 1
            return model.step(*batches[box["i"] % len(batches)])
        return {"step": step}

    if workload == "tinytape":
        x = common.tiny_input()

        def forward_and_gradient():
            np.sum(x * x + 3 * x)
            return 2 * x + 3
        return {"step": forward_and_gradient}

    if workload == "opchain_notape":
        x = common.tiny_input()

        def chain():
            y = x
            for _ in range(common.CHAIN):
                y = y + x
            return y
        return {"step": chain}

    if workload == "fitepoch":
        model = MLP(784, 128, rng)

        def fit_epoch(x, y):
            perm = rng.permutation(len(x))
            x, y = x[perm], y[perm]
            for i in range(0, len(x), 32):
                model.step(x[i:i + 32], y[i:i + 32])
        return {"fit_epoch": fit_epoch}

    raise common.Unsupported(f"no hand-written NumPy version of {workload}")


common.main("numpy", np.__version__, build, args)
