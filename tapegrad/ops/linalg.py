"""matmul (batched, broadcasting), tensordot and einsum."""

from .. import backend
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from .array import reshape, transpose
from .core import op


def _xp():
    return backend.xp


def _swap(x):
    nd = x.value.ndim
    return transpose(x, perm=tuple(range(nd - 2)) + (nd - 1, nd - 2))


@op("matmul")
def _matmul(a, b, transpose_a=False, transpose_b=False):
    """a @ b over the last two axes; `transpose_a`/`transpose_b` multiply by the transpose of
    that operand instead, which BLAS reads in place (no transposed copy, no extra op)."""
    if transpose_a and a.ndim >= 2:
        a = a.swapaxes(-1, -2)
    if transpose_b and b.ndim >= 2:
        b = b.swapaxes(-1, -2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise InvalidArgumentError(
            f"matmul: cannot multiply shapes {a.shape} and {b.shape}"
            f"{' (after transposing)' if transpose_a or transpose_b else ''}: both need rank >= 2 "
            f"and the last dimension of the first ({a.shape[-1] if a.ndim else '-'}) must equal "
            f"the second-to-last of the second ({b.shape[-2] if b.ndim >= 2 else '-'}); "
            "transpose one of them (transpose_b=True) or reshape"
        )
    return _xp().matmul(a, b)


@_matmul.vjp(needs=True)
def _(g, out, a, b, needs, transpose_a=False, transpose_b=False):
    # With A = op(a), B = op(b) and g = d/d(A @ B): dA = g @ B^T and dB = A^T @ g, each one
    # product with flags (its transposes read in place). The engine sums batch-broadcast
    # dimensions back; rules never un-broadcast.
    # The operand's gradient last: the next rule the backward pass runs (col2im after a
    # conv's product, the previous layer's activation) then reads it while it is still in
    # cache (seed 003's CNN step: ~4% less CPU time than the other order, A/B in one process).
    ga = gb = None
    if needs[1]:
        if not transpose_b:   # db = A^T @ g
            gb = _matmul(a, g, transpose_a=not transpose_a)
        else:                 # db = (A^T @ g)^T = g^T @ A
            gb = _matmul(g, a, transpose_a=True, transpose_b=transpose_a)
    if needs[0]:
        if not transpose_a:   # da = g @ B^T
            ga = _matmul(g, b, transpose_b=not transpose_b)
        else:                 # da = (g @ B^T)^T = B @ g^T
            ga = _matmul(b, g, transpose_a=transpose_b, transpose_b=True)
    return ga, gb


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           name=None):
    """Matrix product of the last two dimensions, broadcasting the leading (batch) ones."""
    a = a if isinstance(a, Tensor) else convert_to_tensor(a, dtype_hint=_hint(b))
    b = b if isinstance(b, Tensor) else convert_to_tensor(b, dtype_hint=_hint(a))
    ta = bool(transpose_a or adjoint_a)   # real dtypes only: the adjoint is the transpose
    tb = bool(transpose_b or adjoint_b)
    if ta or tb:
        return _matmul(a, b, transpose_a=ta, transpose_b=tb)
    return _matmul(a, b)


def _hint(t):
    return t.dtype if isinstance(t, Tensor) else None


def tensordot(a, b, axes, name=None):
    """Sum products over `axes` (an int, or two lists of axes), via one matmul."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    na, nb = a.value.ndim, b.value.ndim
    if isinstance(axes, int):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                      [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    ax_a = [x % na for x in ax_a]
    ax_b = [x % nb for x in ax_b]
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [i for i in range(nb) if i not in ax_b]
    sa, sb = a.value.shape, b.value.shape
    for i, j in zip(ax_a, ax_b):
        if sa[i] != sb[j]:
            raise InvalidArgumentError(
                f"tensordot: axis {i} of shape {tuple(sa)} ({sa[i]}) does not match axis {j} "
                f"of shape {tuple(sb)} ({sb[j]})"
            )
    k = 1
    for i in ax_a:
        k *= sa[i]
    am = reshape(transpose(a, free_a + ax_a), (-1, k))
    bm = reshape(transpose(b, ax_b + free_b), (k, -1))
    out_shape = [sa[i] for i in free_a] + [sb[i] for i in free_b]
    return reshape(_matmul(am, bm), out_shape)


@op("einsum")
def _einsum(*operands, equation=""):
    return _xp().einsum(equation, *operands)


@_einsum.vjp
def _(g, out, *operands, equation=""):
    ins, out_sub = equation.split("->")
    subs = ins.split(",")
    grads = []
    for k, (x, sub) in enumerate(zip(operands, subs)):
        if len(set(sub)) != len(sub):
            raise NotImplementedError(
                f"einsum gradient: repeated index in operand '{sub}' (a diagonal) is not supported"
            )
        others = [s for i, s in enumerate(subs) if i != k]
        present = set(out_sub).union(*others) if others else set(out_sub)
        kept = "".join(c for c in sub if c in present)
        eq = ",".join([out_sub] + others) + "->" + kept
        gk = _einsum(g, *[o for i, o in enumerate(operands) if i != k], equation=eq)
        if kept != sub:  # indices only this operand has: the gradient is constant along them
            from .array import broadcast_to

            shape = [x.value.shape[i] if c in present else 1 for i, c in enumerate(sub)]
            gk = broadcast_to(reshape(gk, shape), x.value.shape)
        grads.append(gk)
    return tuple(grads)


def einsum(equation, *inputs, name=None, **kwargs):
    """Einstein summation, e.g. einsum('bij,bjk->bik', a, b). Explicit '->' form required."""
    equation = equation.replace(" ", "")
    if "->" not in equation:
        raise InvalidArgumentError(
            f"einsum: write the output explicitly, e.g. 'ij,jk->ik' (got {equation!r})"
        )
    if "..." in equation:
        raise NotImplementedError("einsum: '...' broadcasting is not supported; name the axes")
    return _einsum(*inputs, equation=equation)
