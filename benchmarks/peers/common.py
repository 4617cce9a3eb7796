"""What every per-framework benchmark script shares: workloads, data, timing, the JSON line.

Needs only the standard library and NumPy, so it imports in every peer virtualenv. Import it
before any framework: it pins the BLAS/OpenMP thread pools to 2 threads.
"""

import argparse
import gzip
import json
import math
import os
import resource
import sys
import time

THREADS = 2
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, str(THREADS))
# OPENBLAS_THREAD_TIMEOUT is not set here: tapegrad sets its own when it is imported (see its
# README), as a user's program gets it, and the NumPy floor runs with OpenBLAS's default.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")          # TensorFlow's start-up chatter
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(THREADS))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # after the thread pins

# name -> unit of `times`, warm-up steps, seconds one timed repeat should last at least.
# A repeat runs `inner` steps back to back (inner chosen after the warm-up) and records the mean
# step time, so microsecond workloads are not timed at the resolution of the clock.
WORKLOADS = {
    "mlp32":          {"unit": "ms", "warmup": 20, "target": 0.25, "batch": 32},
    "mlp1024":        {"unit": "ms", "warmup": 5, "target": 0.5, "batch": 1024},
    "mlp001":         {"unit": "ms", "warmup": 10, "target": 0.25, "batch": 128},
    "cnn32":          {"unit": "ms", "warmup": 5, "target": 0.5, "batch": 32},
    "cnn256":         {"unit": "ms", "warmup": 2, "target": 1.0, "batch": 256},
    "tinytape":       {"unit": "us", "warmup": 200, "target": 0.2},
    "fitepoch":       {"unit": "s", "warmup": 0, "target": 0.0, "batch": 32},
    "opchain":        {"unit": "us", "warmup": 20, "target": 0.2},   # per recorded op
    "opchain_notape": {"unit": "us", "warmup": 20, "target": 0.2},   # per op, nothing recorded
    "opchain_grad":   {"unit": "us", "warmup": 20, "target": 0.2},   # per gradient() call
}
STEP_WORKLOADS = ("mlp32", "mlp1024", "mlp001", "cnn32", "cnn256")
CHAIN = 100                  # ops in the opchain workloads
TINY = 10                    # elements of the tinytape / opchain tensor
FIT_SAMPLES = 60000
FIT_SAMPLES_QUICK = 6400              # whole batches of 32, like 60,000
FIT_WARMUP_SAMPLES = 1024    # a short fit before the timed epoch (tracing, allocators)
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
UNIT_SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6}


class Unsupported(Exception):
    """This framework has no meaningful version of this workload (reported as skipped)."""


def parse_args(framework, variants=None):
    p = argparse.ArgumentParser(description=f"{framework} benchmarks (one JSON line per run)")
    p.add_argument("--workload", help="one of: " + ", ".join(WORKLOADS))
    p.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    p.add_argument("--quick", action="store_true", help="short repeats, a tenth of fitepoch")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                   help="gpu: tapegrad on CuPy, torch on CUDA (the step workloads only)")
    p.add_argument("--check", action="store_true",
                   help="print the framework's version as JSON and exit (3: not installed)")
    if variants:
        p.add_argument("--variant", choices=variants, default=variants[0])
    args = p.parse_args()
    if not args.check and args.workload not in WORKLOADS:
        p.error(f"--workload must be one of {', '.join(WORKLOADS)}")
    return args


def emit(record, as_json):
    record.setdefault("peak_rss_mb", peak_rss_mb())
    if as_json:
        print(json.dumps(record), flush=True)
        return
    if "skipped" in record:
        print(f"{record['framework']} {record.get('workload', '')}: skipped: {record['skipped']}")
        return
    if "version" in record and "times" not in record:
        print(f"{record['framework']} {record['version']}")
        return
    med = float(np.median(record["times"]))
    print(f"{record['framework']:12s} {record['workload']:14s} median {med:.4g} "
          f"{record['unit']}  (n={len(record['times'])}, inner={record.get('inner')}, "
          f"peak RSS {record['peak_rss_mb']:.0f} MB)")


def skip(framework, reason, as_json, workload=None, code=3):
    """Report a framework or workload that cannot run here and exit."""
    print(f"{framework}: skipped: {reason}", file=sys.stderr)
    emit({"framework": framework, "workload": workload, "skipped": reason}, as_json)
    sys.exit(code)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ------------------------------------------------------------------ data
def batch_pool(workload, n=4, seed=0):
    """`n` synthetic float32 batches in [0, 1) with int64 labels in 0..9, NumPy, NHWC."""
    rng = np.random.default_rng(seed)
    b = WORKLOADS[workload]["batch"]
    shape = {"mlp001": (b, 784), "cnn32": (b, 28, 28, 1), "cnn256": (b, 28, 28, 1)}.get(
        workload, (b, 28, 28))
    return [(rng.random(shape, dtype=np.float32), rng.integers(0, 10, b).astype(np.int64))
            for _ in range(n)]


def tiny_input():
    return np.linspace(-1.0, 1.0, TINY, dtype=np.float32)


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fit_data(quick=False):
    """(x float32 (N, 28, 28) in [0, 1], y int64, source): Fashion-MNIST when installed."""
    n = FIT_SAMPLES_QUICK if quick else FIT_SAMPLES
    images = os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")
    if os.path.exists(images):
        x = _idx(images)[:n]
        y = _idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz"))[:n]
        source = "fashion-mnist"
    else:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        source = "synthetic"
    return x.astype(np.float32) / 255.0, y.astype(np.int64), source


# ------------------------------------------------------------------ timing
def time_steps(step, workload, repeats, quick=False, sync=None, setup=None):
    """Median-ready per-step times in the workload's unit, and the inner count used.

    `step()` runs one step. With `setup`, each step is `step(setup())` and only the step is
    timed (opchain_grad: the chain is recorded, untimed, before every gradient call).
    `sync(result)` waits for asynchronous work (JAX); it is called once per repeat.
    """
    spec = WORKLOADS[workload]
    scale = UNIT_SCALE[spec["unit"]]
    target = spec["target"] / (2 if quick else 1)

    def block(k):
        elapsed, out = 0.0, None
        if setup is None:
            t0 = time.perf_counter()
            for _ in range(k):
                out = step()
            if sync:
                sync(out)
            elapsed = time.perf_counter() - t0
        else:
            for _ in range(k):
                arg = setup()
                t0 = time.perf_counter()
                out = step(arg)
                if sync:
                    sync(out)
                elapsed += time.perf_counter() - t0
        return elapsed

    warm = max(2, spec["warmup"] // (2 if quick else 1))
    block(warm // 2)                                  # first calls: tracing, allocation
    per_step = block(warm - warm // 2) / (warm - warm // 2)
    inner = max(1, math.ceil(target / max(per_step, 1e-9)))
    per = CHAIN if workload in ("opchain", "opchain_notape") else 1   # per op, not per chain
    times = [block(inner) / inner * scale / per for _ in range(repeats)]
    return times, inner


def time_fit(fit_epoch, repeats, quick=False):
    """Seconds per `fit_epoch(x, y)` over the fit data, after a short warm-up fit."""
    x, y, source = fit_data(quick)
    fit_epoch(x[:FIT_WARMUP_SAMPLES], y[:FIT_WARMUP_SAMPLES])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit_epoch(x, y)
        times.append(time.perf_counter() - t0)
    return times, {"data": source, "samples": len(x)}


def record(framework, workload, times, inner=None, **extra):
    r = {"framework": framework, "workload": workload, "times": times,
         "unit": WORKLOADS[workload]["unit"], "inner": inner}
    r.update(extra)
    return r


def main(framework, version, build, args, **extra):
    """Run `build(workload)`'s step or fit epoch as the arguments say and print the result."""
    if args.check:
        emit({"framework": framework, "version": version, **extra}, args.json)
        return
    try:
        parts = build(args.workload)
    except Unsupported as e:
        skip(framework, str(e), args.json, args.workload, code=0)
    if "fit_epoch" in parts:
        times, info = time_fit(parts["fit_epoch"], args.repeats, args.quick)
        out = record(framework, args.workload, times, **info)
    else:
        times, inner = time_steps(parts["step"], args.workload, args.repeats, args.quick,
                                  sync=parts.get("sync"), setup=parts.get("setup"))
        out = record(framework, args.workload, times, inner)
    out.update(version=version, **extra)
    emit(out, args.json)
