"""ONE table of every op: a row per op drives every op test in tests/ops/test_ops.py.

A row names the op (its name in `tapegrad.ops.OPS`, or a public composite such as
`clip_by_value`), the tapegrad callable, a NumPy reference, a sample generator, the argument
positions that carry no gradient (integer labels, indices, conditions), the tolerances and
whether the second-order (nested tape) check runs.

Samples are drawn from a row's *domain*: values where the op is smooth (positive for log/sqrt,
inside (-1, 1) for asin/atanh, away from the kinks of relu/abs and away from ties for
max/maximum), so that central differences are a fair judge. Float inputs are drawn as float64;
test_ops casts them to float32 for the float32 forward test.

Adding an op: one function, one rule, one row here (see DESIGN.md, "Tests").
"""

import dataclasses
import math
import zlib
from typing import Callable

import numpy as np

import tapegrad as tf
from tapegrad.ops import OPS

# ---------------------------------------------------------------- rows and samples


@dataclasses.dataclass
class Sample:
    """Arguments for one call: `args` are arrays (tensor inputs), `kwargs` static parameters."""

    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)
    nondiff: tuple = None  # overrides the row's non-differentiable positions for this sample
    check_grad: bool = True  # False: forward only (e.g. inputs at a kink, zeros for prod)
    second_order: bool = True  # False: skip this sample in the second-order check

    def __repr__(self):
        shapes = ", ".join(str(np.shape(a)) for a in self.args)
        kw = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"Sample({shapes}{'; ' + kw if kw else ''})"


@dataclasses.dataclass
class OpInfo:
    name: str  # a key of tapegrad.ops.OPS, or a public composite's name
    fn: Callable  # fn(*tensors, **kwargs) -> Tensor
    ref: Callable  # ref(*arrays, **kwargs) -> ndarray
    samples: Callable  # samples(rng) -> list[Sample]
    nondiff: tuple = ()  # argument positions with no gradient
    differentiable: bool = True  # False: forward only, and the op must never record
    second_order: bool = False  # run the nested-tape (Hessian-vector) check
    grad_rtol: float = 1e-5
    grad_atol: float = 1e-9
    fwd_rtol32: float = 2e-5  # the float32 forward against the float64 reference
    domains: tuple = None  # per-input value generators (elementwise rows: hypothesis shapes)
    valid: Callable = None  # valid(*args) -> bool: reject samples at ties/kinks
    kind: str = ""  # "unary", "binary", "reduction": the hypothesis shape tests pick these

    def __repr__(self):
        return f"OpInfo({self.name})"


def _rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def draw(rng, domains, shapes, valid=None):
    """One tuple of arrays, one per domain, redrawn until `valid` accepts it."""
    for _ in range(200):
        args = tuple(d(rng, s) for d, s in zip(domains, shapes))
        if valid is None or valid(*args):
            return args
    raise RuntimeError(f"could not draw a valid sample for shapes {shapes}")


# ---------------------------------------------------------------- domains


def real(lo=-2.0, hi=2.0, avoid=(0.0,), gap=0.05):
    """Uniform on [lo, hi], at least `gap` away from each point in `avoid` (the kinks)."""
    def gen(rng, shape):
        x = rng.uniform(lo, hi, shape)
        for _ in range(1000):
            near = np.zeros(np.shape(x), bool)
            for a in avoid:
                near |= np.abs(x - a) < gap
            if not near.any():
                return np.asarray(x, np.float64)
            x = np.where(near, rng.uniform(lo, hi, shape), x)
        raise RuntimeError("domain too narrow")

    return gen


def positive(lo=0.5, hi=2.0):
    return real(lo, hi, avoid=())


def unit():
    return real(-0.9, 0.9, avoid=())


def spread(signed=True):
    """Distinct values (a shuffled grid in [-2, 2], or in [0.5, 2] times random signs with
    distinct magnitudes): no ties for max/min, however many elements."""
    def gen(rng, shape):
        n = int(np.prod(shape))
        if signed:
            grid = np.linspace(-2, 2, n) if n > 1 else np.array([0.7])
            return rng.permutation(grid).reshape(shape)
        grid = np.linspace(0.5, 2, n) if n > 1 else np.array([0.7])
        return (rng.permutation(grid) * rng.choice([-1.0, 1.0], n)).reshape(shape)

    return gen


def booleans():
    return lambda rng, shape: rng.random(shape) < 0.5


def grid(step=0.5, lo=-3, hi=3):
    """Values on a coarse grid, so that comparisons see equal elements."""
    return lambda rng, shape: rng.integers(lo, hi, shape) * step + 0.0


def no_ties(*args):
    """The (broadcast) inputs differ by more than the finite-difference step everywhere."""
    x, y = np.broadcast_arrays(*args[:2])
    return bool(np.all(np.abs(x - y) > 1e-2))


# ---------------------------------------------------------------- shape sets

UNARY_SHAPES = [(), (3,), (2, 3), (2, 1, 3), (2, 0)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((3, 1), (4,)), ((2, 3), ()), ((), (2, 3)),
                 ((2, 1, 4), (3, 1)), ((1, 3), (2, 1))]
AXES = [dict(axis=None), dict(axis=0), dict(axis=-1), dict(axis=(0, 2)),
        dict(axis=1, keepdims=True), dict(axis=None, keepdims=True),
        dict(axis=(-1, 0), keepdims=True), dict(axis=())]


def from_shapes(domains, shape_sets, kwargs_list=({},), valid=None):
    """Samples: every shape set x every kwargs, values drawn from the domains."""
    def samples(rng):
        return [Sample(draw(rng, domains, shapes, valid), dict(kw))
                for shapes in shape_sets for kw in kwargs_list]

    return samples


def fixed(*samples):
    """Samples given directly: `builder(rng) -> Sample` callables or Samples."""
    return lambda rng: [s(rng) if callable(s) else s for s in samples]


# ---------------------------------------------------------------- row builders


def unary(name, fn, ref, domain=None, second_order=True, kwargs_list=({},), **kw):
    domain = domain or real()
    return OpInfo(name, fn, ref, from_shapes((domain,), [(s,) for s in UNARY_SHAPES],
                                             kwargs_list),
                  second_order=second_order, domains=(domain,), kind="unary", **kw)


def binary(name, fn, ref, dx=None, dy=None, valid=None, second_order=True, **kw):
    domains = (dx or real(), dy or real())
    return OpInfo(name, fn, ref, from_shapes(domains, BINARY_SHAPES, valid=valid),
                  second_order=second_order, domains=domains, valid=valid, kind="binary", **kw)


def nondiff_unary(name, fn, ref, domain=None, shapes=UNARY_SHAPES):
    domain = domain or real()
    return OpInfo(name, fn, ref, from_shapes((domain,), [(s,) for s in shapes]),
                  differentiable=False, domains=(domain,), kind="unary")


def nondiff_binary(name, fn, ref, dx=None, dy=None):
    domains = (dx or grid(), dy or grid())
    return OpInfo(name, fn, ref, from_shapes(domains, BINARY_SHAPES), differentiable=False,
                  domains=domains, kind="binary")


def reduction(name, fn, ref, domain=None, axes=AXES, second_order=True, valid=None,
              scalar=True, kind="reduction", **kw):
    domain = domain or real()

    def samples(rng):
        out = [Sample(draw(rng, (domain,), ((2, 3, 4),), valid), dict(a)) for a in axes]
        if scalar:
            out.append(Sample(draw(rng, (domain,), ((),), valid), {}))
        out.append(Sample(draw(rng, (domain,), ((5,),), valid), dict(axis=0)))
        return out

    return OpInfo(name, fn, ref, samples, second_order=second_order, domains=(domain,),
                  valid=valid, kind=kind, **kw)


# ---------------------------------------------------------------- NumPy references


def _np_erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x).reshape(np.shape(x))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True) if x.size else 0.0
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis) if axis is not None else r.reshape(())


def _prod_of_others(x, axis=None):
    """prod of every other element along `axis`, computed without dividing."""
    axes = tuple(range(x.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = sorted(a % x.ndim for a in axes)
    rest = [a for a in range(x.ndim) if a not in axes]
    xt = np.transpose(x, rest + axes)
    flat = xt.reshape(xt.shape[:len(rest)] + (-1,))
    out = np.stack([np.prod(np.delete(flat, k, axis=-1), axis=-1)
                    for k in range(flat.shape[-1])], axis=-1)
    return np.transpose(out.reshape(xt.shape), np.argsort(rest + axes))


def _cumsum(x, axis=0, exclusive=False, reverse=False):
    if reverse:
        x = np.flip(x, axis)
    r = np.cumsum(x, axis=axis)
    if exclusive:
        zero = np.zeros_like(np.take(r, [0], axis=axis))
        r = np.concatenate([zero, np.take(r, np.arange(r.shape[axis] - 1), axis=axis)], axis)
    return np.flip(r, axis) if reverse else r


def _scatter(g, key=None, shape=()):
    z = np.zeros(shape, g.dtype)
    np.add.at(z, key, g)
    return z


def _one_hot(indices, depth=0, on_value=1.0, off_value=0.0, dtype=np.float32, axis=-1):
    eye = np.where(np.eye(depth, dtype=bool), on_value, off_value).astype(dtype)
    out = np.full(indices.shape + (depth,), off_value, dtype)
    ok = (indices >= 0) & (indices < depth)
    out[ok] = eye[indices[ok]]
    return np.moveaxis(out, -1, axis)


def _norm(x, ord="euclidean", axis=None, keepdims=False):
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _tensordot(a, b, axes):
    return np.tensordot(a, b, axes)


# conv2d and pooling, written from TensorFlow's padding rule with plain loops over the window
# (independent of the im2col code under test).


def _same_or_valid(n, k, s, padding):
    if padding == "VALID":
        return (n - k) // s + 1, (0, 0)
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, (total // 2, total - total // 2)


def _plan(hw, k, s, padding):
    (oh, ph), (ow, pw) = (_same_or_valid(hw[i], k[i], s[i], padding) for i in range(2))
    return (oh, ow), (ph, pw)


def _patches(xp, k, s, out_hw):
    """Yield (i, j, view) where view[n, a, b, c] = xp[n, a*sh + i, b*sw + j, c]."""
    (kh, kw), (sh, sw), (oh, ow) = k, s, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw, :]


def _pad_hw(x, pads, value=0.0):
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def conv2d_ref(x, w, strides=(1, 1), padding="VALID"):
    out_hw, pads = _plan(x.shape[1:3], w.shape[:2], strides, padding)
    out = np.zeros((x.shape[0],) + out_hw + (w.shape[3],))
    for i, j, patch in _patches(_pad_hw(x, pads), w.shape[:2], strides, out_hw):
        out += patch @ w[i, j]
    return out


def im2col_ref(x, ksize=(1, 1), strides=(1, 1), padding="VALID"):
    out_hw, pads = _plan(x.shape[1:3], ksize, strides, padding)
    cols = np.zeros((x.shape[0],) + out_hw + tuple(ksize) + (x.shape[3],))
    for i, j, patch in _patches(_pad_hw(x, pads), ksize, strides, out_hw):
        cols[:, :, :, i, j, :] = patch
    return cols.reshape(-1, ksize[0] * ksize[1] * x.shape[3])


def col2im_ref(cols, input_shape=(), ksize=(1, 1), strides=(1, 1), padding="VALID"):
    out_hw, pads = _plan(input_shape[1:3], ksize, strides, padding)
    n, h, wd, c = input_shape
    cols = cols.reshape((n,) + out_hw + tuple(ksize) + (c,))
    full = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c))
    for i, j, patch in _patches(full, ksize, strides, out_hw):
        patch += cols[:, :, :, i, j, :]  # patch is a view of `full`
    return full[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd]


def _pool_windows(x, ksize, strides, padding, fill):
    out_hw, pads = _plan(x.shape[1:3], ksize, strides, padding)
    xp = _pad_hw(x, pads, fill)
    wins = np.stack([p for _, _, p in _patches(xp, ksize, strides, out_hw)], axis=-1)
    return wins, out_hw, pads  # (n, oh, ow, c, kh*kw), window positions row-major


def max_pool_ref(x, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    return _pool_windows(x, ksize, strides, padding, -np.inf)[0].max(axis=-1)


def max_pool_scatter_ref(x, g, top, ksize=(2, 2), strides=(2, 2), padding="VALID", relu=False):
    # top is max_pool2d(x), which the op takes from the forward instead of finding it again
    np.testing.assert_array_equal(top, max_pool_ref(x, ksize, strides, padding))
    if relu:  # x is a ReLU's output: the scatter also applies ReLU's gradient at the maxima
        return np.where(x > 0, max_pool_scatter_ref(x, g, top, ksize, strides, padding), 0.0)
    wins, out_hw, pads = _pool_windows(x, ksize, strides, padding, -np.inf)
    first = wins.argmax(axis=-1)  # the first maximum, as TensorFlow
    h, wd = x.shape[1:3]
    full = np.zeros((x.shape[0], h + sum(pads[0]), wd + sum(pads[1]), x.shape[3]))
    for idx, (_, _, patch) in enumerate(_patches(full, ksize, strides, out_hw)):
        patch += np.where(first == idx, g, 0.0)
    return full[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd]


def max_pool_gather_ref(x, y, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    wins, _, _ = _pool_windows(x, ksize, strides, padding, -np.inf)
    ywins, _, _ = _pool_windows(y, ksize, strides, padding, 0.0)
    first = wins.argmax(axis=-1)
    return np.take_along_axis(ywins, first[..., None], axis=-1)[..., 0]


def _avg_counts(shape, ksize, strides, padding):
    ones = np.ones((1,) + tuple(shape[1:3]) + (1,))
    return _pool_windows(ones, ksize, strides, padding, 0.0)[0].sum(axis=-1)


def avg_pool_ref(x, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    wins = _pool_windows(x, ksize, strides, padding, 0.0)[0]
    return wins.sum(axis=-1) / _avg_counts(x.shape, ksize, strides, padding)


def avg_pool_grad_ref(g, input_shape=(), ksize=(2, 2), strides=(2, 2), padding="VALID"):
    out_hw, pads = _plan(input_shape[1:3], ksize, strides, padding)
    share = g / _avg_counts(input_shape, ksize, strides, padding)
    h, wd = input_shape[1:3]
    full = np.zeros((input_shape[0], h + sum(pads[0]), wd + sum(pads[1]), input_shape[3]))
    for _, _, patch in _patches(full, ksize, strides, out_hw):
        patch += share
    return full[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd]


# ---------------------------------------------------------------- samples for special rows

CONV_CASES = [  # (input shape, filter shape, strides, padding)
    ((2, 5, 5, 2), (3, 3, 2, 3), (1, 1), "VALID"),
    ((1, 6, 5, 2), (3, 2, 2, 2), (2, 2), "SAME"),
    ((1, 4, 6, 1), (2, 2, 1, 2), (2, 2), "VALID"),  # window == stride: the reshape path
    ((2, 5, 4, 3), (1, 1, 3, 2), (1, 2), "SAME"),
]
POOL_CASES = [  # (input shape, ksize, strides, padding)
    ((2, 4, 4, 2), (2, 2), (2, 2), "VALID"),
    ((1, 5, 5, 3), (3, 3), (2, 2), "SAME"),
    ((1, 5, 4, 1), (2, 3), (1, 1), "VALID"),
    ((2, 5, 5, 1), (2, 2), (2, 2), "SAME"),
]


def _conv_out_shape(xs, ws, strides, padding):
    out_hw, _ = _plan(xs[1:3], ws[:2], strides, padding)
    return (xs[0],) + out_hw + (ws[3],)


def _pool_out_shape(xs, k, s, padding):
    out_hw, _ = _plan(xs[1:3], k, s, padding)
    return (xs[0],) + out_hw + (xs[3],)


def conv_samples(rng):
    return [Sample((real()(rng, xs), real()(rng, ws)), dict(strides=s, padding=p))
            for xs, ws, s, p in CONV_CASES]


def im2col_samples(rng):
    return [Sample((real()(rng, xs),), dict(ksize=ws[:2], strides=s, padding=p))
            for xs, ws, s, p in CONV_CASES]


def col2im_samples(rng):
    def cols_shape(xs, ws, s, p):
        out = _conv_out_shape(xs, ws, s, p)
        return (out[0] * out[1] * out[2], ws[0] * ws[1] * xs[3])

    return [Sample((real()(rng, cols_shape(xs, ws, s, p)),),
                   dict(input_shape=xs, ksize=ws[:2], strides=s, padding=p))
            for xs, ws, s, p in CONV_CASES]


def _pool_input(rng, shape):
    # A permutation of well separated values: no ties inside any window.
    return rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) * 0.1


def pool_samples(rng):
    return [Sample((_pool_input(rng, xs),), dict(ksize=k, strides=s, padding=p))
            for xs, k, s, p in POOL_CASES]


def pool_pair_samples(second_shape):
    def samples(rng):
        return [Sample((_pool_input(rng, xs), real()(rng, second_shape(xs, k, s, p))),
                       dict(ksize=k, strides=s, padding=p)) for xs, k, s, p in POOL_CASES]

    return samples


def pool_scatter_samples(rng):
    # (x, g, max_pool2d(x)): the scatter is given the pooled maxima of the forward; with
    # relu=True x is a ReLU's output, ~70% zeros, so some windows hold nothing but zeros
    plain = [Sample((x, g, max_pool_ref(x, **s.kwargs)), s.kwargs)
             for s in pool_pair_samples(_pool_out_shape)(rng) for x, g in [s.args]]
    relu = []
    for s in plain:
        x = np.maximum(s.args[0] - 0.7 * s.args[0].max(), 0.0)
        relu.append(Sample((x, s.args[1], max_pool_ref(x, **s.kwargs)),
                           dict(s.kwargs, relu=True)))
    return plain + relu


def avg_pool_grad_samples(rng):
    return [Sample((real()(rng, _pool_out_shape(xs, k, s, p)),),
                   dict(input_shape=xs, ksize=k, strides=s, padding=p))
            for xs, k, s, p in POOL_CASES]


INDEX_KEYS = [  # keys for x of shape (4, 5, 3)
    1, -1, slice(1, 3), slice(None, None, -1), slice(3, 0, -2), (slice(None), 2),
    (Ellipsis, 1), (None, slice(1, None)), (slice(None), None, -2, slice(None, None, 2)),
    ([0, 0, 2],), (slice(None), [4, 1, 4, 4]), ([0, 3, 0], [1, 1, 1]),
    (np.array([True, False, True, True]),), (np.array([[1, 1], [2, 1]]), Ellipsis, 0),
]


def _key_array(key):
    """The NumPy form of an indexing key (lists become fancy-index arrays)."""
    if isinstance(key, tuple):
        return tuple(np.asarray(k) if isinstance(k, list) else k for k in key)
    return np.asarray(key) if isinstance(key, list) else key


def getitem_samples(rng):
    return [Sample((real()(rng, (4, 5, 3)),), dict(key=k)) for k in INDEX_KEYS]


def scatter_samples(rng):
    base = np.zeros((4, 5, 3))
    out = []
    for k in INDEX_KEYS:
        key = _key_array(k)
        out.append(Sample((real()(rng, base[key].shape),), dict(key=key, shape=(4, 5, 3))))
    return out


def gather_samples(rng):
    x = real()
    return [
        Sample((x(rng, (5, 3)), np.array([0, 0, 4, 2], np.int32)), dict(axis=0)),
        Sample((x(rng, (5, 3)), np.array([[2, 1], [1, 1]], np.int32)), dict(axis=1)),
        Sample((x(rng, (2, 4, 3)), np.array([3, 3, 0], np.int64)), dict(axis=-2)),
        Sample((x(rng, (4,)), np.array(2, np.int32)), dict(axis=0)),
    ]


def einsum_samples(rng):
    x = real()
    cases = [("ij,jk->ik", (2, 3), (3, 4)), ("bij,bjk->bik", (2, 2, 3), (2, 3, 2)),
             ("i,i->", (4,), (4,)), ("i,j->ij", (3,), (2,)), ("ij->j", (3, 4)),
             ("ij->ji", (2, 3)), ("ij,kj->ik", (2, 3), (4, 3)), ("ijk,k->ij", (2, 3, 4), (4,)),
             ("ij,jk,kl->il", (2, 3), (3, 2), (2, 2))]
    return [Sample(tuple(x(rng, s) for s in shapes), dict(equation=eq))
            for eq, *shapes in cases]


def matmul_samples(rng):
    x = real()
    cases = [((2, 3), (3, 4), {}), ((1, 1), (1, 1), {}), ((2, 3, 4), (2, 4, 5), {}),
             ((2, 1, 3, 4), (5, 4, 2), {}), ((3, 4), (2, 4, 2), {}),
             ((3, 2), (3, 4), dict(transpose_a=True)), ((2, 3), (4, 3), dict(transpose_b=True)),
             ((2, 3, 2), (2, 4, 3), dict(transpose_a=True, transpose_b=True))]
    return [Sample((x(rng, a), x(rng, b)), kw) for a, b, kw in cases]


def xent_samples(sparse):
    def samples(rng):
        out = []
        for shape in [(4, 5), (3,), (2, 3, 4)]:
            logits = real(-3, 3)(rng, shape)
            if sparse:
                labels = rng.integers(0, shape[-1], shape[:-1]).astype(np.int32)
            else:
                p = rng.random(shape) + 0.1
                labels = p / p.sum(-1, keepdims=True)
            out.append(Sample((logits, labels)))
        return out

    return samples


def sparse_xent_grad_samples(rng):
    return [Sample((s.args[0], s.args[1], real()(rng, np.shape(s.args[1]))))
            for s in xent_samples(sparse=True)(rng)]


def _sparse_xent_grad_ref(z, y, g):
    s = np.exp(_log_softmax(z))
    onehot = (y[..., None] == np.arange(z.shape[-1])).astype(s.dtype)
    return g[..., None] * (s - onehot)


def bias_relu_samples(rng):
    # x + b kept away from ReLU's kink: x = z - b with z away from 0
    out = []
    for xs in [(4,), (3, 4), (2, 3, 3, 4), (2, 1, 5, 4)]:
        b = real()(rng, (4,))
        out.append(Sample((real()(rng, xs) - b, b)))
    return out


def variadic_samples(shapes_list, kwargs_list):
    def samples(rng):
        return [Sample(tuple(real()(rng, s) for s in shapes), dict(kw))
                for shapes, kw in zip(shapes_list, kwargs_list)]

    return samples


def where_samples(rng):
    out = []
    for cs, xs, ys in [((), (), ()), ((3,), (3,), (3,)), ((2, 3), (2, 3), (2, 3)),
                       ((3, 1), (4,), (3, 4)), ((2, 3), (), (3,))]:
        out.append(Sample((rng.random(cs) < 0.5, real()(rng, xs), real()(rng, ys))))
    return out


def pow_samples(rng):
    out = from_shapes((positive(0.3, 2.0), real(-2, 2)), BINARY_SHAPES)(rng)
    # A negative base with whole exponents: the value is real, d/dy is 0 there (as in TF).
    out.append(Sample((real(-2, 2)(rng, (4,)), np.array([2.0, 3.0, -1.0, 1.0])), nondiff=(1,)))
    return out


def prod_samples(rng):
    out = reduction("", None, None, domain=real(-1.5, 1.5, avoid=(0.0,), gap=0.2)).samples(rng)
    z = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0]])
    # Zeros: the first derivative is exact (no division). The second goes through
    # prod_of_others' rule, which divides by x (as TensorFlow's cumprod gradient does).
    out += [Sample((z,), dict(axis=1), second_order=False),
            Sample((z,), dict(axis=None), second_order=False),
            Sample((z,), dict(axis=0, keepdims=True), second_order=False)]
    return out


def prod_of_others_samples(rng):
    d = real(-1.5, 1.5, avoid=(0.0,), gap=0.2)
    out = [Sample((d(rng, (2, 3, 4)),), dict(axis=a))
           for a in (None, 0, -1, (0, 2), (1,))]
    out.append(Sample((d(rng, (3,)),), {}))
    z = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0]])
    out.append(Sample((z,), dict(axis=1), check_grad=False))  # its rule divides by x
    return out


def cumsum_samples(rng):
    out = []
    for kw in [dict(axis=0), dict(axis=1), dict(axis=-1, exclusive=True),
               dict(axis=0, reverse=True), dict(axis=1, exclusive=True, reverse=True)]:
        out.append(Sample((real()(rng, (3, 4)),), kw))
    out.append(Sample((real()(rng, (5,)),), dict(axis=0, exclusive=True)))
    return out


def argminmax_samples(rng):
    d = real()
    return [Sample((d(rng, (3, 4)),), dict(axis=a)) for a in (0, 1, -1)] + [
        Sample((d(rng, (5,)),), dict(axis=0))]


def softmax_samples(rng):
    d = real(-3, 3)
    return [Sample((d(rng, (2, 5)),), {}), Sample((d(rng, (3, 4)),), dict(axis=0)),
            Sample((d(rng, (2, 3, 4)),), dict(axis=1)), Sample((d(rng, (4,)),), {})]


def one_hot_samples(rng):
    return [Sample((np.array([0, 2, 1, 2], np.int32),), dict(depth=3)),
            Sample((np.array([[1, -1], [4, 0]], np.int64),), dict(depth=4)),  # -1, 4: all off
            Sample((np.array([1, 0], np.int32),), dict(depth=2, on_value=5.0, off_value=-1.0)),
            Sample((np.array(1, np.int32),), dict(depth=3, dtype=tf.float64)),
            Sample((np.array([[0, 2, 1]], np.int32),), dict(depth=3, axis=0)),
            Sample((np.array([[0, 2, 1]], np.int32),), dict(depth=4, axis=1))]


def tensordot_samples(rng):
    d = real()
    return [Sample((d(rng, (2, 3)), d(rng, (3, 4))), dict(axes=1)),
            Sample((d(rng, (2, 3, 4)), d(rng, (3, 4, 2))), dict(axes=2)),
            Sample((d(rng, (3, 2)), d(rng, (3, 4))), dict(axes=[[0], [0]])),
            Sample((d(rng, (2, 3, 4)), d(rng, (4, 5, 2))), dict(axes=([2, 0], [0, 2]))),
            Sample((d(rng, (2,)), d(rng, (3,))), dict(axes=0))]


def _within(lo, hi):
    return real(-3, 3, avoid=(lo, hi), gap=0.05)


# ---------------------------------------------------------------- the table


def _op(name):
    """Call a registered op directly (internal helpers have no public name)."""
    return OPS[name]


def _cast_same(x):
    # cast to the input's own dtype through the op (the public tf.cast short-cuts that case)
    return OPS["cast"](x, dtype=x.dtype)


def _leaky(x, alpha=0.2):
    return np.where(x > 0, x, alpha * x)


_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

OP_DB = [
    # ------------------------------------------------------------ binary arithmetic
    binary("add", tf.add, np.add),
    binary("subtract", tf.subtract, np.subtract),
    binary("multiply", tf.multiply, np.multiply),
    binary("divide", tf.divide, np.divide, dy=real(avoid=(0.0,), gap=0.3)),
    OpInfo("pow", tf.pow, np.power, pow_samples, second_order=True,
           domains=(positive(0.3, 2.0), real(-2, 2))),
    binary("maximum", tf.maximum, np.maximum, valid=no_ties),
    binary("minimum", tf.minimum, np.minimum, valid=no_ties),
    binary("squared_difference", tf.math.squared_difference, lambda x, y: (x - y) ** 2),
    nondiff_binary("floordiv", tf.math.floordiv, np.floor_divide,
                   dy=real(-3, 3, avoid=(0.0,), gap=0.5)),
    nondiff_binary("floormod", tf.math.floormod, np.mod, dx=real(-4, 4),
                   dy=real(-3, 3, avoid=(0.0,), gap=0.5)),
    # ------------------------------------------------------------ comparisons and logic
    nondiff_binary("equal", tf.math.equal, np.equal),
    nondiff_binary("not_equal", tf.math.not_equal, np.not_equal),
    nondiff_binary("less", tf.math.less, np.less),
    nondiff_binary("less_equal", tf.math.less_equal, np.less_equal),
    nondiff_binary("greater", tf.math.greater, np.greater),
    nondiff_binary("greater_equal", tf.math.greater_equal, np.greater_equal),
    nondiff_binary("logical_and", tf.math.logical_and, np.logical_and, booleans(), booleans()),
    nondiff_binary("logical_or", tf.math.logical_or, np.logical_or, booleans(), booleans()),
    nondiff_unary("logical_not", tf.math.logical_not, np.logical_not, booleans()),
    nondiff_unary("is_nan", tf.math.is_nan, np.isnan,
                  lambda rng, s: np.where(rng.random(s) < 0.3, np.nan, rng.random(s))),
    nondiff_unary("is_finite", tf.math.is_finite, np.isfinite,
                  lambda rng, s: np.where(rng.random(s) < 0.3, np.inf, rng.random(s))),
    nondiff_unary("sign", tf.sign, np.sign, grid()),
    nondiff_unary("floor", tf.math.floor, np.floor),
    nondiff_unary("ceil", tf.math.ceil, np.ceil),
    nondiff_unary("round", tf.round, np.round,  # half to even, as TensorFlow
                  lambda rng, s: rng.integers(-6, 6, s) * 0.5 + 0.0),
    # ------------------------------------------------------------ unary elementwise
    unary("negative", tf.negative, np.negative),
    unary("abs", tf.abs, np.abs),
    unary("exp", tf.exp, np.exp),
    unary("expm1", tf.math.expm1, np.expm1),
    unary("log", tf.math.log, np.log, positive(0.2, 3.0)),
    unary("log1p", tf.math.log1p, np.log1p, real(-0.7, 2.0, avoid=())),
    unary("sqrt", tf.sqrt, np.sqrt, positive(0.2, 3.0)),
    unary("rsqrt", tf.math.rsqrt, lambda x: 1 / np.sqrt(x), positive(0.2, 3.0)),
    unary("square", tf.square, np.square),
    unary("reciprocal", tf.math.reciprocal, np.reciprocal, real(avoid=(0.0,), gap=0.3)),
    unary("sin", tf.sin, np.sin),
    unary("cos", tf.cos, np.cos),
    unary("tan", tf.tan, np.tan, real(-1.2, 1.2, avoid=())),
    unary("asin", tf.math.asin, np.arcsin, unit()),
    unary("acos", tf.math.acos, np.arccos, unit()),
    unary("atan", tf.math.atan, np.arctan),
    unary("sinh", tf.math.sinh, np.sinh),
    unary("cosh", tf.math.cosh, np.cosh),
    unary("tanh", tf.tanh, np.tanh),
    unary("asinh", tf.math.asinh, np.arcsinh),
    unary("atanh", tf.math.atanh, np.arctanh, unit()),
    unary("erf", tf.math.erf, _np_erf),
    unary("identity", tf.identity, lambda x: x),
    unary("read_variable", _op("read_variable"), lambda x: x),
    unary("cast", _cast_same, lambda x: x),
    nondiff_unary("stop_gradient", tf.stop_gradient, lambda x: x),
    nondiff_unary("zeros_like", tf.zeros_like, np.zeros_like),
    nondiff_unary("ones_like", tf.ones_like, np.ones_like),
    OpInfo("where", tf.where, np.where, where_samples, nondiff=(0,), second_order=True),
    # ------------------------------------------------------------ activations
    unary("relu", tf.nn.relu, lambda x: np.maximum(x, 0)),
    unary("relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), real(-8, 8, avoid=(0.0, 6.0))),
    unary("leaky_relu", tf.nn.leaky_relu, _leaky, kwargs_list=({}, dict(alpha=0.05))),
    unary("elu", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    unary("selu", tf.nn.selu,
          lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0)))),
    unary("sigmoid", tf.nn.sigmoid, _sigmoid, real(-6, 6)),
    unary("softplus", tf.nn.softplus, lambda x: np.logaddexp(x, 0), real(-6, 6)),
    unary("softsign", tf.nn.softsign, lambda x: x / (1 + np.abs(x))),
    unary("gelu", tf.nn.gelu, lambda x: 0.5 * x * (1 + _np_erf(x / np.sqrt(2)))),
    unary("gelu_tanh", lambda x: tf.nn.gelu(x, approximate=True),
          lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    unary("swish", tf.nn.swish, lambda x: x * _sigmoid(x)),
    unary("log_sigmoid", tf.math.log_sigmoid, lambda x: -np.logaddexp(-x, 0), real(-6, 6)),
    unary("clip_by_value", lambda x: tf.clip_by_value(x, -1.0, 1.5),
          lambda x: np.clip(x, -1.0, 1.5), _within(-1.0, 1.5)),
    OpInfo("softmax", tf.nn.softmax, _softmax, softmax_samples, second_order=True),
    OpInfo("log_softmax", tf.nn.log_softmax, _log_softmax, softmax_samples, second_order=True),
    OpInfo("sparse_softmax_cross_entropy",
           lambda logits, labels: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits),
           lambda z, y: -np.take_along_axis(_log_softmax(z), y[..., None].astype(int), -1)[..., 0],
           xent_samples(sparse=True), nondiff=(1,), second_order=True),
    OpInfo("sparse_softmax_cross_entropy_grad", _op("sparse_softmax_cross_entropy_grad"),
           _sparse_xent_grad_ref, sparse_xent_grad_samples, nondiff=(1,), second_order=True),
    OpInfo("softmax_cross_entropy",
           lambda logits, labels: tf.nn.softmax_cross_entropy_with_logits(labels, logits),
           lambda z, p: -np.sum(p * _log_softmax(z), -1), xent_samples(sparse=False),
           second_order=True),
    binary("sigmoid_cross_entropy_with_logits",
           lambda z, y: tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z),
           lambda z, y: np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))),
           dy=real(0, 1, avoid=())),
    # ------------------------------------------------------------ reductions
    reduction("reduce_sum", tf.reduce_sum, np.sum),
    reduction("reduce_mean", tf.reduce_mean, np.mean),
    reduction("reduce_max", tf.reduce_max, np.max, spread()),
    reduction("reduce_min", tf.reduce_min, np.min, spread()),
    OpInfo("reduce_prod", tf.reduce_prod, np.prod, prod_samples, second_order=True,
           domains=(real(-1.5, 1.5, avoid=(0.0,), gap=0.2),), kind="reduction"),
    OpInfo("prod_of_others", _op("prod_of_others"), _prod_of_others, prod_of_others_samples,
           second_order=True),
    reduction("reduce_logsumexp", tf.reduce_logsumexp, _logsumexp),
    reduction("reduce_variance", tf.math.reduce_variance, np.var),
    # std has a kink where the variance is 0 (a single element): no hypothesis shapes
    reduction("reduce_std", tf.math.reduce_std, np.std, axes=AXES[:-1], scalar=False,
              kind=""),
    reduction("norm", tf.norm, _norm, axes=[dict(axis=None), dict(axis=1), dict(axis=(0, 2)),
                                            dict(axis=-1, keepdims=True)]),
    reduction("norm_1", lambda x, **kw: tf.norm(x, ord=1, **kw),
              lambda x, **kw: _norm(x, ord=1, **kw), axes=[dict(axis=None), dict(axis=1)]),
    reduction("norm_inf", lambda x, **kw: tf.norm(x, ord=np.inf, **kw),
              lambda x, **kw: _norm(x, ord=np.inf, **kw), spread(signed=False),
              axes=[dict(axis=None), dict(axis=0)]),
    OpInfo("cumsum", tf.math.cumsum, _cumsum, cumsum_samples, second_order=True),
    OpInfo("argmax", tf.argmax, np.argmax, argminmax_samples, differentiable=False),
    OpInfo("argmin", tf.argmin, np.argmin, argminmax_samples, differentiable=False),
    OpInfo("l2_loss", tf.nn.l2_loss, lambda x: np.sum(x * x) / 2,
           from_shapes((real(),), [((3,),), ((2, 3),)]), second_order=True),
    OpInfo("clip_by_norm", lambda x, **kw: tf.clip_by_norm(x, 1.5, **kw),
           lambda x, axes=None: x * 1.5 / np.maximum(np.sqrt(np.sum(
               x * x, axis=tuple(axes) if isinstance(axes, list) else axes, keepdims=True)), 1.5),
           fixed(lambda r: Sample((real()(r, (4,)),)),
                 lambda r: Sample((real(-0.6, 0.6)(r, (2, 3)),)),  # inside: unchanged
                 lambda r: Sample((real()(r, (3, 4)),), dict(axes=1)),
                 lambda r: Sample((real()(r, (2, 3, 2)),), dict(axes=[0, 2]))),
           second_order=True),
    # ------------------------------------------------------------ shapes and indexing
    OpInfo("reshape", tf.reshape, np.reshape, from_shapes(
        (real(),), [((2, 3, 4),)],
        [dict(shape=(6, 4)), dict(shape=(-1,)), dict(shape=(4, -1, 2)), dict(shape=(2, 1, 12))]),
        second_order=True),
    OpInfo("squeeze", tf.squeeze, lambda x, axis=None: np.squeeze(x, axis), from_shapes(
        (real(),), [((2, 1, 3, 1),)], [{}, dict(axis=1), dict(axis=(-1, 1))]), second_order=True),
    OpInfo("expand_dims", tf.expand_dims, np.expand_dims, from_shapes(
        (real(),), [((2, 3),)], [dict(axis=0), dict(axis=-1), dict(axis=1)]), second_order=True),
    OpInfo("transpose", tf.transpose, lambda x, perm=None: np.transpose(x, perm), from_shapes(
        (real(),), [((2, 3, 4),)], [{}, dict(perm=(1, 0, 2)), dict(perm=(2, 0, 1))]),
        second_order=True),
    OpInfo("broadcast_to", tf.broadcast_to, np.broadcast_to, fixed(
        lambda r: Sample((real()(r, (3, 1)),), dict(shape=(2, 3, 4))),
        lambda r: Sample((real()(r, ()),), dict(shape=(2, 2))),
        lambda r: Sample((real()(r, (4,)),), dict(shape=(3, 4)))), second_order=True),
    OpInfo("concat", lambda *xs, axis: tf.concat(list(xs), axis),
           lambda *xs, axis: np.concatenate(xs, axis), variadic_samples(
               [[(2, 3), (1, 3)], [(2, 3), (2, 1), (2, 2)], [(2, 2, 3), (2, 2, 1)], [(3,)]],
               [dict(axis=0), dict(axis=1), dict(axis=-1), dict(axis=0)]), second_order=True),
    OpInfo("stack", lambda *xs, axis=0: tf.stack(list(xs), axis),
           lambda *xs, axis=0: np.stack(xs, axis), variadic_samples(
               [[(2, 3), (2, 3)], [(3,), (3,), (3,)], [(2, 2), (2, 2)], [()]],
               [{}, dict(axis=1), dict(axis=-1), {}]), second_order=True),
    OpInfo("split", lambda x, n, axis: tf.split(x, n, axis)[1],
           lambda x, n, axis: np.split(x, np.cumsum(n)[:-1] if isinstance(n, list) else n,
                                       axis)[1],
           from_shapes((real(),), [((4, 6),)], [dict(n=2, axis=0), dict(n=[1, 3, 2], axis=1)]),
           second_order=True),
    OpInfo("unstack", lambda x, axis: tf.stack(tf.unstack(x, axis=axis)[::-1]),
           lambda x, axis: np.stack([np.take(x, i, axis) for i in range(x.shape[axis])][::-1]),
           from_shapes((real(),), [((3, 4),)], [dict(axis=0), dict(axis=1)]), second_order=True),
    OpInfo("getitem", lambda x, key: x[key], lambda x, key: x[_key_array(key)], getitem_samples,
           second_order=True),
    OpInfo("scatter_into_zeros", lambda g, key, shape: _op("scatter_into_zeros")(
        g, key=key, shape=shape), _scatter, scatter_samples, second_order=True),
    OpInfo("gather", lambda p, i, axis: tf.gather(p, i, axis=axis),
           lambda p, i, axis: np.take(p, i, axis=axis), gather_samples, nondiff=(1,),
           second_order=True),
    OpInfo("tile", tf.tile, lambda x, multiples: np.tile(x, multiples), from_shapes(
        (real(),), [((2, 3),)], [dict(multiples=(2, 1)), dict(multiples=(1, 3)),
                                 dict(multiples=(2, 2))]), second_order=True),
    OpInfo("pad", lambda x, paddings, constant_values=0: tf.pad(
        x, paddings, constant_values=constant_values),
           lambda x, paddings, constant_values=0: np.pad(x, paddings,
                                                         constant_values=constant_values),
           from_shapes((real(),), [((2, 3),)], [dict(paddings=((1, 0), (2, 1))),
                                                dict(paddings=((0, 0), (1, 1)),
                                                     constant_values=2.5)]),
           second_order=True),
    OpInfo("reverse", tf.reverse, lambda x, axis: np.flip(x, tuple(axis)), from_shapes(
        (real(),), [((2, 3, 4),)], [dict(axis=[0]), dict(axis=[1, 2]), dict(axis=[-1])]),
        second_order=True),
    OpInfo("one_hot", tf.one_hot, _one_hot, one_hot_samples, differentiable=False),
    OpInfo("bias_add", tf.nn.bias_add, np.add,
           from_shapes((real(), real()), [((2, 3), (3,)), ((2, 4, 4, 3), (3,))]),
           second_order=True),
    OpInfo("moments", lambda x, axes: tf.stack(list(tf.nn.moments(x, axes))),
           lambda x, axes: np.stack([x.mean(tuple(axes)), x.var(tuple(axes))]),
           from_shapes((real(),), [((3, 4, 2),)], [dict(axes=[0]), dict(axes=[0, 1])]),
           second_order=True),
    # ------------------------------------------------------------ linear algebra
    OpInfo("matmul", tf.matmul,
           lambda a, b, transpose_a=False, transpose_b=False: np.matmul(
               np.swapaxes(a, -1, -2) if transpose_a else a,
               np.swapaxes(b, -1, -2) if transpose_b else b), matmul_samples, second_order=True),
    OpInfo("einsum", lambda *xs, equation: tf.einsum(equation, *xs),
           lambda *xs, equation: np.einsum(equation, *xs), einsum_samples, second_order=True),
    OpInfo("tensordot", tf.tensordot, _tensordot, tensordot_samples, second_order=True),
    OpInfo("matrix_transpose", tf.linalg.matrix_transpose, lambda a: np.swapaxes(a, -1, -2),
           from_shapes((real(),), [((2, 3),), ((2, 3, 4),)]), second_order=True),
    # ------------------------------------------------------------ convolution and pooling
    OpInfo("conv2d", lambda x, w, strides, padding: tf.nn.conv2d(x, w, strides, padding),
           conv2d_ref, conv_samples, second_order=True),
    OpInfo("im2col", _op("im2col"), im2col_ref, im2col_samples, second_order=True),
    OpInfo("col2im", _op("col2im"), col2im_ref, col2im_samples, second_order=True),
    OpInfo("bias_relu", _op("bias_relu"), lambda x, b: np.maximum(x + b, 0), bias_relu_samples,
           second_order=True),
    OpInfo("relu_grad", _op("relu_grad"), lambda out, g: np.where(out > 0, g, 0),
           lambda rng: [Sample((real()(rng, s), real()(rng, s))) for s in [(), (3,), (2, 4, 3)]],
           nondiff=(0,), second_order=True),
    OpInfo("max_pool2d", lambda x, ksize, strides, padding: tf.nn.max_pool2d(
        x, ksize, strides, padding), max_pool_ref, pool_samples, second_order=True),
    OpInfo("max_pool2d_scatter", _op("max_pool2d_scatter"), max_pool_scatter_ref,
           pool_scatter_samples, nondiff=(0, 2), second_order=True),
    OpInfo("max_pool2d_gather", _op("max_pool2d_gather"), max_pool_gather_ref,
           pool_pair_samples(lambda xs, k, s, p: xs), nondiff=(0,), second_order=True),
    OpInfo("avg_pool2d", lambda x, ksize, strides, padding: tf.nn.avg_pool2d(
        x, ksize, strides, padding), avg_pool_ref, pool_samples, second_order=True),
    OpInfo("avg_pool2d_grad", _op("avg_pool2d_grad"), avg_pool_grad_ref, avg_pool_grad_samples,
           second_order=True),
]

ROWS = {row.name: row for row in OP_DB}
assert len(ROWS) == len(OP_DB), "two rows share a name"


def samples_of(row):
    """The row's samples, drawn from a generator seeded by the row's name (repeatable)."""
    return row.samples(_rng_for(row.name))
