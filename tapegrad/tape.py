"""GradientTape: records ops while active and walks the records backwards for gradients.

The tape records, it does not compute. Each op call that touches a watched tensor appends one
Record (op, inputs, output, params). `gradient()` walks the records newest-first — execution order
is already topological, so there is no sort and no recursion — and accumulates cotangents in a
dict keyed by tensor id. While it runs the rules it pauses itself, so OUTER tapes record the rules:
that is how second derivatives, jacobians of gradients and gradient penalties work.
"""

import contextlib
import enum
import warnings

import numpy

from . import backend, nest
from .tensor import Tensor, Variable, convert_to_tensor

_active = []  # tapes currently recording, innermost last


class UnconnectedGradients(enum.Enum):
    """What `gradient()` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


class Record:
    """One recorded op: enough to run its VJP rule later."""

    __slots__ = ("op", "inputs", "output", "params")

    def __init__(self, op, inputs, output, params):
        self.op, self.inputs, self.output, self.params = op, inputs, output, params


def record(op, inputs, output, params):
    """Append a Record to every active tape that has a watched input (called by ops)."""
    rec = None
    for t in _active:
        ids = t._ids
        for x in inputs:
            if id(x) in ids:
                break
            if t._watch_accessed and x.__class__ is Variable and x.trainable:
                t._watch_one(x)
                break
        else:
            continue
        if rec is None:
            if op.rule is None:
                raise LookupError(
                    f"op '{op.name}' has no gradient rule but a tape is recording it; wrap the "
                    "call in tf.stop_gradient or tape.stop_recording() if no gradient is needed"
                )
            rec = Record(op, inputs, output, params)
            # Arrays saved for backward become read-only: an in-place edit raises instead of
            # silently corrupting a gradient (PyTorch's version counter, the cheap way). CuPy
            # has no such flag.
            if backend.xp is numpy:
                for x in inputs:
                    if x.value.flags.writeable:
                        _freeze_input(x)
                output.value.setflags(False)   # positional: half the cost of write=False
        t._records.append(rec)
        ids.add(id(output))


def _run_rule(o, g, rec, ids):
    inputs = rec.inputs
    if o.rule_wants_needs:
        needs = [id(x) in ids and x.value.dtype.kind == "f" for x in inputs]
        return o.rule(g, rec.output, *inputs, needs=needs, **rec.params)
    return o.rule(g, rec.output, *inputs, **rec.params)


# The ids of the sources of the backward pass now running; None when none runs or it keeps
# every gradient's norm (explain=True), where each cotangent must be the exact one.
_running = [None]


def cotangent_is_private(x):
    """Whether the cotangent the running backward pass gives tensor `x` is seen by nothing but
    the rule of the op that made `x`: `x` is not a source (whose gradient is returned) and no
    norms are kept. A rule may then hand `x` a cotangent that is only right after that op's own
    rule has run (see the ReLU + max-pool note in ops/nn.py)."""
    sources = _running[0]
    return sources is not None and id(x) not in sources


def _watched_ancestors(t, tensors):
    """Ids of the watched tensors/variables that `tensors` depend on (walks t's records)."""
    ids = {id(x) for x in tensors}
    for rec in reversed(t._records):
        if id(rec.output) in ids:
            ids.update(id(x) for x in rec.inputs)
    return ids & {id(w) for w in t._watched}


def note_cut(op_name, inputs, output):
    """A non-differentiable op (stop_gradient, argmax, …) consumed a watched tensor: remember
    it, so that why_none can name it."""
    for t in _active:
        if any(id(x) in t._ids for x in inputs):
            t._notes.append(("nondiff", {"op": op_name,
                                         "sources": _watched_ancestors(t, inputs)}))


def note_numpy(tensor):
    """A watched tensor was turned into a NumPy array (the computation left the tape)."""
    import traceback

    for t in _active:
        if id(tensor) in t._ids:
            frame = traceback.extract_stack(limit=4)[0]
            t._notes.append(("numpy", {"sources": _watched_ancestors(t, [tensor]),
                                       "where": f"{frame.filename}:{frame.lineno}"}))


def note_assign(variable, method, value):
    """A Variable was assigned inside an active tape from `value` (the chain stops there)."""
    for t in _active:
        t._notes.append(("assign", {"variable": variable.name, "method": method,
                                    "sources": {id(value)}}))


def _freeze_input(x):
    """Make the writeable array of recorded input `x` read-only."""
    a = x.value
    base = a.base
    if base is not None and getattr(getattr(base, "flags", None), "writeable", False):
        if backend.is_owned(base):  # only tapegrad holds it: freeze it as well
            base.setflags(False)
        else:
            # A view of an array someone else may still write (the caller's NumPy array): the
            # tape keeps a private copy of what it saw.
            a = x.value = a.copy()
    a.setflags(False)


_core_module = []


def _ops_core():
    # ops.core imports this module, so it is looked up on first use (then cached: an import
    # statement per gradient() call costs microseconds)
    if not _core_module:
        from .ops import core

        _core_module.append(core)
    return _core_module[0]


class GradientTape:
    """Record operations for automatic differentiation.

    >>> x = tapegrad.Variable(3.0)
    >>> with tapegrad.GradientTape() as tape:
    ...     y = x ** 2
    >>> float(tape.gradient(y, x))
    6.0
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._records = []
        self._ids = set()  # ids of tensors that depend on something watched
        self._watched = []  # watched tensors and variables, in order (kept alive)
        self._used = False
        self._notes = []  # what cut a gradient path, for why_none()
        self._grad_norms = None  # filled by gradient(..., explain=True)

    def __enter__(self):
        _active.append(self)
        return self

    def __exit__(self, *exc):
        if self in _active:
            _active.remove(self)
        return False

    def _watch_one(self, t):
        if id(t) not in self._ids:
            self._ids.add(id(t))
            self._watched.append(t)

    def watch(self, tensor):
        """Watch `tensor` (or a nest of them) so gradients with respect to it can be taken."""
        for t in [tensor] if isinstance(tensor, Tensor) else nest.flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(
                    f"GradientTape.watch: {type(t).__name__} is not a Tensor or Variable; "
                    "convert it first with tf.constant (then pass that tensor to your computation)"
                )
            if t.value.dtype.kind != "f":
                warnings.warn(
                    f"The dtype of the watched tensor must be floating (e.g. tf.float32), got "
                    f"{t.dtype.name}: its gradient will be None", stacklevel=2,
                )
            self._watch_one(t)

    def watched_variables(self):
        """The Variables this tape watches, in the order they were first seen."""
        return tuple(v for v in self._watched if isinstance(v, Variable))

    @contextlib.contextmanager
    def stop_recording(self):
        """Temporarily stop recording: ops inside run but leave no trace on this tape."""
        if self not in _active:
            raise RuntimeError("GradientTape.stop_recording: the tape is not recording")
        i = _active.index(self)
        _active.remove(self)
        self._notes.append(("stop_recording", {}))
        try:
            yield
        finally:
            _active.insert(i, self)

    def reset(self):
        """Clear everything this tape recorded and watched."""
        self._records = []
        self._ids = set()
        self._watched = []
        self._used = False
        self._notes = []
        self._grad_norms = None

    def _check_usable(self, what):
        if self._used and not self._persistent:
            raise RuntimeError(
                f"GradientTape.{what} can only be called once on a non-persistent tape; create "
                "the tape with GradientTape(persistent=True) to compute several gradients"
            )
        self._used = True

    def _release(self):
        # watched_variables() stays answerable after gradient(), as in TensorFlow.
        if not self._persistent:
            self._records = []

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE, explain=False):
        """d(sum of targets)/d(sources), in the structure of `sources`.

        A non-scalar target is summed first (or weighted by `output_gradients`). Sources the
        target does not depend on give None, or zeros with `unconnected_gradients='zero'`.
        With `explain=True` the norm of the gradient through every op is kept for
        `tape.explain(target)`, the records are kept too, and each None gradient is explained
        in a warning (see `tapegrad.why_none`).
        """
        self._check_usable("gradient")
        unconnected = (unconnected_gradients
                       if unconnected_gradients.__class__ is UnconnectedGradients
                       else UnconnectedGradients(unconnected_gradients))
        flat_sources = [sources] if isinstance(sources, Tensor) else nest.flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise ValueError(
                    f"GradientTape.gradient: a source is a {type(s).__name__}, not a Tensor or "
                    "Variable; pass the tensors/variables the target was computed from"
                )
        targets = [target] if isinstance(target, Tensor) else nest.flatten(target)
        ogs = nest.flatten(output_gradients) if output_gradients is not None else None
        if ogs is not None and len(ogs) != len(targets):
            raise ValueError(
                f"GradientTape.gradient: output_gradients has {len(ogs)} entries for "
                f"{len(targets)} targets; give one per target, in the targets' structure "
                "(a Tensor, not a Python list, for a single non-scalar target)"
            )
        grads = self._backward(targets, flat_sources, ogs, keep_norms=explain)
        if explain:
            from .explain import why_none

            for s, g in zip(flat_sources, grads):
                if g is None:
                    warnings.warn(f"gradient is None: {why_none(self, target, s)}",
                                  stacklevel=2)
        else:
            self._release()
        filled = self._fill(grads, flat_sources, unconnected)
        return filled[0] if isinstance(sources, Tensor) else nest.pack_sequence_as(sources, filled)

    def _fill(self, grads, sources, unconnected):
        out = []
        for g, s in zip(grads, sources):
            if not backend.is_floating(s.dtype):
                warnings.warn(
                    f"gradient with respect to a {s.dtype.name} tensor is None: only floating "
                    "tensors are differentiable", stacklevel=3,
                )
                g = None
            elif g is None and unconnected is UnconnectedGradients.ZERO:
                g = Tensor(backend.xp.zeros_like(s.value))
            out.append(g)
        return out

    def _backward(self, targets, sources, output_gradients=None, keep_norms=False):
        core = _ops_core()
        sum_to = core.sum_to

        ids = self._ids
        cot = {}
        for i, t in enumerate(targets):
            if not isinstance(t, Tensor):
                continue
            if self._watch_accessed and t.__class__ is Variable and t.trainable:
                self._watch_one(t)  # a Variable as the target reads itself: dv/dv = 1
            if id(t) not in ids:
                continue
            if output_gradients is not None and output_gradients[i] is not None:
                g = convert_to_tensor(output_gradients[i], dtype=t.dtype)
            else:
                v = t.value  # (asarray makes the common 0-d seed 4x faster than ones)
                xp = backend.namespace(v)  # on the target's device
                g = Tensor(xp.ones(v.shape, v.dtype) if v.ndim else xp.asarray(1, dtype=v.dtype))
            cot[id(t)] = cot[id(t)] + g if id(t) in cot else g
        keep = {id(s) for s in sources}
        norms = {}
        paused = self in _active
        if paused:
            position = _active.index(self)
            _active.remove(self)
        checking = core.check_numerics_enabled
        gpu = backend.cupy is not None
        raw_sum = not _active and not checking  # no tape records the sums: plain array adds
        get, pop = cot.get, cot.pop
        outer_sources = _running[0]
        _running[0] = None if keep_norms else keep
        try:
            for rec in reversed(self._records):
                key = id(rec.output)
                g = get(key) if key in keep else pop(key, None)
                if g is None:
                    continue
                inputs, o = rec.inputs, rec.op
                if checking:
                    core.current_rule = o.name
                if gpu:  # a rule runs where its op ran, whatever the current device
                    with backend.device(backend.array_device(rec.output.value)):
                        gs = _run_rule(o, g, rec, ids)
                elif o.rule_wants_needs:
                    needs = [id(x) in ids and x.value.dtype.kind == "f" for x in inputs]
                    gs = o.rule(g, rec.output, *inputs, needs=needs, **rec.params)
                else:
                    gs = o.rule(g, rec.output, *inputs, **rec.params)
                if len(inputs) == 1 and gs.__class__ is not tuple and gs.__class__ is not list:
                    gs = (gs,)
                if keep_norms:
                    norms[key] = float(numpy.sqrt((backend.to_numpy(g.value) ** 2).sum()))
                if checking:
                    for gx in gs:
                        if gx is not None:
                            core._check_numerics(f"{o.name} (gradient rule)", "backward",
                                                 gx.value, inputs)
                for x, gx in zip(inputs, gs):
                    if gx is None:
                        continue
                    k = id(x)
                    if k not in ids:
                        continue
                    xv, gv = x.value, gx.value
                    if xv.dtype.kind != "f":
                        continue
                    if gv.shape != xv.shape:
                        gx = sum_to(gx, xv.shape)
                        gv = gx.value
                    if gv.dtype != xv.dtype:
                        gx = Tensor(gv.astype(xv.dtype))
                    prev = get(k)
                    if prev is None:
                        cot[k] = gx
                    elif raw_sum:
                        cot[k] = Tensor(prev.value + gx.value)
                    else:
                        cot[k] = prev + gx
        finally:
            _running[0] = outer_sources
            core.current_rule = None
            if paused:
                _active.insert(position, self)
        if keep_norms:
            for s in sources:
                g = cot.get(id(s))
                if g is not None:
                    norms[id(s)] = float(numpy.sqrt((backend.to_numpy(g.value) ** 2).sum()))
            self._grad_norms = norms
        return [cot.get(id(s)) for s in sources]

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """The full Jacobian: for each source, a tensor of shape target.shape + source.shape."""
        from .ops import array as A

        self._check_usable("jacobian")
        unconnected = UnconnectedGradients(unconnected_gradients)
        flat_sources = nest.flatten(sources)
        target = convert_to_tensor(target)
        n = int(numpy.prod(target.value.shape, dtype=numpy.int64))
        rows = [[] for _ in flat_sources]
        eye = backend.xp.eye(max(n, 1), dtype=target.dtype)
        for i in range(n):
            og = Tensor(eye[i].reshape(target.value.shape))
            for col, g in zip(rows, self._backward([target], flat_sources, [og])):
                col.append(g)
        self._release()
        result = []
        for s, col in zip(flat_sources, rows):
            if n == 0 or all(g is None for g in col):
                j = None
                if unconnected is UnconnectedGradients.ZERO or n == 0:
                    shape = tuple(target.value.shape) + tuple(s.value.shape)
                    j = Tensor(backend.xp.zeros(shape, dtype=s.dtype))
            else:
                col = [g if g is not None else Tensor(backend.xp.zeros_like(s.value))
                       for g in col]
                j = A.reshape(A.stack(col), tuple(target.value.shape) + tuple(s.value.shape))
            result.append(j)
        return nest.pack_sequence_as(sources, result)

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example Jacobians: target (B, ...) and source (B, ...) give (B, t..., s...).

        Assumes, as TensorFlow does, that example b of the target depends only on example b of
        the source, so one backward pass serves the whole batch for each target element.
        """
        from .ops import array as A

        self._check_usable("batch_jacobian")
        target = convert_to_tensor(target)
        tshape = tuple(target.value.shape)
        if not tshape or tshape[0] != source.value.shape[0]:
            raise ValueError(
                f"batch_jacobian: target shape {tshape} and source shape "
                f"{tuple(source.value.shape)} must share the first (batch) dimension"
            )
        b, rest = tshape[0], tshape[1:]
        m = int(numpy.prod(rest, dtype=numpy.int64))
        unconnected = UnconnectedGradients(unconnected_gradients)
        cols = []
        for j in range(m):
            og = backend.xp.zeros((b, m), dtype=target.dtype)
            og[:, j] = 1
            (g,) = self._backward([target], [source], [Tensor(og.reshape(tshape))])
            cols.append(g)
        self._release()
        shape = (b,) + rest + tuple(source.value.shape[1:])
        if all(c is None for c in cols):  # unconnected (or an empty target): as jacobian()
            if unconnected is UnconnectedGradients.ZERO or m == 0:
                return Tensor(backend.xp.zeros(shape, dtype=source.dtype))
            return None
        cols = [Tensor(backend.xp.zeros_like(source.value)) if c is None else c for c in cols]
        out = A.stack(cols, axis=1)
        return A.reshape(out, shape)
