"""Gradients you can explain: print the tape, check any gradient, say why a gradient is None.

    with tf.GradientTape(persistent=True) as tape:
        loss = ...
    grads = tape.gradient(loss, model.trainable_variables, explain=True)
    print(tape.explain(loss))          # one line per op, with the gradient norm through it
    tf.gradcheck(lambda w: f(w), w0)   # finite differences against the tape, in float64
"""

import shutil
import subprocess

import numpy

from . import backend, nest
from .tape import GradientTape
from .tensor import Tensor, Variable, convert_to_tensor


# ---------------------------------------------------------------- the tape as a graph


def _reaching(tape, target):
    """The records the target depends on, oldest first."""
    wanted = {id(t) for t in nest.flatten(target) if isinstance(t, Tensor)}
    keep = []
    for rec in reversed(tape._records):
        if id(rec.output) in wanted:
            keep.append(rec)
            wanted.update(id(x) for x in rec.inputs)
    keep.reverse()
    return keep


def _names(tape, records):
    names = {}
    for v in tape._watched:
        names[id(v)] = v.name.split(":")[0] if isinstance(v, Variable) else f"watched{len(names)}"
    for i, rec in enumerate(records):
        names[id(rec.output)] = f"%{i}"
    return names


def _desc(t):
    return f"{list(t.value.shape)} {t.dtype.name}"


def explain(tape, target):
    """The recorded computation leading to `target`, one line per op (a string).

    Each line shows the op, its inputs (names, shapes, dtypes), the gradient rule that runs
    backwards, and, after `tape.gradient(..., explain=True)`, the norm of the gradient that
    flowed into the op's output.
    """
    records = _reaching(tape, target)
    if not records:
        return ("the tape recorded no op leading to this target: nothing it watched was used "
                "(see tapegrad.why_none)")
    names = _names(tape, records)
    norms = getattr(tape, "_grad_norms", None) or {}
    lines = []
    for rec in records:
        args = ", ".join(f"{names.get(id(x), 'const')}: {_desc(x)}" for x in rec.inputs)
        params = "".join(f", {k}={v!r}" for k, v in rec.params.items()
                         if k != "key" and not hasattr(v, "shape"))  # (no arrays)
        out = names[id(rec.output)]
        line = f"{out} = {rec.op.name}({args}{params}) -> {_desc(rec.output)}"
        line += f"   rule: {rec.op.name}.vjp"
        if id(rec.output) in norms:
            line += f"   |grad| = {norms[id(rec.output)]:.4g}"
        lines.append(line)
    for v in tape._watched:
        if id(v) in norms:
            lines.append(f"d/d{names[id(v)]}: |grad| = {norms[id(v)]:.4g}")
    return "\n".join(lines)


def to_dot(tape, target):
    """Graphviz DOT text for the computation leading to `target`."""
    records = _reaching(tape, target)
    names = _names(tape, records)
    norms = getattr(tape, "_grad_norms", None) or {}
    out = ["digraph tape {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    for v in tape._watched:
        out.append(f'  "{id(v)}" [label="{names[id(v)]}\\n{_desc(v)}", shape=ellipse];')
    for rec in records:
        label = f"{rec.op.name}\\n{_desc(rec.output)}"
        if id(rec.output) in norms:
            label += f"\\n|grad|={norms[id(rec.output)]:.3g}"
        out.append(f'  "{id(rec.output)}" [label="{label}"];')
        for x in rec.inputs:
            if id(x) in names:
                out.append(f'  "{id(x)}" -> "{id(rec.output)}";')
    out.append("}")
    return "\n".join(out)


def plot(tape, target, path):
    """Render the graph to PNG or SVG (by the path's suffix) with Graphviz's `dot`."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "tape.plot needs the Graphviz program `dot` (apt-get install graphviz); "
            "tape.to_dot(target) gives the DOT text without it"
        )
    fmt = str(path).rsplit(".", 1)[-1].lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"tape.plot: use a .png, .svg or .pdf path, got {path!r}")
    subprocess.run([exe, f"-T{fmt}", "-o", str(path)], input=to_dot(tape, target).encode(),
                   check=True)
    return path


# ---------------------------------------------------------------- why is it None?


def why_none(tape, target, source):
    """A sentence saying why d(target)/d(source) is None, naming TensorFlow's usual reasons."""
    notes = getattr(tape, "_notes", [])
    src_name = source.name if isinstance(source, Variable) else "the source tensor"
    if not isinstance(source, Tensor):
        return (f"the source is a {type(source).__name__}, not a Tensor or Variable: gradients "
                "are only taken with respect to tensors")
    if not backend.is_floating(source.dtype):
        return (f"{src_name} has dtype {source.dtype.name}: integer and boolean tensors are not "
                "differentiable; make it floating (tf.cast(x, tf.float32)) before the tape")
    watched = id(source) in tape._ids
    if isinstance(source, Variable) and not source.trainable and not watched:
        return (f"{src_name} is not trainable (trainable=False), so the tape does not watch it; "
                "call tape.watch(v) or create it with trainable=True")
    if isinstance(source, Variable) and not watched and not tape._watch_accessed:
        return (f"the tape was created with watch_accessed_variables=False and {src_name} was "
                "never passed to tape.watch()")
    for kind, info in notes:
        if kind == "assign" and id(source) in info["sources"]:
            return (f"an assign ({info['method']} on '{info['variable']}') used {src_name}; a "
                    "Variable's new value is state, not a recorded op, so the chain stops there. "
                    "Compute with the tensor instead of assigning it inside the tape")
    targets = [t for t in nest.flatten(target) if isinstance(t, Tensor)]
    if not isinstance(source, Variable) and not watched:
        if any(isinstance(v, Variable) for v in tape._watched) and source.__class__ is Tensor:
            return ("the source is a plain Tensor the tape never watched. If it was a Variable "
                    "that got replaced (x = x + 1 makes a new Tensor), update it with "
                    "x.assign_add(1) instead; otherwise call tape.watch(x) before using it")
        return ("the source is a Tensor the tape never watched: call tape.watch(x) before "
                "computing with it (only trainable Variables are watched automatically)")
    for kind, info in notes:
        if kind == "numpy" and id(source) in info["sources"]:
            return ("the computation left tapegrad: a tensor that depends on the source was "
                    f"turned into a NumPy array ({info['where']}); NumPy operations are not "
                    "recorded. Use tapegrad ops (tf.reduce_mean, …) inside the tape")
    for kind, info in notes:
        if kind == "nondiff" and id(source) in info["sources"]:
            return (f"the path goes through '{info['op']}', which has no gradient "
                    "(stop_gradient, argmax, comparisons, rounding and casts to integers "
                    "stop it on purpose)")
    if any(kind == "stop_recording" for kind, _ in notes):
        return ("no recorded path, and the tape was paused with stop_recording(): ops run "
                "while it was paused are not on the tape")
    if not any(id(t) in tape._ids for t in targets):
        return (f"there is no path: the target does not depend on {src_name} through any op the "
                "tape recorded")
    return (f"there is no path: no op the tape recorded leads from {src_name} to the target")


# ---------------------------------------------------------------- gradcheck


class GradcheckReport:
    """Per input: max absolute and relative error between the tape and finite differences."""

    def __init__(self, rows, order):
        self.rows, self.order = rows, order

    @property
    def ok(self):
        return all(r["ok"] for r in self.rows)

    def __repr__(self):
        head = f"gradcheck (order {self.order}): {'ok' if self.ok else 'FAILED'}"
        body = [f"  input {r['input']}: max abs err {r['max_abs']:.3g}, max rel err "
                f"{r['max_rel']:.3g}" for r in self.rows]
        return "\n".join([head] + body)


def _numeric_jacobian(f, xs, i, eps):
    x0 = xs[i].copy()
    y0 = numpy.asarray(f(*xs), dtype=numpy.float64)
    jac = numpy.zeros((x0.size, y0.size))
    flat = xs[i].reshape(-1)
    for k in range(x0.size):
        old = flat[k]
        flat[k] = old + eps
        up = numpy.asarray(f(*xs), dtype=numpy.float64).reshape(-1)
        flat[k] = old - eps
        down = numpy.asarray(f(*xs), dtype=numpy.float64).reshape(-1)
        flat[k] = old
        jac[k] = (up - down) / (2 * eps)
    return jac


def _tape_jacobian(f, xs, i):
    ts = [convert_to_tensor(x) for x in xs]
    with GradientTape() as tape:
        tape.watch(ts[i])
        y = f(*ts)
    j = tape.jacobian(y, ts[i], unconnected_gradients="zero")
    y_size = int(numpy.prod(y.value.shape))
    return backend.to_numpy(j.value).reshape(y_size, -1).T


def gradcheck(f, *inputs, order=1, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare the tape's gradients of `f` with central differences, in float64.

    `f` maps tensors to a tensor. With order=2 the gradient of <grad f, w> is checked too.
    Returns a GradcheckReport; raises AssertionError naming the worst element when it fails.
    """
    xs = [numpy.array(backend.to_numpy(x.value if isinstance(x, Tensor) else x),
                      dtype=numpy.float64) for x in inputs]
    fn = f
    if order == 2:
        w = [numpy.random.default_rng(0).standard_normal(x.shape) for x in xs]

        def fn(*ts):
            ts = [convert_to_tensor(t) for t in ts]
            with GradientTape() as inner:
                inner.watch(ts)
                y = f(*ts)
            gs = inner.gradient(y, ts, unconnected_gradients="zero")
            total = None
            for g, wi in zip(gs, w):
                term = _sum(g * convert_to_tensor(wi))
                total = term if total is None else total + term
            return total
    elif order != 1:
        raise ValueError("gradcheck: order must be 1 or 2")

    def numeric_f(*arrays):
        return backend.to_numpy(fn(*[convert_to_tensor(a) for a in arrays]).value)

    rows = []
    for i in range(len(xs)):
        num = _numeric_jacobian(numeric_f, xs, i, eps)
        ana = _tape_jacobian(fn, xs, i)
        err = numpy.abs(num - ana)
        rel = err / numpy.maximum(numpy.abs(num), 1e-12)
        bad = err > atol + rtol * numpy.abs(num)
        row = {"input": i, "max_abs": float(err.max(initial=0)), "max_rel": float(
            rel.max(initial=0)), "ok": not bad.any()}
        rows.append(row)
        if bad.any() and raise_exception:
            k, j = numpy.unravel_index(numpy.argmax(err), err.shape)
            idx = numpy.unravel_index(k, xs[i].shape)
            raise AssertionError(
                f"gradcheck failed for input {i} at element {tuple(int(a) for a in idx)} "
                f"(output element {j}): tape gives {ana[k, j]:.6g}, finite differences "
                f"{num[k, j]:.6g} (abs err {err[k, j]:.3g})"
            )
    return GradcheckReport(rows, order)


def _sum(t):
    from .ops.math import reduce_sum

    return reduce_sum(t)


def compute_gradient(f, x, delta=None):
    """tf.test.compute_gradient: (theoretical, numerical) Jacobians, each (x.size, y.size)."""
    xs = [numpy.array(backend.to_numpy(convert_to_tensor(v).value), dtype=numpy.float64)
          for v in x]
    eps = delta or 1e-6

    def numeric_f(*arrays):
        return backend.to_numpy(f(*[convert_to_tensor(a) for a in arrays]).value)

    theoretical = [_tape_jacobian(f, xs, i) for i in range(len(xs))]
    numerical = [_numeric_jacobian(numeric_f, xs, i, eps) for i in range(len(xs))]
    return theoretical, numerical


def _tape_explain(self, target):
    return explain(self, target)


def _tape_to_dot(self, target):
    return to_dot(self, target)


def _tape_plot(self, target, path):
    return plot(self, target, path)


GradientTape.explain = _tape_explain
GradientTape.to_dot = _tape_to_dot
GradientTape.plot = _tape_plot


class _CallableModule(__import__("types").ModuleType):
    """`tapegrad.explain(tape, target)` works as well as `tape.explain(target)`."""

    def __call__(self, tape, target):
        return explain(tape, target)


__import__("sys").modules[__name__].__class__ = _CallableModule
