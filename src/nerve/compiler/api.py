"""``nerve.compile``: a model's recorded plans, one per input signature, with eager fallback.

The first call with a new signature (the inputs' structure, shapes and dtypes, the other
arguments, the model's training flag) runs eagerly while :mod:`nerve.compiler.record` writes
the ops down; later calls with that signature replay the plan (:mod:`nerve.compiler.plan`).
Before a plan is trusted it is checked: replayed on a perturbed copy of the inputs and compared
bit for bit with eager on the same copy (outputs, buffers, and gradients in train mode), with the
random generator and buffers put back after each run. A recording that fails or a check that
differs makes that signature eager for good, with one UserWarning per compiled object that
names the model and the reason, as ``torch.compile`` falls back on a graph break.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np

from nerve import backend
from nerve.autograd.grad_mode import enable_grad, no_grad
from nerve.autograd.tensor import Tensor
from nerve.compiler.plan import InferencePlan, TrainPlan
from nerve.compiler.record import backward_schedule, record

_EAGER = "eager"
_MODES = ("inference", "train")


# ----------------------------------------------------------------------------- inputs
def flatten(obj, leaves: list):
    """The arrays of a nested structure of Tensors/arrays (into ``leaves``) and its shape
    description, hashable, to key the cache and rebuild the structure."""
    if isinstance(obj, Tensor):
        a = obj._data
        leaves.append(a)
        return ("T", a.shape, a.dtype)
    if isinstance(obj, np.ndarray):
        leaves.append(obj)
        return ("T", obj.shape, obj.dtype)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(flatten(o, leaves) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, flatten(v, leaves)) for k, v in obj.items()))
    try:
        hash(obj)
    except TypeError:
        raise TypeError(
            f"nerve.compile: cannot key a call on an argument of type {type(obj).__name__}; "
            "pass Tensors, arrays, or hashable Python values"
        ) from None
    return ("c", obj)


def unflatten(spec, tensors: list, pos: list):
    """Rebuild the structure ``spec`` from ``tensors`` (consumed from ``pos[0]``)."""
    kind = spec[0]
    if kind == "T":
        t = tensors[pos[0]]
        pos[0] += 1
        return t
    if kind == "c":
        return spec[1]
    if kind == "dict":
        return {k: unflatten(s, tensors, pos) for k, s in spec[1]}
    items = [unflatten(s, tensors, pos) for s in spec[1]]
    return tuple(items) if kind == "tuple" else items


def _perturbed(a: np.ndarray) -> np.ndarray:
    """Other values of the same shape and dtype, in the same range (targets stay valid)."""
    b = np.roll(a, 1, axis=0) if a.ndim and a.shape[0] > 1 else a.copy()
    if a.dtype.kind == "f":
        b = np.asarray(b * a.dtype.type(0.75) + a.dtype.type(0.125), dtype=a.dtype)
    return b


def _leaves(structure, out: list) -> list:
    if isinstance(structure, Tensor):
        out.append(structure._data)
    elif isinstance(structure, (list, tuple)):
        for s in structure:
            _leaves(s, out)
    elif isinstance(structure, dict):
        for s in structure.values():
            _leaves(s, out)
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    )


# ----------------------------------------------------------------------------- state
def _buffers(modules) -> list:
    """Buffers and parameters that take no gradient (Keras's non-trainable weights, such as
    BatchNormalization's moving statistics): the state a forward pass may update."""
    seen, found = set(), []
    for m in modules:
        if m is None:
            continue
        state = list(m.buffers()) + [p for p in m.parameters() if not p.requires_grad]
        for b in state:
            if b is not None and id(b) not in seen:
                seen.add(id(b))
                found.append(b)
    return found


def _parameters(modules) -> list:
    seen, found = set(), []
    for m in modules:
        if m is None:
            continue
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                found.append(p)
    return found


class _State:
    """The random generator's state and every buffer's values, to put back after a check."""

    def __init__(self, buffers: list):
        self.rng = backend.rng().bit_generator.state
        self.buffers = [(b, b._data.copy()) for b in buffers]

    def restore(self) -> None:
        backend.rng().bit_generator.state = self.rng
        for b, saved in self.buffers:
            if b._data.shape == saved.shape and b._data.dtype == saved.dtype:
                np.copyto(b._data, saved)
            else:
                b._data = saved.copy()


def _side_effects(before: _State, recording) -> tuple[list, str | None]:
    """Buffers the run changed outside nerve's ops: integer counters (BatchNorm's
    ``num_batches_tracked``) are replayed as the same increment; anything else is refused."""
    read_by_ops = set()
    for ev in recording.events:
        for r in ev.refs:
            if r[0] == "p":
                read_by_ops.add(id(r[1]))
    counters = []
    for b, old in before.buffers:
        new = b._data
        if new.shape == old.shape and _same(new, old):
            continue
        if id(b) in read_by_ops and new.dtype.kind == "f":
            continue  # an op updated it in place (running statistics): replayed with the op
        if new.dtype.kind in "iu" and new.shape == old.shape:
            counters.append((b, (new - old).astype(new.dtype)))
            continue
        return [], f"it changes a buffer of shape {old.shape} outside nerve's ops"
    return counters, None


def _refuse_reason(modules) -> str | None:
    for m in modules:
        if m is None:
            continue
        for sub in m.modules():
            if (
                sub.training
                and getattr(sub, "track_running_stats", False)
                and getattr(sub, "momentum", 0.1) is None
            ):
                return (
                    f"{type(sub).__name__}(momentum=None) takes its momentum from the batch "
                    "counter at each step"
                )
    return None


# ----------------------------------------------------------------------------- the cache
class _Compiled:
    """What inference and train plans share: the cache, the fallback and its warning."""

    def __init__(self, model, modules, cache_size_limit: int):
        if not isinstance(cache_size_limit, int) or cache_size_limit < 1:
            raise ValueError(
                f"nerve.compile: cache_size_limit must be a positive int, got {cache_size_limit!r}"
            )
        self.model = model
        self._modules = [m for m in modules if hasattr(m, "buffers")]
        self.cache_size_limit = cache_size_limit
        self._cache: OrderedDict = OrderedDict()
        self._hits = self._misses = self._fallbacks = 0
        self._warned = False
        self.fallback_reasons: dict = {}

    def cache_info(self) -> dict:
        """Counts of the plan cache: ``hits``, ``misses`` (recordings), ``fallbacks`` (calls
        run eagerly), ``size`` (plans and eager entries held) and ``maxsize``."""
        return {
            "hits": self._hits,
            "misses": self._misses,
            "fallbacks": self._fallbacks,
            "size": len(self._cache),
            "maxsize": self.cache_size_limit,
        }

    def _training_flags(self):
        # every module's flag (a model with one Dropout put in eval mode is another program),
        # read from a list made once: a walk of the module tree per call would cost more
        mods = self.__dict__.get("_flag_modules")
        if mods is None:
            model = self.model
            mods = list(model.modules()) if hasattr(model, "modules") else []
            self._flag_modules = mods
        return tuple([m.training for m in mods])

    def _key(self, args: tuple):
        training = self._training_flags()
        if len(args) == 1 and type(args[0]) is Tensor:  # the common call: one tensor
            a = args[0]._data
            spec = ("tuple", (("T", a.shape, a.dtype),))
            return (spec, training), spec, [a]
        leaves: list = []
        spec = flatten(args, leaves)
        return (spec, training), spec, leaves

    def _lookup(self, key):
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
        return entry

    def _store(self, key, entry) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size_limit:
            old, _ = self._cache.popitem(last=False)
            self.fallback_reasons.pop(old, None)

    def _fall_back(self, key, why: str) -> None:
        self._store(key, _EAGER)
        self.fallback_reasons[key] = why
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"nerve.compile: {type(self.model).__name__} runs eagerly for this input "
                f"signature: {why}",
                UserWarning,
                stacklevel=4,
            )


class CompiledModule(_Compiled):
    """A model's forward replayed from recorded plans (``nerve.compile(..., mode="inference")``).

    Calls take the model's positional arguments (Tensors, arrays, or nested lists/tuples/dicts
    of them; other values become part of the signature) and return the model's outputs as
    Tensors that do not require grad, as under ``nerve.inference_mode()``.
    """

    def __init__(self, model, forward=None, cache_size_limit: int = 8):
        super().__init__(model, [model], cache_size_limit)
        self._forward = forward if forward is not None else model

    def __call__(self, *args):
        key, spec, leaves = self._key(args)
        entry = self._lookup(key)
        if entry is None:
            self._misses += 1
            return self._record(key, spec, leaves)
        if entry is _EAGER:
            self._fallbacks += 1
            with no_grad():
                return self._forward(*args)
        self._hits += 1
        plan, counters = entry
        for b, delta in counters:
            b._data += delta
        return plan.outputs(plan.run(leaves))  # no Tensor op runs: no grad mode to set

    def _run_eager(self, spec, leaves):
        tensors = [Tensor._wrap(a) for a in leaves]
        return self._forward(*unflatten(spec, tensors, [0]))

    def _record(self, key, spec, leaves):
        why = _refuse_reason(self._modules)
        if why is not None:
            self._fall_back(key, why)
            with no_grad():
                return self._run_eager(spec, leaves)
        before = _State(_buffers(self._modules))
        inputs = [Tensor._wrap(a) for a in leaves]

        def fn(*tensors):
            return self._forward(*unflatten(spec, list(tensors), [0]))

        with no_grad():
            rec = record(fn, inputs, self._modules)
        out = rec.outputs
        if rec.failure is None:
            counters, rec.failure = _side_effects(before, rec)
        if rec.failure is None:
            plan = InferencePlan(rec)
            rec.failure = self._check(plan, counters, spec, leaves)
        if rec.failure is not None:
            # the recording run is not eager in every detail (an in-place update ran out of
            # place): put the state back and give this call eager's result
            self._fall_back(key, rec.failure)
            before.restore()
            with no_grad():
                return self._run_eager(spec, leaves)
        self._store(key, (plan, counters))
        return out

    def _check(self, plan, counters, spec, leaves) -> str | None:
        alt = [_perturbed(a) for a in leaves]
        state = _State(_buffers(self._modules))
        try:
            with no_grad():
                for b, delta in counters:
                    b._data += delta
                got = _leaves(plan.outputs(plan.run(alt)), [])
                got_state = [b._data.copy() for b, _ in state.buffers]
                state.restore()
                want = _leaves(self._run_eager(spec, alt), [])
                want_state = [b._data.copy() for b, _ in state.buffers]
        except Exception as exc:  # the plan or eager failed on other values
            return f"a check on other input values raised {type(exc).__name__}: {exc}"
        finally:
            state.restore()
        if len(got) != len(want) or not all(map(_same, got, want)):
            return (
                "its outputs depend on values the recorder cannot see (NumPy on a tensor's "
                "array, or Python control flow on the data)"
            )
        if not all(map(_same, got_state, want_state)):
            return "it updates a buffer in a way the recorder cannot see"
        return None


class CompiledTrainStep:
    """One training step replayed from recorded plans (``nerve.compile(..., mode="train")``).

    ``step(*inputs, *targets)`` clears the gradients (``optimizer.zero_grad()``), runs forward,
    the loss and backward (gradients land in each parameter's ``.grad`` exactly as
    ``loss.backward()`` puts them), then ``optimizer.step()``; it returns the loss, detached.
    """

    def __init__(
        self, model, loss_fn, optimizer, n_inputs: int, n_targets=None, cache_size_limit: int = 8
    ):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.n_inputs, self.n_targets = n_inputs, n_targets

        def forward(*args):
            return loss_fn(model(*args[:n_inputs]), *args[n_inputs:])

        self.gradients = CompiledGradients(
            model, forward, modules=[model, loss_fn], cache_size_limit=cache_size_limit
        )

    def cache_info(self) -> dict:
        """The plan cache's counts (see :meth:`CompiledModule.cache_info`)."""
        return self.gradients.cache_info()

    def __call__(self, *args):
        n_targets = self.n_targets
        if len(args) <= self.n_inputs or (
            n_targets is not None and len(args) != self.n_inputs + n_targets
        ):
            targets = "the target(s)" if n_targets is None else f"{n_targets} target(s)"
            raise TypeError(
                f"nerve.compile train step: expected {self.n_inputs} input(s) then {targets}, "
                f"got {len(args)} argument(s)"
            )
        if self.optimizer is not None:
            self.optimizer.zero_grad()
        loss = self.gradients(*args)
        if self.optimizer is not None:
            self.optimizer.step()
        return loss


class CompiledGradients(_Compiled):
    """Forward and backward of ``fn`` from plans: ``fn``'s first output Tensor is the loss; the
    gradients land in the parameters' ``.grad`` as ``loss.backward()`` puts them, and the call
    returns ``fn``'s outputs, detached. Used by :class:`CompiledTrainStep` and by the Keras
    door's ``compile(jit_compile=True)``.

    Args:
        model: the model (its ``training`` flag keys the cache; named in warnings).
        fn: the function to compile, over Tensors (nested structures allowed).
        modules: every module whose parameters and buffers ``fn`` reads.
        cache_size_limit: the number of plans kept.
    """

    def __init__(self, model, fn, modules=None, cache_size_limit: int = 8):
        super().__init__(model, modules if modules is not None else [model], cache_size_limit)
        self.fn = fn
        self.modules = self._modules

    def _eager(self, spec, leaves):
        with enable_grad():
            out = self.fn(*unflatten(spec, [Tensor._wrap(a) for a in leaves], [0]))
            loss = _loss_tensor(out)
            if loss.requires_grad:
                loss.backward()
        return _detached(out), loss

    def __call__(self, *args):

        key, spec, leaves = self._key(args)
        entry = self._lookup(key)
        if entry is None:
            self._misses += 1
            return self._record(key, spec, leaves)
        if entry is _EAGER:
            self._fallbacks += 1
            return self._eager(spec, leaves)[0]
        self._hits += 1
        plan, counters = entry
        for b, delta in counters:
            b._data += delta
        return plan.outputs(plan.run(leaves))

    def _record(self, key, spec, leaves):

        why = _refuse_reason(self.modules)
        if why is not None:
            self._fall_back(key, why)
            return self._eager(spec, leaves)[0]
        before = _State(_buffers(self.modules))
        params = _parameters(self.modules)
        # backward may add into an existing .grad in place: keep its values too
        grads_before = [(p.grad, None if p.grad is None else p.grad._data.copy()) for p in params]
        inputs = [Tensor._wrap(a) for a in leaves]

        def fn(*tensors):
            return self.fn(*unflatten(spec, list(tensors), [0]))

        counters: list = []
        with enable_grad():
            rec = record(fn, inputs, self.modules)
            loss = _loss_tensor(rec.outputs)
            plan = None
            if rec.failure is None:
                plan = self._plan(rec, loss)
            if rec.failure is None:
                counters, rec.failure = _side_effects(before, rec)
            if loss.requires_grad:
                loss.backward()
        out = _detached(rec.outputs)
        if rec.failure is None:
            rec.failure = self._check(plan, counters, spec, leaves)
        if rec.failure is not None:
            # as in CompiledModule._record: this call gets eager's result after all
            self._fall_back(key, rec.failure)
            before.restore()
            for p, (g, values) in zip(params, grads_before):
                p.grad = g
                if g is not None:
                    g._data = values
            return self._eager(spec, leaves)[0]
        self._store(key, (plan, counters))
        return out

    def _plan(self, rec, loss):
        schedule = backward_schedule(rec, loss)
        if schedule is None:
            rec.failure = "its loss depends on a graph built before the call"
            return None
        params = {id(p) for p in _parameters(self.modules)}
        for _, targets in schedule:
            for t in targets:
                if t is not None and t[0] == "leaf" and id(t[1]) not in params:
                    rec.failure = "a tensor that requires grad is not one of the model's parameters"
                    return None
        value = None
        ref = rec.output_refs
        while ref[0] != "T":  # the first Tensor of the outputs is the loss
            ref = (ref[1] if ref[0] is not dict else list(ref[1].values()))[0]
        if ref[1][0] == "v":
            value = ref[1][1]
        if value is None:
            rec.failure = "its loss is not computed by nerve's ops"
            return None
        return TrainPlan(rec, schedule, value)

    def _check(self, plan, counters, spec, leaves) -> str | None:
        alt = [_perturbed(a) for a in leaves]
        params = _parameters(self.modules)
        grads = [p.grad for p in params]
        state = _State(_buffers(self.modules))
        try:
            for p in params:
                p.grad = None
            for b, delta in counters:
                b._data += delta
            got = _leaves(plan.outputs(plan.run(alt)), [])
            got += [p.grad._data.copy() for p in params if p.grad is not None]
            got += [b._data.copy() for b, _ in state.buffers]
            state.restore()
            for p in params:
                p.grad = None
            want = _leaves(self._eager(spec, alt)[0], [])
            want += [p.grad._data.copy() for p in params if p.grad is not None]
            want += [b._data.copy() for b, _ in state.buffers]
        except Exception as exc:
            return f"a check on other input values raised {type(exc).__name__}: {exc}"
        finally:
            state.restore()
            for p, g in zip(params, grads):
                p.grad = g
        if len(got) != len(want) or not all(map(_same, got, want)):
            return (
                "its loss or gradients depend on values the recorder cannot see (NumPy on a "
                "tensor's array, or Python control flow on the data)"
            )
        return None


def _loss_tensor(out) -> Tensor:
    found = []
    _first_tensor(out, found)
    if not found:
        raise TypeError("nerve.compile: the train function returned no Tensor (the loss)")
    return found[0]


def _first_tensor(out, found: list) -> None:
    if found:
        return
    if isinstance(out, Tensor):
        found.append(out)
    elif isinstance(out, (list, tuple)):
        for o in out:
            _first_tensor(o, found)
    elif isinstance(out, dict):
        for o in out.values():
            _first_tensor(o, found)


def _detached(out):
    if isinstance(out, Tensor):
        return Tensor._wrap(out._data)
    if isinstance(out, (list, tuple)):
        return type(out)(_detached(o) for o in out)
    if isinstance(out, dict):
        return {k: _detached(v) for k, v in out.items()}
    return out


# ----------------------------------------------------------------------------- the door
def compile(  # noqa: A001 - torch.compile's name, deliberately
    model,
    example_inputs=None,
    mode: str = "inference",
    *,
    loss_fn=None,
    optimizer=None,
    example_targets=None,
    cache_size_limit: int = 8,
):
    """Compile a model into recorded plans that replay its kernels on NumPy.

    Each new input signature (shapes, dtypes, the training flag) is recorded on its first call
    (which runs eagerly), checked against eager on other values, then replayed: no modules, no
    Tensors, no autograd bookkeeping, no argument checks, and results equal to eager's bit for
    bit. Up to ``cache_size_limit`` plans are kept (least recently used dropped). A forward the
    recorder cannot follow (Python control flow on the data, NumPy on a tensor's array) runs
    eagerly with a one-time UserWarning.

    Args:
        model: an ``nn.Module`` (either door's models are Modules).
        example_inputs: a tuple of example inputs. In "inference" mode they are recorded at
            once; in "train" mode only their count is used (a recording runs a real step, so it
            happens on the first call). Default: one input, recorded on the first call.
        mode: "inference" (forward only, no gradients) or "train" (forward, loss, backward and
            the optimizer's step).
        loss_fn: train mode: ``loss_fn(output, *targets)`` gives the loss (e.g.
            ``nn.CrossEntropyLoss()``).
        optimizer: train mode: the optimizer stepped after backward (None: gradients only).
        example_targets: train mode: example targets; their count is then checked on each
            call (a step is ``step(*inputs, *targets)``).
        cache_size_limit: the number of plans kept (torch's ``cache_size_limit`` is 8 too).

    Returns:
        In "inference" mode a :class:`CompiledModule`, called like the model; in "train" mode a
        :class:`CompiledTrainStep`, called as ``step(*inputs, *targets)``, returning the loss.

    Raises:
        ValueError: an unknown ``mode``; train mode without ``loss_fn``.
        TypeError: ``model`` is not callable.

    >>> import nerve
    >>> from nerve import nn
    >>> from nerve.compiler import compile
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).eval()
    >>> x = nerve.randn(2, 4)
    >>> fast = compile(net, (x,))
    >>> bool((fast(x)._data == net(x)._data).all())
    True
    """
    if mode not in _MODES:
        raise ValueError(f"nerve.compile: mode must be one of {_MODES}, got {mode!r}")
    if not callable(model):
        raise TypeError(f"nerve.compile: the model must be callable, got {type(model).__name__}")
    if example_inputs is not None and not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    if mode == "inference":
        compiled = CompiledModule(model, cache_size_limit=cache_size_limit)
        if example_inputs is not None:
            compiled(*example_inputs)
        return compiled
    if loss_fn is None:
        raise ValueError('nerve.compile: mode="train" needs loss_fn (the loss of output, target)')
    n_inputs = 1 if example_inputs is None else len(example_inputs)
    if example_targets is not None and not isinstance(example_targets, (tuple, list)):
        example_targets = (example_targets,)
    n_targets = None if example_targets is None else len(example_targets)
    return CompiledTrainStep(model, loss_fn, optimizer, n_inputs, n_targets, cache_size_limit)
