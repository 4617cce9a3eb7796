"""conv2d as im2col plus ONE matrix product, and max/average pooling, all NHWC.

Each backward is itself an op with a rule (TensorFlow's Conv2DBackpropInput/Filter), so second
derivatives through convolutions and pooling work like any other.
"""

import numpy

from .. import backend
from ..errors import InvalidArgumentError
from ..tape import cotangent_is_private
from ..tensor import Tensor, convert_to_tensor
from .array import reshape
from .core import op
from .linalg import _matmul
from .nn import is_relu_output, note_relu_masked


def _xp():
    return backend.xp


def _pair(v, what):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) == 4:  # TF's [1, sh, sw, 1]
        return v[1:3]
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise InvalidArgumentError(f"{what} must be an int or a pair, got {v}")
    return v


def plan(in_hw, k_hw, strides, padding):
    """Output size and explicit (before, after) paddings for 'VALID' or 'SAME'."""
    padding = padding.upper() if isinstance(padding, str) else padding
    out, pads = [], []
    for n, k, s in zip(in_hw, k_hw, strides):
        if padding == "VALID":
            o = (n - k) // s + 1
            pads.append((0, 0))
        elif padding == "SAME":
            o = -(-n // s)
            total = max((o - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            raise InvalidArgumentError(f"padding must be 'VALID' or 'SAME', got {padding!r}")
        if o <= 0:
            raise InvalidArgumentError(
                f"window {tuple(k_hw)} is larger than the input {tuple(in_hw)} with 'VALID' "
                "padding; use padding='same' or a smaller kernel/pool"
            )
        out.append(o)
    return tuple(out), tuple(pads)


def _windows(x, k, s, pads, out_hw, fill=0):
    """(N, OH, OW, C, kh, kw) windows of x: a strided view, copied only where strides need."""
    xp = _xp()
    if any(p for pair in pads for p in pair):
        x = xp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    (kh, kw), (sh, sw), (oh, ow) = k, s, out_hw
    if (kh, kw) == (sh, sw):  # non-overlapping: a reshape is enough
        n, _, _, c = x.shape
        x = x[:, : oh * kh, : ow * kw]
        return x.reshape(n, oh, kh, ow, kw, c).transpose(0, 1, 3, 5, 2, 4)
    v = xp.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    return v[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw]


def _unwindow(dw, in_shape, k, s, pads):
    """The adjoint of _windows: add each window's values back where they came from."""
    xp = _xp()
    n, h, w, c = in_shape
    (kh, kw), (sh, sw) = k, s
    oh, ow = dw.shape[1:3]
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    if (kh, kw) == (sh, sw):
        block = dw.transpose(0, 1, 4, 2, 5, 3).reshape(n, oh * kh, ow * kw, c)
        full = xp.zeros((n, hp, wp, c), dtype=dw.dtype)
        full[:, : oh * kh, : ow * kw] = block
    else:
        full = xp.zeros((n, hp, wp, c), dtype=dw.dtype)
        for i in range(kh):
            for j in range(kw):
                full[:, i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw] += (
                    dw[..., i, j]
                )
    return full[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w]


# ---------------------------------------------------------------- conv2d


def _im2col(x, k, s, pads, out_hw):
    """(N*OH*OW, kh*kw*C) patches, C fastest, copied in slices. A patch row's kw neighbours
    with all their channels are kw*C contiguous elements of NHWC x, so each kernel row i is
    ONE strided copy with kw*C-long runs (NumPy's copy slows down several times on runs as
    short as C); with one channel, per-(i, j) slices give NumPy longer runs (along OW)."""
    xp = _xp()
    if any(p for pair in pads for p in pair):
        x = xp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    (kh, kw), (sh, sw), (oh, ow) = k, s, out_hw
    n, c = x.shape[0], x.shape[3]
    cols = xp.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    s0, s1, s2, s3 = x.strides

    def rows(lo, hi):
        for i in range(kh):
            if c > 1:
                cols[lo:hi, :, :, i] = xp.lib.stride_tricks.as_strided(
                    x[lo:hi, i:], shape=(hi - lo, oh, ow, kw, c),
                    strides=(s0, sh * s1, sw * s2, s2, s3))
                continue
            for j in range(kw):
                cols[lo:hi, :, :, i, j, :] = x[lo:hi, i : i + (oh - 1) * sh + 1 : sh,
                                               j : j + (ow - 1) * sw + 1 : sw, :]

    backend.over_rows(rows, n, cols.size)
    return cols.reshape(n * oh * ow, kh * kw * c)


def _col2im(dcols, in_shape, k, s, pads):
    """The adjoint of _im2col: dcols (N, OH, OW, kh, kw, C) added back into the input.
    Windows whose columns are q = ceil(kw/sw) apart do not overlap, so for each kernel row i
    and each class of output columns (ow mod q) one += adds whole kw*C-long runs (as
    _im2col copies them), not kw separate C-long ones."""
    xp = _xp()
    n, h, w, c = in_shape
    (kh, kw), (sh, sw) = k, s
    oh, ow = dcols.shape[1:3]
    full = xp.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=dcols.dtype)
    f0, f1, f2, f3 = full.strides
    q = -(-kw // sw)

    def rows(lo, hi):
        for i in range(kh):
            if c == 1:
                for j in range(kw):
                    full[lo:hi, i : i + (oh - 1) * sh + 1 : sh,
                         j : j + (ow - 1) * sw + 1 : sw] += dcols[lo:hi, :, :, i, j, :]
                continue
            rows_i = full[lo:hi, i : i + (oh - 1) * sh + 1 : sh]
            for r in range(min(q, ow)):
                m = len(range(r, ow, q))
                start, stop = r * sw, r * sw + m * q * sw
                if stop <= rows_i.shape[2]:
                    # a plain view (a slice split in windows): NumPy's += into it runs ~25%
                    # faster than into an as_strided one, whose overlap it cannot rule out
                    dst = rows_i[:, :, start:stop].reshape(hi - lo, oh, m, q * sw, c)[
                        :, :, :, :kw]
                else:
                    dst = xp.lib.stride_tricks.as_strided(
                        full[lo:hi, i:, start:], shape=(hi - lo, oh, m, kw, c),
                        strides=(f0, sh * f1, q * sw * f2, f2, f3))
                dst += dcols[lo:hi, :, r::q, i]

    backend.over_rows(rows, n, dcols.size, block=2 * backend.BLOCK_ELEMENTS)
    return full[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w]


@op("im2col")
def _im2col_op(x, ksize=(1, 1), strides=(1, 1), padding="VALID"):
    """The (N*OH*OW, kh*kw*C) patch matrix of NHWC `x`: conv2d is this times the filter."""
    out_hw, pads = plan(x.shape[1:3], ksize, strides, padding)
    return _im2col(x, ksize, strides, pads, out_hw)


@_im2col_op.vjp
def _(g, out, x, ksize=(1, 1), strides=(1, 1), padding="VALID"):
    return _col2im_op(g, input_shape=tuple(x.value.shape), ksize=ksize, strides=strides,
                      padding=padding)


@op("col2im")
def _col2im_op(cols, input_shape=(), ksize=(1, 1), strides=(1, 1), padding="VALID"):
    """The adjoint of im2col: each patch row added back where it came from (N, H, W, C)."""
    n, h, w, c = input_shape
    out_hw, pads = plan((h, w), ksize, strides, padding)
    return _col2im(cols.reshape((n,) + out_hw + tuple(ksize) + (c,)), input_shape, ksize,
                   strides, pads)


@_col2im_op.vjp
def _(g, out, cols, input_shape=(), ksize=(1, 1), strides=(1, 1), padding="VALID"):
    return _im2col_op(g, ksize=ksize, strides=strides, padding=padding)


def conv2d_nhwc(x, w, strides=(1, 1), padding="VALID"):
    """conv2d as ONE matrix product: im2col(x) @ w reshaped to (kh*kw*C, F), then back to
    NHWC. The tape sees im2col, matmul and two reshapes, so the filter's gradient reuses the
    patch matrix of the forward (cols.T @ g) and the input's gradient is col2im(g @ w.T)."""
    n, h, wd, c = x.value.shape
    kh, kw, _, f = w.value.shape
    (oh, ow), _ = plan((h, wd), (kh, kw), strides, padding)
    cols = _im2col_op(x, ksize=(kh, kw), strides=strides, padding=padding)
    y = _matmul(cols, reshape(w, shape=(kh * kw * c, f)))
    return reshape(y, shape=(n, oh, ow, f))


def conv2d(input, filters, strides=1, padding="VALID", data_format="NHWC",  # noqa: A002
           dilations=None, name=None):
    """2-D convolution of NHWC `input` with `filters` of shape (kh, kw, in_channels, out)."""
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    w = filters if isinstance(filters, Tensor) else convert_to_tensor(filters)
    if data_format != "NHWC":
        raise InvalidArgumentError(f"conv2d: only data_format='NHWC' is supported, got "
                                   f"{data_format!r}; transpose the input to NHWC")
    if dilations not in (None, 1, (1, 1), [1, 1], (1, 1, 1, 1), [1, 1, 1, 1]):
        raise NotImplementedError("conv2d: dilations other than 1 are not supported")
    if x.value.ndim != 4 or w.value.ndim != 4 or x.value.shape[3] != w.value.shape[2]:
        raise InvalidArgumentError(
            f"conv2d: input {tuple(x.shape)} must be (batch, height, width, channels) and "
            f"filters {tuple(w.shape)} (kh, kw, channels, out) with matching channels"
        )
    return conv2d_nhwc(x, w, strides=_pair(strides, "conv2d strides"), padding=padding.upper())


# ---------------------------------------------------------------- pooling


def _pool_plan(x_shape, ksize, strides, padding):
    k, s = _pair(ksize, "pool size"), _pair(strides, "pool strides")
    out_hw, pads = plan(x_shape[1:3], k, s, padding)
    return k, s, out_hw, pads


def _strided_views(x, k, s, pads, out_hw, fill):
    """The kh*kw strided views x[i::sh, j::sw] (after padding): one per window position."""
    xp = _xp()
    if any(p for pair in pads for p in pair):
        x = xp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    (kh, kw), (sh, sw), (oh, ow) = k, s, out_hw
    return [x[:, i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw]
            for i in range(kh) for j in range(kw)]


def _masks_of(views, top):
    """Per window position, in row-major order, where each window's FIRST maximum sits: TF
    sends a window's gradient to one maximum, which matters at ties (ReLU zeros)."""
    xp = _xp()
    masks, taken, last = [], None, len(views) - 1
    for k, v in enumerate(views):
        m = v == top
        if taken is None:
            taken = m
        else:
            m = xp.greater(m, taken, out=m)  # m and not taken: an earlier maximum wins ties
            if k < last:  # (the last position's mask is not needed to mask any other)
                taken = xp.logical_or(taken, m, out=None if k == 1 else taken)
        masks.append(m)
    return masks


def _max_of(views, out):
    out[...] = views[0]
    for v in views[1:]:
        _xp().maximum(out, v, out=out)
    return out


def _first_max_masks(x, ksize, strides, padding):
    k, s, out_hw, pads = _pool_plan(x.shape, ksize, strides, padding)
    views = _strided_views(x, k, s, pads, out_hw, -numpy.inf)
    top = _max_of(views, _xp().empty(views[0].shape, dtype=x.dtype))
    return _masks_of(views, top), k, s, pads


@op("max_pool2d")
def _max_pool(x, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    k, s, out_hw, pads = _pool_plan(x.shape, ksize, strides, padding)
    views = _strided_views(x, k, s, pads, out_hw, -numpy.inf)
    out = _xp().empty(views[0].shape, dtype=x.dtype)
    backend.over_rows(lambda lo, hi: _max_of([v[lo:hi] for v in views], out[lo:hi]),
                      x.shape[0], x.size, block=backend.BLOCK_ELEMENTS)
    return out


@_max_pool.vjp
def _(g, out, x, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    window = dict(ksize=ksize, strides=strides, padding=padding)
    if is_relu_output(x.value) and cotangent_is_private(x):  # ReLU's mask here (see nn.py)
        gx = _max_pool_scatter(x, g, out, relu=True, **window)
        note_relu_masked(gx.value, x.value)
        return gx
    return _max_pool_scatter(x, g, out, **window)


@op("max_pool2d_scatter")
def _max_pool_scatter(x, g, top, ksize=(2, 2), strides=(2, 2), padding="VALID", relu=False):
    """Send each window's gradient to the (first) position of its maximum, as TF does.
    `top` is max_pool2d(x) (the forward's output, so the maxima are not found twice). With
    `relu`, windows whose maximum is 0 send nothing: x >= 0 is a ReLU's output, and that is
    the ReLU's gradient applied at the maxima."""
    xp = _xp()
    (kh, kw), (sh, sw), out_hw, pads = _pool_plan(x.shape, ksize, strides, padding)
    views = _strided_views(x, (kh, kw), (sh, sw), pads, out_hw, -numpy.inf)
    n, h, w, c = x.shape
    oh, ow = g.shape[1:3]
    positions = [(i, j) for i in range(kh) for j in range(kw)]
    tiled = (kh, kw) == (sh, sw) and not any(p for pair in pads for p in pair)
    if tiled:
        # Windows tile the input (Keras' default pooling): each input element is in at most
        # one window, so every window position is written once, with no zeros and no +=.
        full = xp.empty((n, h, w, c), dtype=g.dtype)
        if h != oh * kh or w != ow * kw:  # rows/columns no window covers
            full[:, oh * kh:] = 0
            full[:, :, ow * kw:] = 0
    else:
        full = xp.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=g.dtype)

    def rows(lo, hi):
        vs = [v[lo:hi] for v in views]
        gl = g[lo:hi]
        if relu:
            gl = gl * (top[lo:hi] > 0)
        masks = _masks_of(vs, top[lo:hi])
        for (i, j), m in zip(positions, masks):
            if tiled:
                xp.multiply(gl, m, out=full[lo:hi, i:oh * kh:kh, j:ow * kw:kw])
            else:
                full[lo:hi, i : i + (oh - 1) * sh + 1 : sh,
                     j : j + (ow - 1) * sw + 1 : sw] += gl * m

    backend.over_rows(rows, n, x.size, block=backend.BLOCK_ELEMENTS)
    if tiled:
        return full
    return full[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w]


@_max_pool_scatter.vjp
def _(gg, out, x, g, top, ksize=(2, 2), strides=(2, 2), padding="VALID", relu=False):
    gg = _max_pool_gather(x, gg, ksize=ksize, strides=strides, padding=padding)
    if relu:
        gg = gg * Tensor((top.value > 0).astype(gg.value.dtype))
    return None, gg, None


@op("max_pool2d_gather")
def _max_pool_gather(x, y, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    """Pick y at each window's first argmax of x (the adjoint of the scatter above)."""
    masks, k, s, pads = _first_max_masks(x, ksize, strides, padding)
    views = _strided_views(y, k, s, pads, masks[0].shape[1:3], 0)
    out = views[0] * masks[0]
    for v, m in zip(views[1:], masks[1:]):
        out += v * m
    return out


@_max_pool_gather.vjp
def _(g, out, x, y, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    top = _max_pool(x, ksize=ksize, strides=strides, padding=padding)
    return None, _max_pool_scatter(x, g, top, ksize=ksize, strides=strides, padding=padding)


def _avg_counts(shape, k, s, pads, out_hw, dtype):
    ones = _xp().ones((1,) + tuple(shape[1:3]) + (1,), dtype=dtype)
    return _windows(ones, k, s, pads, out_hw).sum(axis=(-2, -1))


@op("avg_pool2d")
def _avg_pool(x, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    k, s, out_hw, pads = _pool_plan(x.shape, ksize, strides, padding)
    total = _windows(x, k, s, pads, out_hw).sum(axis=(-2, -1))
    return total / _avg_counts(x.shape, k, s, pads, out_hw, x.dtype)  # padding not counted


@_avg_pool.vjp
def _(g, out, x, ksize=(2, 2), strides=(2, 2), padding="VALID"):
    return _avg_pool_grad(g, input_shape=tuple(x.value.shape), ksize=ksize, strides=strides,
                          padding=padding)


@op("avg_pool2d_grad")
def _avg_pool_grad(g, input_shape=(), ksize=(2, 2), strides=(2, 2), padding="VALID"):
    k, s, out_hw, pads = _pool_plan(input_shape, ksize, strides, padding)
    share = g / _avg_counts(input_shape, k, s, pads, out_hw, g.dtype)
    dw = _xp().broadcast_to(share[..., None, None], share.shape + k)
    return _unwindow(dw, input_shape, k, s, pads)


@_avg_pool_grad.vjp
def _(gg, out, g, input_shape=(), ksize=(2, 2), strides=(2, 2), padding="VALID"):
    return _avg_pool(gg, ksize=ksize, strides=strides, padding=padding)


def _pool_args(what, x, ksize, strides, padding):
    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if x.value.ndim != 4:
        raise InvalidArgumentError(
            f"{what}: input must be (batch, height, width, channels), got shape {tuple(x.shape)}"
        )
    strides = ksize if strides is None else strides
    return x, dict(ksize=_pair(ksize, "ksize"), strides=_pair(strides, "strides"),
                   padding=padding.upper())


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    x, kw = _pool_args("max_pool2d", input, ksize, strides, padding)
    return _max_pool(x, **kw)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    x, kw = _pool_args("avg_pool2d", input, ksize, strides, padding)
    return _avg_pool(x, **kw)
