"""`@op`: the one way to declare a differentiable op, and `sum_to`, the engine's un-broadcast.

An op is a forward on backend arrays plus a VJP rule written with tapegrad ops, so that the
gradient is itself differentiable (nested tapes give second derivatives). Positional parameters
without defaults are tensor inputs; parameters with defaults are static arguments (axis, shape…).

    @op("multiply")
    def multiply(x, y):
        return xp.multiply(x, y)

    @multiply.vjp
    def _(g, out, x, y):
        return g * y, g * x      # the engine sums these back to x's and y's shapes
"""

import inspect
import numbers

import numpy

from .. import backend, tape
from ..errors import InvalidArgumentError
from ..tensor import Tensor, Variable, convert_to_tensor

OPS = {}  # name -> Op: the registry the op table test walks
_active = tape._active  # the very list tape.py mutates in place (a global read per op saved)
_record = tape.record
_ndarray = numpy.ndarray
check_numerics_enabled = False  # set by tapegrad.debugging.enable_check_numerics()


current_rule = None  # the op whose gradient rule is running (for check_numerics messages)


def _check_numerics(name, where, value, inputs=()):
    if value.dtype.kind == "f" and not bool(backend.namespace(value).isfinite(value).all()):
        from ..debugging import report

        if current_rule is not None:
            where = f"backward, inside the gradient rule of '{current_rule}'"

        report(where, name, value, inputs)


class Op:
    """A named forward function with an optional VJP rule. Calling it runs the forward on the
    inputs' arrays and, when an active tape watches an input, records it for backward."""

    __slots__ = ("name", "forward", "rule", "n_in", "param_names", "same_dtype",
                 "differentiable", "rule_wants_needs", "reads_variables", "doc",
                 "__wrapped__")

    def __init__(self, name, forward, same_dtype=True, differentiable=True):
        self.name = name
        self.forward = forward
        self.rule = None
        self.same_dtype = same_dtype
        self.differentiable = differentiable
        self.rule_wants_needs = False
        self.reads_variables = True
        self.doc = forward.__doc__
        self.__wrapped__ = forward
        params = list(inspect.signature(forward).parameters.values())
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            self.n_in = None  # variadic: every positional argument is a tensor (concat, stack)
        else:
            self.n_in = sum(1 for p in params if p.default is p.empty)
        self.param_names = [p.name for p in params if p.default is not p.empty]

    def vjp(self, rule=None, *, needs=False):
        """Register the VJP rule `rule(g, out, *inputs, **params)` -> one gradient per input.

        With `needs=True` the rule also receives `needs`, a list saying which inputs want a
        gradient, so that costly unused products (the data's gradient in matmul) are skipped.
        """
        def register(fn):
            self.rule = fn
            self.rule_wants_needs = needs
            return fn

        return register(rule) if rule is not None else register

    def __repr__(self):
        return f"<tapegrad op '{self.name}'>"

    def __call__(self, *args, **params):
        if params and "name" in params:
            del params["name"]
        n = self.n_in
        if n is not None and len(args) != n:
            if len(args) < n:
                raise TypeError(f"{self.name}() takes {n} tensor arguments, got {len(args)}")
            for key, value in zip(self.param_names, args[n:]):
                params[key] = value
            args = args[:n]
        # Tensors of one dtype (the common case) pass as they are; anything else converts.
        inputs = args
        dt = None
        variables = False
        for a in args:
            if a.__class__ is not Tensor:
                if a.__class__ is Variable:
                    variables = True
                elif len(args) == 2 and (a.__class__ is float or a.__class__ is int) and (
                        self.same_dtype):
                    # x * 2.0, 3 * x: the number takes the floating tensor's dtype
                    other = args[1] if a is args[0] else args[0]
                    if other.__class__ is not Tensor or other.value.dtype.kind != "f":
                        inputs = _as_inputs(self, args)
                        variables = True
                        break
                    c = _number(a, other.value.dtype)
                    inputs = (c, other) if a is args[0] else (other, c)
                    break
                else:
                    inputs = _as_inputs(self, args)
                    variables = True  # (maybe: look again below)
                    break
            if dt is None:
                dt = a.value.dtype
            elif a.value.dtype != dt and self.same_dtype:
                raise _dtype_mismatch(self.name, args)
        if backend.cupy is not None:  # a GPU is in use: every input must live on this device
            backend.check_placement(self.name, inputs)
        recording = _active and self.differentiable
        if recording and variables and self.reads_variables:
            inputs = [read_variable(x) if x.__class__ is Variable else x for x in inputs]
        try:
            if len(inputs) == 1:
                value = self.forward(inputs[0].value, **params)
            elif len(inputs) == 2:
                value = self.forward(inputs[0].value, inputs[1].value, **params)
            else:
                value = self.forward(*[x.value for x in inputs], **params)
        except InvalidArgumentError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            shapes = ", ".join(f"{tuple(x.value.shape)} {x.dtype.name}" for x in inputs)
            raise InvalidArgumentError(
                f"{self.name}: {e} (inputs: {shapes}; params: {params or 'none'})"
            ) from None
        if value.__class__ is not _ndarray and value.__class__ is not backend.xp.ndarray:
            value = backend.xp.asarray(value)  # a NumPy scalar from a reduction
        if variables and self.reads_variables and (
            value.base is not None or len(inputs) == 1 and value is inputs[0].value
        ):
            value = _unalias(value, args)  # (only a Variable among the args can be aliased)
        if check_numerics_enabled:
            _check_numerics(self.name, "forward", value, inputs)
        out = Tensor(value)
        if recording:
            _record(self, inputs, out, params)
        elif _active and not self.differentiable:
            tape.note_cut(self.name, inputs, out)
        return out


_numbers = {}  # (number, dtype) -> a read-only 0-d Tensor: 3 * x makes no new array


def _number(a, dtype):
    """The Python number `a` as a 0-d Tensor of `dtype`, cached on the CPU (the 0.4 us of
    asarray is a sixth of a small op). Not cached: NaN (never equal to itself, so each
    would add an entry) and 0.0 (equal to -0.0, whose sign a product keeps)."""
    key = (a, dtype)
    c = _numbers.get(key) if a and a == a and backend.cupy is None else None
    if c is None:
        value = backend.xp.asarray(a, dtype=dtype)
        c = Tensor(value)
        if a and a == a and backend.cupy is None:
            value.flags.writeable = False
            if len(_numbers) >= 1024:
                _numbers.clear()
            _numbers[key] = c
    return c


def op(name, same_dtype=True, differentiable=True):
    """Declare an op named `name` from its forward function (see the module docstring)."""
    def wrap(forward):
        if name in OPS:
            raise ValueError(f"op {name!r} is already registered")
        o = Op(name, forward, same_dtype=same_dtype, differentiable=differentiable)
        OPS[name] = o
        return o

    return wrap


def _dtype_mismatch(opname, tensors):
    desc = " and ".join(f"{t.dtype.name} {tuple(t.value.shape)}" for t in tensors)
    first = tensors[0].dtype.name
    return InvalidArgumentError(
        f"{opname}: inputs have different dtypes ({desc}); tapegrad does not cast silently. "
        f"Cast one of them, e.g. tf.cast(x, tf.{first})"
    )


def _as_inputs(o, args):
    """Tensors for an op's inputs. Python scalars take the dtype of the tensors beside them."""
    ref = None
    fast = True
    for a in args:
        if isinstance(a, Tensor):
            if ref is None:
                ref = a
        else:
            fast = False
    if fast:
        if o.same_dtype and len(args) > 1:
            dt = args[0].value.dtype
            for a in args:
                if a.value.dtype != dt:
                    raise _dtype_mismatch(o.name, args)
        return args
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(a)
        elif ref is not None and o.same_dtype and (
            a.__class__ is float or a.__class__ is int
            or isinstance(a, (numbers.Number, numpy.generic, list, tuple))
        ):
            dt = ref.value.dtype
            if dt.kind == "f" and a.__class__ is not list and a.__class__ is not tuple:
                out.append(Tensor(backend.xp.asarray(a, dtype=dt)))  # the common x * 2.0
            else:
                out.append(_python_data(o.name, a, dt))
        else:
            out.append(convert_to_tensor(a))
    if o.same_dtype and len(out) > 1:
        dt = out[0].value.dtype
        for t in out:
            if t.value.dtype != dt:
                raise _dtype_mismatch(o.name, out)
    return out


def _unalias(value, args):
    # A view of a Variable's storage (identity, reshape, slicing) would change with the next
    # in-place assign: a Tensor is a snapshot, as tf.identity(v) is in TensorFlow.
    for a in args:
        if a.__class__ is Variable and a.value.__class__ is value.__class__ and (
                backend.xp.may_share_memory(value, a.value)):
            return value.copy()
    return value


def _python_data(opname, a, dtype):
    """Python scalars and lists take the dtype of the tensors beside them, as in TensorFlow;
    a float never silently loses its fraction to an integer tensor."""
    if dtype.kind in "iub" and (
        isinstance(a, (float, numpy.floating)) or (
            isinstance(a, (list, tuple)) and numpy.asarray(a).dtype.kind == "f")
    ):
        raise InvalidArgumentError(
            f"{opname}: cannot convert {a!r:.60} to {dtype.name}, the dtype of the other input; "
            f"cast the tensor first, e.g. tf.cast(x, tf.float32)"
        )
    if isinstance(a, (list, tuple)):
        return convert_to_tensor(a, dtype=dtype)
    return Tensor(backend.xp.asarray(a, dtype=dtype))


@op("read_variable")
def _read_variable(v):
    """A Variable's current value, recorded so the tape keeps the array it saw."""
    return v


@_read_variable.vjp
def _(g, out, v):
    return to_device_of(g, v)


def to_device_of(g, x):
    """The gradient `g` on the device where `x` lives: a gradient through a copy (identity
    under another device) goes back to its source. Free when no GPU is in use."""
    if backend.cupy is None or backend.array_device(g.value) == backend.array_device(x.value):
        return g
    with backend.device(backend.array_device(x.value)):
        return OPS["identity"](g)


_read_variable.reads_variables = False


def read_variable(v):
    # Only worth a record when some tape watches (or will auto-watch) the variable.
    for t in tape._active:
        if id(v) in t._ids or (t._watch_accessed and v.trainable):
            return _read_variable(v)
    return Tensor(v.value)


def sum_to(g, shape):
    """Sum `g` down to `shape`, undoing NumPy broadcasting (differentiable: built from ops)."""
    gshape = tuple(g.value.shape)
    shape = tuple(shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and gshape[i + lead] != 1
    )
    if axes and len(axes) == lead:  # only leading axes (a bias): one sum, no reshape after
        return OPS["reduce_sum"](g, axis=axes)
    if axes:
        g = OPS["reduce_sum"](g, axis=axes, keepdims=True)
    if lead or tuple(g.value.shape) != shape:
        g = OPS["reshape"](g, shape=shape)
    return g
