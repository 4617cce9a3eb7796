"""The array namespace `xp` (NumPy or CuPy), dtypes and device placement.

This is the only module that imports numpy/cupy by name for computation. Everything else calls
`backend.xp.*`, so the same op code runs on the CPU and on a GPU.

Devices. There are two: '/CPU:0' (NumPy arrays) and '/GPU:0' (CuPy arrays). The current
device is, in order of precedence: the innermost `with tapegrad.device('/GPU:0'):` (or
`set_device`), the environment variable TAPEGRAD_DEVICE=cpu|gpu read at import, and otherwise
the GPU when CuPy is installed and sees one, as TensorFlow does. The rules:

- A tensor lives where it was made. Constants, Variables, random draws, dataset batches and op
  results are made on the current device; host data (Python numbers, lists, NumPy arrays) is
  copied there. `.numpy()` always gives a host (NumPy) copy.
- An op runs on the current device, and every tensor input must already live there. An input
  on the other device is an InvalidArgumentError naming the op, every input's device and the
  fix. TensorFlow copies such an input silently; tapegrad refuses, because a silent copy inside
  a training loop is a host round trip nobody sees, the usual reason a GPU step is slow.
- Moves are explicit: `tf.identity(x)` under `with tf.device('/GPU:0'):` (or '/CPU:0') copies
  x there; `x.numpy()` copies it to the host. `Variable.assign` accepts a value from either
  device and copies it into the variable's own storage (that is how weights are loaded).
- The check costs nothing on CPU-only machines: ops run it only once CuPy has been loaded
  (`backend.cupy is not None`), see `check_placement`.
"""

import contextlib
import math
import os
import weakref

import numpy

from .errors import InvalidArgumentError

xp = numpy
cupy = None  # the CuPy module once a GPU is in use (set_device or the default), else None

# ---------------------------------------------------------------- host memory

# Large NumPy temporaries (an activation, its gradient, an im2col matrix: megabytes, made and
# freed every step) each come from a fresh mmap under glibc's default settings, and the first
# write to every page of it is a page fault: on the seed 003 CNN at batch 256 that was 40 % of
# the step. Keeping freed memory in the heap for reuse (the caching allocator PyTorch and
# TensorFlow use) removes it. The cost: memory freed after a peak is not returned to the OS
# until the process ends. TAPEGRAD_MALLOC=system keeps glibc's defaults.
HEAP_KEEP_BYTES = 256 << 20   # arrays up to this size are served from (and kept in) the heap


def _tune_host_allocator():
    """Raise glibc's mmap and trim thresholds (Linux/glibc only; a no-op elsewhere).
    Returns whether the new settings were taken."""
    if os.environ.get("TAPEGRAD_MALLOC", "").lower() == "system":
        return False
    try:
        import ctypes
        import sys

        if not sys.platform.startswith("linux"):
            return False
        libc = ctypes.CDLL("libc.so.6")   # glibc's name; elsewhere an OSError: no change
        m_trim_threshold, m_mmap_threshold = -1, -3   # malloc.h
        return bool(libc.mallopt(m_mmap_threshold, HEAP_KEEP_BYTES)
                    and libc.mallopt(m_trim_threshold, 2 * HEAP_KEEP_BYTES))
    except (OSError, AttributeError, ValueError):
        return False


host_allocator_tuned = _tune_host_allocator()

# ---------------------------------------------------------------- BLAS worker threads

# After a multi-threaded matrix product OpenBLAS keeps its worker threads spinning for 2**28
# cycles (~0.1 s) before they sleep. A CNN step alternates products with large elementwise
# passes that run on tapegrad's own threads (below); on 2 cores the spinning worker holds one
# of them and those threads gain nothing. So tapegrad shortens the spin: to 2**20 cycles
# (~0.4 ms) at import, which still spans the gaps between back-to-back products (an MLP step
# is unchanged; 2**18 made it 10% slower), and to 2**4 once its own threads first run, when no
# other Python thread is alive (the seed 003 CNN at batch 256: 100 -> 90 -> 78 ms per step,
# A/B in one process). OpenBLAS reads OPENBLAS_THREAD_TIMEOUT when it loads, usually before
# tapegrad (`import numpy` comes first), so tapegrad has it read its environment again and
# stops its idle workers (what OpenBLAS does itself before every fork: it must not run while
# another thread is inside a threaded product, hence the moments chosen); the next product
# starts them with the new timeout. A timeout the user set, and TAPEGRAD_BLAS=system, are
# left alone.
BLAS_THREAD_TIMEOUT = 20        # exponents of 2 (cycles), as OPENBLAS_THREAD_TIMEOUT takes them
BLAS_THREAD_TIMEOUT_POOLED = 4
_blas_left_alone = (os.environ.get("TAPEGRAD_BLAS", "").lower() == "system"
                    or "OPENBLAS_THREAD_TIMEOUT" in os.environ)


def _loaded_openblas():
    """Paths of the OpenBLAS libraries loaded in this process (Linux; else none)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[-1].strip() for line in f if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/") and ".so" in os.path.basename(p))


def _set_blas_thread_timeout(exponent):
    """Make OpenBLAS's idle workers sleep after 2**exponent cycles, in every loaded OpenBLAS
    that exports the functions needed and whose timeout the user did not set; returns the
    paths changed."""
    if _blas_left_alone:
        return []
    import ctypes

    tuned = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
            read_env, timeout = lib.openblas_read_env, lib.openblas_thread_timeout
            shutdown = lib.blas_thread_shutdown_
        except (OSError, AttributeError):
            continue
        if timeout() not in (0, BLAS_THREAD_TIMEOUT, BLAS_THREAD_TIMEOUT_POOLED):
            continue   # set in the environment when the library loaded
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(exponent)
        try:
            read_env()
        finally:
            del os.environ["OPENBLAS_THREAD_TIMEOUT"]
        shutdown()
        tuned.append(path)
    return tuned


blas_tuned = _set_blas_thread_timeout(BLAS_THREAD_TIMEOUT)
_blas_pooled = False   # the short timeout is set once, not at every new pool


# ---------------------------------------------------------------- threads for large array passes

# BLAS runs matrix products on several threads; NumPy's elementwise passes (im2col, pooling,
# ReLU and its gradient, bias adds) run on one. They release the GIL on large arrays, so the
# hot ones split the batch axis over a small thread pool, as PyTorch's intra-op threads do.
# TAPEGRAD_NUM_THREADS (else OMP_NUM_THREADS, else the CPUs this process may use) sets the count;
# tf.config.threading.set_intra_op_parallelism_threads changes it at run time.
PARALLEL_MIN_ELEMENTS = 1 << 18   # below this a pass is faster on one thread


def _default_threads():
    for name in ("TAPEGRAD_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


num_threads = min(_default_threads(), 8)
_executor = None


def set_num_threads(n):
    """Threads for large elementwise passes (0 or None: the default)."""
    global num_threads, _executor
    num_threads = max(1, int(n)) if n else min(_default_threads(), 8)
    if _executor is not None:
        _executor.shutdown(wait=False)
        _executor = None


# A pass made of several array calls over the same rows (the masks and writes of a max-pool
# gradient, col2im's adds) runs them block by block, so that what one call writes is still in
# the core's cache when the next reads it: seed 003 at batch 256 (2 cores, 1 MiB L2 each),
# max-pool forward 5.2 -> 3.4 ms, its gradient 11.2 -> 7.9 ms, col2im 12.7 -> 10.0 ms. Smaller
# blocks lose to the per-call cost (the pool gradient makes 13 calls per block), so at batch
# 32 a thread's rows stay one block.
BLOCK_ELEMENTS = 1 << 19


def over_rows(fn, rows, size, block=0):
    """Run `fn(lo, hi)` on row ranges [lo, hi) covering `rows` rows (the batch axis) on up to
    `num_threads` threads when the pass touches `size` elements or more; else `fn(0, rows)`.
    `fn` must only write disjoint row ranges (each call its own rows). With `block`, each
    thread's range goes to `fn` in blocks of rows that hold about `block` of the `size`
    elements (on the CPU only: on a GPU one call over all rows is best)."""
    if block and rows > 1 and size > block and xp is numpy:
        whole = fn

        def fn(lo, hi):
            n = hi - lo
            k = min(n, -(-n * size // (rows * block)))   # equal blocks of <= ~block elements
            for i in range(k):
                whole(lo + n * i // k, lo + n * (i + 1) // k)

    parts = min(num_threads, rows)
    if parts <= 1 or size < PARALLEL_MIN_ELEMENTS or xp is not numpy:
        fn(0, rows)
        return
    global _executor, _blas_pooled
    if _executor is None:
        import concurrent.futures
        import threading

        if blas_tuned and not _blas_pooled and threading.active_count() == 1:
            _blas_pooled = bool(_set_blas_thread_timeout(BLAS_THREAD_TIMEOUT_POOLED))

        _executor = concurrent.futures.ThreadPoolExecutor(num_threads,
                                                          thread_name_prefix="tapegrad")
    bounds = [rows * i // parts for i in range(parts + 1)]
    futures = [_executor.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    fn(bounds[0], bounds[1])
    for f in futures:
        f.result()


def rowwise(fn, x, *others):
    """`fn(x, *others, out=...)` (an elementwise NumPy function whose result has x's shape),
    split over x's rows on the thread pool when x is large; `others` are arrays of x's shape
    (sliced with it) or broadcast operands (a bias, a scalar), used whole."""
    if x.ndim < 2 or x.size < PARALLEL_MIN_ELEMENTS or xp is not numpy:
        return fn(x, *others)
    out = xp.empty(x.shape, dtype=x.dtype)
    rows = [o.shape == x.shape and o.ndim == x.ndim for o in others]

    def part(lo, hi):
        fn(x[lo:hi], *[o[lo:hi] if r else o for o, r in zip(others, rows)], out=out[lo:hi])

    over_rows(part, len(x), x.size)
    return out


_ZEROS_MAX_ELEMENTS = 1 << 24    # 64 MiB of float32: larger asks get a fresh array
_zeros = {}                       # dtype -> a read-only flat host array of zeros


def zeros_of(shape, dtype):
    """A read-only host array of zeros of `shape`: a view of one buffer kept per dtype.
    NumPy's SIMD loops for maximum/minimum run only when both operands are arrays of the
    result's shape; a broadcast scalar 0 takes a loop ~2.5x slower (ReLU on a conv output:
    340 us against 90 us here). So ReLU compares with this instead of a scalar."""
    size = math.prod(shape)
    buf = _zeros.get(dtype)
    if buf is None or buf.size < size:
        if size > _ZEROS_MAX_ELEMENTS:
            return numpy.zeros(shape, dtype)
        buf = numpy.zeros(max(size, 1 << 12), dtype)
        buf.flags.writeable = False
        _zeros[dtype] = buf
    return buf[:size].reshape(shape)


# ---------------------------------------------------------------- arrays only tapegrad holds

# A tape freezes (marks read-only) the arrays it saves. A saved VIEW whose base array is still
# writeable is copied, because the base may be the caller's NumPy array and a later edit of it
# would change the gradient. When the base is known to be held by tapegrad Tensors only (a
# constant's private copy, a batch gathered by fit or a Dataset), the base is frozen instead:
# no copy of a whole batch every step.
_owned = weakref.WeakValueDictionary()   # id(array) -> array


def owned(a):
    """Mark `a`, a fresh array that only tapegrad Tensors will hold; returns `a`."""
    if a.__class__ is numpy.ndarray:
        _owned[id(a)] = a
    return a


def is_owned(a):
    return _owned.get(id(a)) is a


float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int8 = numpy.dtype("int8")
int16 = numpy.dtype("int16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")
string = numpy.dtype("O")
DTYPES = {d.name: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)}
floatx = float32


def as_dtype(dtype):
    """The numpy dtype for a dtype spec: a dtype, a type, a name such as 'float32', or None."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype == "bool":
        return bool_
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype; use one of {sorted(DTYPES)}") from None


def is_floating(dtype):
    return dtype.kind == "f"


# ---------------------------------------------------------------- finding the GPU

_UNPROBED = object()
_probed = _UNPROBED  # the CuPy module when it sees a GPU, None when not; probed once
NO_GPU = "no GPU: CuPy is not installed or sees no device"


def _find_cupy():
    """CuPy when it is installed and sees a GPU, else None (the import is tried once)."""
    global _probed
    if _probed is _UNPROBED:
        try:
            import cupy as cp

            _probed = cp if cp.cuda.runtime.getDeviceCount() > 0 else None
        except Exception:  # noqa: BLE001 - any failure (no CUDA driver, no device) means no GPU
            _probed = None
    return _probed


def _parse(name):
    """'cpu' or 'gpu' for a device spec: 'gpu', 'GPU:0', '/GPU:0', '/device:GPU:0',
    '/job:localhost/replica:0/task:0/device:GPU:0', or a PhysicalDevice/LogicalDevice."""
    spec = str(getattr(name, "name", name)).strip()
    last = spec.lower().rsplit("/", 1)[-1]
    for prefix in ("device:", "physical_device:"):
        if last.startswith(prefix):
            last = last[len(prefix):]
    kind, _, index = last.partition(":")
    if kind not in ("cpu", "gpu") or index not in ("", "0"):
        more = " (one GPU per process: choose it with CUDA_VISIBLE_DEVICES)" if (
            kind == "gpu") else ""
        raise ValueError(f"unknown device {spec!r}; use '/CPU:0' or '/GPU:0'{more}")
    return kind


def _initial_device():
    wanted = os.environ.get("TAPEGRAD_DEVICE", "").strip()
    if wanted:
        try:
            wanted = _parse(wanted)
        except ValueError as e:
            raise ValueError(f"TAPEGRAD_DEVICE={wanted!r}: {e}") from None
        if wanted == "cpu":
            return "cpu"
    global cupy
    cupy = _find_cupy()
    if wanted == "gpu" and cupy is None:
        raise RuntimeError(
            f"TAPEGRAD_DEVICE=gpu but {NO_GPU}: install the 'gpu' extra "
            "(pip install tapegrad[gpu]) on a machine with CUDA, or set TAPEGRAD_DEVICE=cpu."
        )
    return "gpu" if cupy is not None else "cpu"


_device = _initial_device()
if _device == "gpu":
    xp = cupy


# ---------------------------------------------------------------- choosing the device


def current_device():
    """'cpu' or 'gpu': where new tensors are placed and ops run."""
    return _device


def set_device(name):
    """Place new tensors and run ops on `name` ('cpu', 'gpu', '/CPU:0', '/GPU:0', ...)."""
    global xp, _device, cupy
    kind = _parse(name)
    if kind == "gpu":
        cupy = cupy or _find_cupy()
        if cupy is None:
            raise RuntimeError(f"device '/GPU:0' is not usable, {NO_GPU}: install the 'gpu' "
                               "extra (pip install tapegrad[gpu]) on a machine with CUDA")
        xp = cupy
    else:
        xp = numpy
    _device = kind


@contextlib.contextmanager
def device(name):
    """`with tapegrad.device('/GPU:0'):` makes tensors and runs ops on that device inside.

    >>> with tf.device('/CPU:0'):
    ...     x = tf.constant([1.0, 2.0])     # a NumPy array inside, whatever the default
    """
    old = _device
    if name is not None and name != "":  # TensorFlow's tf.device(None) changes nothing
        set_device(name)
    try:
        yield
    finally:
        set_device(old)


def device_name(kind):
    """TensorFlow's full name for 'cpu' or 'gpu': '/job:localhost/replica:0/task:0/device:GPU:0'."""
    return f"/job:localhost/replica:0/task:0/device:{kind.upper()}:0"


# ---------------------------------------------------------------- arrays and their devices


def array_device(a):
    """'gpu' for a CuPy array, 'cpu' for anything else (NumPy arrays, scalars, host data)."""
    return "gpu" if cupy is not None and isinstance(a, cupy.ndarray) else "cpu"


def to_numpy(a):
    """A host (NumPy) array for any backend array: the device->host copy, for GPU arrays."""
    if isinstance(a, numpy.ndarray):
        return a
    if cupy is not None and isinstance(a, cupy.ndarray):
        return cupy.asnumpy(a)
    return numpy.asarray(a)


def namespace(a):
    """The array module that owns `a`: cupy for a CuPy array, numpy for anything else."""
    return cupy if cupy is not None and isinstance(a, cupy.ndarray) else numpy


def asarray(a, dtype=None):
    """An array on the current device for host data or an array of either device: the one
    place where data crosses between host and GPU on purpose."""
    if xp is numpy:
        if cupy is not None and isinstance(a, cupy.ndarray):
            a = cupy.asnumpy(a)
        return numpy.asarray(a, dtype=dtype)
    return cupy.asarray(a, dtype=dtype)


def asarray_like(a, like):
    """`a` (an array of either device) on the device of the array `like`."""
    if array_device(like) == "gpu":
        return cupy.asarray(a)
    return to_numpy(a)


# Ops that copy a tensor to the current device instead of refusing it: tf.identity (TensorFlow's
# idiom for a copy) and the variable read it records (an op reaches read_variable only after
# its own inputs passed the check).
MOVES = frozenset({"identity", "read_variable"})


def check_placement(op_name, inputs):
    """Raise InvalidArgumentError when a tensor input of op `op_name` does not live on the
    current device. Op.__call__ calls it only when `cupy is not None` (a GPU is in use), so
    CPU-only programs never pay for it; on a GPU it is one class comparison per input."""
    cls = xp.ndarray
    for x in inputs:
        if x.value.__class__ is not cls:
            _check_slow(op_name, inputs)
            return


def _check_slow(op_name, inputs):
    # Not the current device's array class: a NumPy subclass, a host string tensor, or a
    # tensor that really lives on the other device.
    if op_name in MOVES:
        return
    here = _device
    misplaced = [x for x in inputs if x.value.dtype != string and array_device(x.value) != here]
    if not misplaced:
        return
    where = ", ".join(
        f"input {i} ({x.dtype.name} {tuple(x.value.shape)}) on {_short(array_device(x.value))}"
        for i, x in enumerate(inputs))
    other = _short("gpu" if here == "cpu" else "cpu")
    raise InvalidArgumentError(
        f"{op_name}: the op runs on {_short(here)} (the current device) but it was given a "
        f"tensor on {other}: {where}. tapegrad does not copy between devices behind your back; "
        f"copy the tensor explicitly with `with tf.device('{_short(here)}'): x = "
        f"tf.identity(x)` (or x.numpy() for a host array), or run the op under "
        f"`with tf.device('{other}'):`"
    )


def _short(kind):
    return f"/{kind.upper()}:0"


# ---------------------------------------------------------------- devices the program can see


class PhysicalDevice:
    """TensorFlow's PhysicalDevice: a name and a type ('CPU' or 'GPU')."""

    __slots__ = ("name", "device_type")

    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type

    def __eq__(self, other):
        return isinstance(other, PhysicalDevice) and (self.name, self.device_type) == (
            other.name, other.device_type)

    def __hash__(self):
        return hash((self.name, self.device_type))

    def __repr__(self):
        return f"PhysicalDevice(name='{self.name}', device_type='{self.device_type}')"


def gpu_module():
    """The CuPy module when a GPU is usable (in use already, or found by probing), else None."""
    return cupy or _find_cupy()


def list_physical_devices(device_type=None):
    """The CPU, and each GPU CuPy sees (tf.config.list_physical_devices)."""
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    gpu = gpu_module()
    if gpu is not None:
        n = gpu.cuda.runtime.getDeviceCount()
        devices += [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(n)]
    if device_type is None:
        return devices
    return [d for d in devices if d.device_type == str(device_type).upper()]
