"""Optimizer: what every tf.keras optimizer shares (Keras 2.11+/3 semantics).

A subclass names its per-variable state (`slot_names`) and writes `update_step` on backend
arrays, updating the slots and the variable in place. The base class does the rest: it pairs
gradients with variables and checks them, clips, applies decoupled weight decay, evaluates the
learning rate (a float or a schedule of `iterations`), creates slots on first sight of a
variable, counts iterations, and saves and restores the state.

Updates run on arrays with `out=` buffers: no Tensors and no tape records per step. A variable's
array is written in place unless a GradientTape saved it (it is then read-only); the variable then
moves to a new array and the tape keeps the value it saw (copy-on-write).
"""

import re
import warnings

import numpy

from ... import backend
from ...errors import InvalidArgumentError
from ...tensor import Tensor, Variable
from . import schedules, updates
from .state import OptimizerState
from .updates import assign, clip_gradients, scale_by, writeable

_IGNORED_KWARGS = ("jit_compile", "is_legacy_optimizer", "mesh")


class Optimizer(OptimizerState):
    """Base class of the optimizers: `apply_gradients(zip(grads, vars))` updates the variables.

    >>> opt = tf.keras.optimizers.SGD(learning_rate=0.5)
    >>> v = tf.Variable(1.0)
    >>> with tf.GradientTape() as tape:
    ...     loss = v * v
    >>> _ = opt.apply_gradients([(tape.gradient(loss, v), v)])   # v -= 0.5 * 2v
    >>> float(v), int(opt.iterations)
    (0.0, 1)
    """

    slot_names = ()  # per-variable state, created with the value of `initial_slot_value`
    _state_prefix = "optimizer"  # stable key prefix in get_state(): 'adam/m/<var.name>'

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="Optimizer", **kwargs):
        cls = type(self).__name__
        if "lr" in kwargs:  # TF1/Keras 2 spelling
            learning_rate = kwargs.pop("lr")
        self.decay = float(kwargs.pop("decay", 0.0) or 0.0)  # legacy: lr / (1 + decay * step)
        for key in _IGNORED_KWARGS:
            kwargs.pop(key, None)
        if kwargs:
            raise ValueError(f"{cls}: argument(s) not recognized: {sorted(kwargs)}")
        if use_ema:
            raise NotImplementedError(f"{cls}: use_ema=True (a moving average of the weights) is "
                                      "not supported; leave use_ema=False")
        if loss_scale_factor is not None or (gradient_accumulation_steps or 1) != 1:
            raise NotImplementedError(f"{cls}: loss_scale_factor and gradient_accumulation_steps "
                                      "are not supported; scale the loss or accumulate gradients "
                                      "in the training loop")
        given = [f"{k}={v}" for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                         ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(given) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: {', '.join(given)}")
        self.name = name
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.weight_decay = weight_decay
        self.use_ema = False
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.built = False
        # The step count and the learning rate live on the host even when a GPU is in use
        # (as PyTorch keeps `step` and `lr`): the update reads them as Python numbers every
        # step, and a device copy would make each step wait for the GPU.
        with backend.device("/CPU:0"):
            self._iterations = Variable(numpy.int64(0), trainable=False, dtype=backend.int64,
                                        name=f"{name}/iterations")
        self._learning_rate = None
        self.learning_rate = learning_rate
        self._vars = []  # variables in order of first sight (keeps their ids valid)
        self._index = {}  # id(variable) -> position in _vars
        self._keys = []  # unique name of each variable, for get_state keys
        self._key_counts = {}
        self._slot_vars = []  # a tuple of slot Variables per variable
        self._decays = []  # whether weight decay applies to each variable
        self._no_decay_ids, self._no_decay_names = set(), []
        self._pending_state = {}  # set_state() entries for variables not seen yet
        self._buffers = {}  # scratch arrays by (shape, dtype): no allocation per step

    # ------------------------------------------------------------ learning rate, iterations
    @property
    def iterations(self):
        """The number of updates applied so far (an int64 Variable)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        assign(self._iterations, int(value))

    @property
    def learning_rate(self):
        """The learning rate: a float32 Variable, or a schedule's value at `iterations`.

        Set it to a number (callbacks do), a LearningRateSchedule or a zero-argument callable.
        """
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            value = self._base_learning_rate(int(self._iterations.value))
            return Tensor(backend.xp.asarray(value, dtype=backend.float32))
        if not isinstance(lr, Tensor) and callable(lr):
            return lr()
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule) or (
                callable(value) and not isinstance(value, Tensor)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                f"{self.name}: this optimizer was created with a LearningRateSchedule as its "
                "learning_rate, so its learning rate cannot be set to a number; create the "
                "optimizer with a float learning_rate if you need to set it (e.g. from "
                "ReduceLROnPlateau), or assign another schedule"
            )
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name}: learning_rate must be a number, a LearningRateSchedule "
                            f"or a callable, got {value!r:.80}") from None
        if isinstance(self._learning_rate, Variable):
            assign(self._learning_rate, value)
        else:
            with backend.device("/CPU:0"):  # host-resident, see __init__
                self._learning_rate = Variable(numpy.float32(value), trainable=False,
                                               name=f"{self.name}/learning_rate")

    lr = learning_rate  # the TF1 / Keras 2 alias, readable and settable

    def _base_learning_rate(self, step):
        """The learning rate for the update that follows `step` completed ones, as a float."""
        lr = self._learning_rate
        if lr.__class__ is Variable:
            value = float(lr.value)
        elif isinstance(lr, schedules.LearningRateSchedule):
            value = schedules.current_value(lr, step, self._iterations)
        else:
            value = float(lr())
        if self.decay:
            value /= 1.0 + self.decay * step
        return value

    # ------------------------------------------------------------ state per variable
    def initial_slot_value(self, slot_name, variable):
        """The starting array of slot `slot_name` for `variable` (zeros unless overridden)."""
        return backend.namespace(variable.value).zeros_like(variable.value)

    def build(self, var_list):
        """Create the state (slots) of every variable in var_list not seen before."""
        for var in var_list:
            if id(var) not in self._index:
                self._track(var)
        self.built = True

    def _track(self, var):
        if not isinstance(var, Variable):
            raise TypeError(f"{self.name}: can only update tapegrad Variables, got "
                            f"{type(var).__name__}; create trainable state with tf.Variable")
        if not backend.is_floating(var.value.dtype):
            raise TypeError(f"{self.name}: variable '{var.name}' has dtype {var.dtype.name}; "
                            "only floating-point variables can be optimized")
        base = var.name
        count = self._key_counts.get(base, 0)
        self._key_counts[base] = count + 1
        key = base if count == 0 else f"{base}_{count}"
        stem = base.rsplit(":", 1)[0]
        slots = tuple(
            Variable(self.initial_slot_value(s, var), trainable=False, name=f"{self.name}/{s}/{stem}")
            for s in self.slot_names)
        for s, slot in zip(self.slot_names, slots):
            saved = self._pending_state.pop(f"{self._state_prefix}/{s}/{key}", None)
            if saved is not None:
                assign(slot, saved)
        self._index[id(var)] = len(self._vars)
        self._vars.append(var)
        self._keys.append(key)
        self._slot_vars.append(slots)
        self._decays.append(id(var) not in self._no_decay_ids and not any(
            re.search(p, var.name) for p in self._no_decay_names))
        return len(self._vars) - 1

    def get_slot_names(self):
        return list(self.slot_names)

    def get_slot(self, var, slot_name):
        """The slot Variable `slot_name` ('m', 'momentum', …) of `var`."""
        i = self._index.get(id(var))
        if i is None or slot_name not in self.slot_names:
            raise KeyError(f"{self.name}: no slot {slot_name!r} for variable "
                           f"'{getattr(var, 'name', var)}'; slots are {list(self.slot_names)}, "
                           "created by the first update of that variable")
        return self._slot_vars[i][self.slot_names.index(slot_name)]

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Apply no weight decay to these variables, or to those whose name matches a pattern."""
        if self._vars:
            raise ValueError(f"{self.name}: exclude_from_weight_decay() must be called before "
                             "the optimizer's first update")
        self._no_decay_ids.update(id(v) for v in var_list or ())
        self._no_decay_names.extend(var_names or ())

    def _scratch(self, like):
        key = (like.shape, like.dtype, type(like))
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = backend.namespace(like).empty_like(like)
        return buf

    def _block(self, dtype):
        """A flat NumPy scratch array of updates.BLOCK_ELEMENTS elements of `dtype`."""
        key = ("block", dtype)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = numpy.empty(updates.BLOCK_ELEMENTS, dtype)
        return buf

    # ------------------------------------------------------------ applying gradients
    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                        **kwargs):
        """Apply one update from (gradient, variable) pairs; pairs with gradient None are skipped.

        Gradients may be Tensors or arrays of the variable's shape. Returns `iterations`.
        """
        pairs = list(grads_and_vars)
        grads, variables, missing = [], [], []
        for pair in pairs:
            try:
                g, v = pair
            except (TypeError, ValueError):
                raise ValueError(f"{self.name}.apply_gradients expects (gradient, variable) "
                                 f"pairs, e.g. zip(grads, model.trainable_variables); got "
                                 f"{pair!r:.80}") from None
            if g is None:
                missing.append(v)
            else:
                grads.append(g)
                variables.append(v)
        if not pairs:
            return self._iterations
        if not grads:
            raise ValueError(
                f"No gradients provided for any variable: {_names(missing)}. Check that the loss "
                "was computed inside the GradientTape from these variables with tapegrad ops "
                "(NumPy or .numpy() cut the tape), and that model.compile() was given a loss."
            )
        if missing:
            warnings.warn(f"Gradients do not exist for variables {_names(missing)} when "
                          "minimizing the loss; they are left unchanged.", stacklevel=2)
        self._apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables):
        """Keras 3's spelling: apply(grads, variables)."""
        return self.apply_gradients(zip(grads, trainable_variables))

    def _apply(self, grads, variables):
        index = self._index
        positions = []
        arrays = []
        for g, v in zip(grads, variables):
            i = index.get(id(v))
            positions.append(self._track(v) if i is None else i)
            arrays.append(self._gradient_array(g, v))
        self.built = True
        arrays = clip_gradients(arrays, self.clipnorm, self.global_clipnorm,
                                self.clipvalue)
        step = int(self._iterations.value)
        lr = self._base_learning_rate(step)
        decay = 1.0 - float(self.weight_decay) * lr if self.weight_decay else None
        slot_vars, decays = self._slot_vars, self._decays
        for g, v, i in zip(arrays, variables, positions):
            if decay is not None and decays[i]:
                scale_by(v, decay)
            self.update_step(g, v, slot_vars[i], lr, step + 1)
        if updates.FLUSH_EVERY and (step + 1) % updates.FLUSH_EVERY == 0:
            for i in positions:   # no subnormal state (see updates.flush_subnormal)
                for slot in slot_vars[i]:
                    updates.flush_subnormal(slot.value)
        it = self._iterations
        if writeable(it.value):
            it.value += 1
        else:
            it.value = it.value + 1

    def _gradient_array(self, g, var):
        target = var.value
        a = g.value if isinstance(g, Tensor) else g
        if not hasattr(a, "shape") or backend.namespace(a) is not backend.namespace(target):
            a = backend.namespace(target).asarray(a)
        if a.shape != target.shape:
            raise InvalidArgumentError(
                f"{self.name}.apply_gradients: the gradient for variable '{var.name}' has shape "
                f"{tuple(a.shape)} but the variable has shape {tuple(target.shape)}; pair each "
                "gradient with its own variable (zip(grads, variables) in the same order)"
            )
        if a.dtype != target.dtype:
            a = a.astype(target.dtype)
        return a

    def update_step(self, gradient, variable, slots, learning_rate, step):
        """Update `variable` (and its `slots`, Variables) in place from the `gradient` array.

        `learning_rate` is a float; `step` counts updates including this one (1 on the first).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    def minimize(self, loss, var_list, tape=None):
        """Take the gradient of `loss` (a zero-argument callable, or a Tensor with its `tape`)
        with respect to var_list and apply it."""
        from ...tape import GradientTape

        if not callable(loss) and tape is None:
            raise ValueError(f"{self.name}.minimize: `tape` is required when a Tensor loss is "
                             "passed; pass a zero-argument function instead, or the "
                             "GradientTape that recorded the loss")
        if not callable(var_list):
            var_list = list(var_list)  # a generator would be spent by watch()
        tape = GradientTape() if tape is None else tape
        if callable(loss):
            with tape:
                if not callable(var_list):
                    tape.watch(var_list)
                loss = loss()
                if callable(var_list):
                    var_list = var_list()
        var_list = list(var_list() if callable(var_list) else var_list)
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def finalize_variable_values(self, var_list):
        """Keras calls this at the end of fit (for EMA weights, which are not supported)."""


def _names(variables):
    return [getattr(v, "name", repr(v)) for v in variables]


__all__ = ["Optimizer"]
