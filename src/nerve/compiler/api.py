"""``nerve.compile``: a model's recorded plans, one per input signature, with eager fallback.

The first call with a new signature (see :func:`nerve.compiler.calls.flatten`: the inputs'
structure, shapes, dtypes, strides and devices, the other arguments' types and values, every
module's training flag, and in train mode which parameters require grad) is recorded by
:mod:`nerve.compiler.record` on a perturbed copy of its inputs; then the plan
(:mod:`nerve.compiler.plan`) runs on the call's own inputs and is compared bit for bit with
eager on them (outputs, buffers, gradients in train mode, and the random numbers drawn), with
the generator, buffers and gradients put back in between. Eager runs last, so the call returns
eager's result and leaves eager's state. Later calls with that signature replay the plan. A
recording that fails or a check that differs makes that signature eager for good, with one
UserWarning per compiled object that names the model and the reason (all of them are kept in
``fallback_reasons``), as ``torch.compile`` falls back on a graph break. Plans are dropped when
a module's structure changes (``nerve.nn.module.STRUCTURE_VERSION``).

The check uses one set of values: a dependence it does not exercise (a padding mask made with
NumPy, recorded on a batch without padding) is not seen. See :func:`compile` for the limits.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict

from nerve import backend
from nerve.autograd.grad_mode import _modes as _grad_modes
from nerve.autograd.grad_mode import enable_grad, no_grad
from nerve.autograd.tensor import Tensor
from nerve.compiler.calls import (
    _buffers,
    _call_args,
    _detached,
    _grad_values,
    _leaves,
    _loss_tensor,
    _parameters,
    _perturbed,
    _put_grads,
    _random_outside,
    _refuse_reason,
    _same,
    _side_effects,
    _State,
    _wants_grad,
    flatten,
    unflatten,
)
from nerve.compiler.plan import InferencePlan, TrainPlan
from nerve.compiler.record import RECORDING, backward_schedule, record
from nerve.nn.module import STRUCTURE_VERSION as _VERSION  # one list, bumped in place

_EAGER = "eager"
_MODES = ("inference", "train")
# torch.compile's modes: plans when no gradient is wanted, eager otherwise
_TORCH_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


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
        self._version = _VERSION[0]

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

    def _guard(self) -> None:
        # A module attribute, Parameter, sub-Module, hook, dtype or device changed since the
        # plans were recorded (nn.module.STRUCTURE_VERSION): record again.
        if self._version != _VERSION[0]:
            self._cache.clear()
            self.fallback_reasons.clear()
            self.__dict__.pop("_flag_modules", None)
            self.__dict__.pop("_param_list", None)
            self._version = _VERSION[0]

    def _own_changes(self, version: int) -> None:
        # a forward run eagerly by this call may set attributes itself (self.attn = w): those
        # are the model's own, not a change made by the user since the call began
        if version == self._version:
            self._version = _VERSION[0]

    def _training_flags(self):
        # every module's flag (a model with one Dropout put in eval mode is another program),
        # read from a list made once (again when the structure changes): a walk of the
        # module tree per call would cost more
        mods = self.__dict__.get("_flag_modules")
        if mods is None:
            model = self.model
            mods = list(model.modules()) if hasattr(model, "modules") else []
            self._flag_modules = mods
        return tuple([m.training for m in mods])

    def _params(self) -> list:
        params = self.__dict__.get("_param_list")
        if params is None:
            params = self.__dict__["_param_list"] = _parameters(self._modules)
        return params

    def _key(self, args: tuple, kwargs: dict | None = None, grads: bool = False):
        training = self._training_flags()
        if grads:  # train plans: which parameters take a gradient, and their dtypes
            training = (training, tuple([(p.requires_grad, p._data.dtype) for p in self._params()]))
        if not kwargs and len(args) == 1 and type(args[0]) is Tensor:  # the common call
            t = args[0]
            a = t._data
            spec = ("tuple", (("T", a.shape, a.dtype, a.strides, type(a), t.requires_grad),))
            return (spec, training), spec, [a]
        leaves: list = []
        spec = flatten(args, leaves)
        if kwargs:
            spec = ("kw", spec, flatten(kwargs, leaves))
        return (spec, training), spec, leaves

    def _lookup(self, key):
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
        return entry

    def _replay(self, entry, leaves):
        """Run a cached plan on the call's arrays (its buffers' counters advanced first)."""
        self._hits += 1
        plan, counters = entry
        for b, delta in counters:
            b._data += delta
        return plan.outputs(plan.run(leaves))  # no Tensor op runs: no grad mode to set

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
                f"signature: {why} (all reasons: .fallback_reasons)",
                UserWarning,
                stacklevel=4,
            )


class CompiledModule(_Compiled):
    """A model's forward replayed from recorded plans (what ``nerve.compile`` returns).

    Calls take the model's arguments (Tensors, arrays, or nested lists/tuples/dicts of them,
    positional or keyword; other values become part of the signature). With
    ``mode="inference"`` every call is a plan and returns Tensors that do not require grad, as
    under ``nerve.inference_mode()``. With torch's modes a call runs the model eagerly when a
    gradient is wanted (grad mode on and a parameter or input requires grad), so a training
    loop trains, and replays a plan otherwise (``no_grad``, frozen weights). Other attributes
    (``parameters()``, ``train()``, ``eval()``, ``state_dict()``...) are the model's, as on
    torch's ``OptimizedModule``; ``_orig_mod`` is the model.
    """

    def __init__(self, model, forward=None, cache_size_limit: int = 8, grad_aware: bool = False):
        super().__init__(model, [model], cache_size_limit)
        self._forward = forward if forward is not None else model
        self._grad_aware = grad_aware

    @property
    def _orig_mod(self):
        return self.model

    def train(self, mode: bool = True) -> CompiledModule:
        """Set the model's training flag (keys the plans); returns self, as torch's does."""
        self.model.train(mode)
        return self

    def eval(self) -> CompiledModule:
        """``train(False)``; returns self."""
        return self.train(False)

    def __getattr__(self, name: str):
        # only reached for names the wrapper lacks: the model's attributes (torch's delegation)
        if name.startswith("__") or "model" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["model"], name)

    def _wants_eager(self, args, kwargs) -> bool:
        if not _grad_modes.enabled:  # ops record nothing (no_grad, or inside inference_mode)
            return False
        if any(p.requires_grad for p in self._params()):
            return True
        leaves: list = []
        return _wants_grad(flatten((args, kwargs), leaves))

    def __call__(self, *args, **kwargs):
        if self._version != _VERSION[0]:  # see _guard
            self._guard()
        if self._grad_aware and self._wants_eager(args, kwargs):
            return self._forward(*args, **kwargs)  # torch.compile trains: eager's graph
        if RECORDING[0] is not None and RECORDING[0] == threading.get_ident():
            with no_grad():  # inside another model's recording: ops it can see
                return self._forward(*args, **kwargs)
        key, spec, leaves = self._key(args, kwargs)
        # Inside a nerve.autocast region (this thread's) the ops cast their inputs: eager, and
        # nothing cached, so the same signature outside the region still gets its plan.
        entry = _EAGER if _grad_modes.autocast is not None else self._lookup(key)
        if entry is None:
            self._misses += 1
            version = self._version
            out = self._record(key, spec, leaves)
            self._own_changes(version)
            return out
        if entry is _EAGER:
            self._fallbacks += 1
            version = self._version
            with no_grad():
                out = self._forward(*args, **kwargs)
            self._own_changes(version)
            return out
        return self._replay(entry, leaves)

    def _run_eager(self, spec, leaves):
        args, kwargs = _call_args(spec, [Tensor._wrap(a) for a in leaves])
        return self._forward(*args, **kwargs)

    def _record(self, key, spec, leaves):
        # Recorded on a perturbed copy of the inputs, then checked on the real ones: the plan
        # against eager, eager last, so the state and attributes this call leaves (buffers,
        # self.attn = w) are the real input's, and this call returns eager's own result.
        why = _refuse_reason(self._modules, leaves)
        if why is not None:
            self._fall_back(key, why)
            with no_grad():
                return self._run_eager(spec, leaves)
        before = _State(_buffers(self._modules))
        alt = [_perturbed(a) for a in leaves]
        inputs = [Tensor._wrap(a) for a in alt]

        def fn(*tensors):
            args, kwargs = _call_args(spec, list(tensors))
            return self._forward(*args, **kwargs)

        with no_grad():
            rec = record(fn, inputs, self._modules)
        drawn = backend.rng().bit_generator.state  # what the recording drew, to match
        counters: list = []
        plan = None
        if rec.failure is None:
            counters, rec.failure = _side_effects(before, rec)
        if rec.failure is None:
            plan = InferencePlan(rec)
        before.restore()
        if rec.failure is None:
            rec.failure, out = self._check(plan, counters, spec, leaves, drawn)
        else:
            with no_grad():
                out = self._run_eager(spec, leaves)
        if rec.failure is not None:
            self._fall_back(key, rec.failure)
            return out
        self._store(key, (plan, counters))
        return out

    def _check(self, plan, counters, spec, leaves, drawn):
        """The plan on the real inputs against eager on them (eager runs last and its result
        and state stay); returns (the failure or None, eager's outputs)."""
        state = _State(_buffers(self._modules))
        try:
            for b, delta in counters:
                b._data += delta
            got = _leaves(plan.outputs(plan.run(leaves)), [])
            got_state = [b._data.copy() for b, _ in state.buffers]
            failure = _random_outside(drawn)
        except Exception as exc:  # the plan failed on other values
            got = got_state = None
            failure = f"a check on the call's inputs raised {type(exc).__name__}: {exc}"
        state.restore()
        with no_grad():
            out = self._run_eager(spec, leaves)
        if failure is not None:
            return failure, out
        want = _leaves(out, [])
        want_state = [b._data for b, _ in state.buffers]
        if len(got) != len(want) or not all(map(_same, got, want)):
            return (
                "its outputs depend on values the recorder cannot see (NumPy on a tensor's "
                "array, Python control flow on the data, a random tensor made outside nerve's "
                "ops, or a compiled module inside)"
            ), out
        if not all(map(_same, got_state, want_state)):
            return "it updates a buffer in a way the recorder cannot see", out
        return None, out


class CompiledTrainStep:
    """One training step replayed from recorded plans (``nerve.compile(..., mode="train")``).

    ``step(*inputs, *targets)`` runs forward, the loss and backward (gradients land in each
    parameter's ``.grad`` exactly as ``loss.backward()`` puts them, fresh arrays each step as in
    eager: nothing is preallocated); with an optimizer it first clears the gradients
    (``optimizer.zero_grad()``) and then calls ``optimizer.step()`` (without one, gradients
    accumulate as with repeated ``backward()``). It returns the loss, detached.
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
    door's ``compile(jit_compile=True)``. A call whose inputs require grad runs eagerly (the
    plan gives no gradient to inputs); the cache is keyed on which parameters require grad.

    Args:
        model: the model (its ``training`` flag keys the cache; named in warnings).
        fn: the function to compile, over Tensors (nested structures allowed).
        modules: every module whose parameters and buffers ``fn`` reads.
        cache_size_limit: the number of plans kept.
    """

    def __init__(self, model, fn, modules=None, cache_size_limit: int = 8):
        super().__init__(model, modules if modules is not None else [model], cache_size_limit)
        self.fn = fn

    def _eager(self, spec, leaves):
        with enable_grad():
            out = self.fn(*unflatten(spec, [Tensor._wrap(a) for a in leaves], [0]))
            loss = _loss_tensor(out)
            if loss.requires_grad:
                loss.backward()
        return _detached(out), loss

    def __call__(self, *args):
        if self._version != _VERSION[0]:  # see _guard
            self._guard()
        key, spec, leaves = self._key(args, grads=True)
        if _wants_grad(spec):  # FGSM-style input gradients: eager's graph gives them
            with enable_grad():
                out = self.fn(*args)
                loss = _loss_tensor(out)
                if loss.requires_grad:
                    loss.backward()
            return _detached(out)
        entry = _EAGER if _grad_modes.autocast is not None else self._lookup(key)  # as above
        version = self._version
        if entry is None:
            self._misses += 1
            out = self._record(key, spec, leaves)
            self._own_changes(version)
            return out
        if entry is _EAGER:
            self._fallbacks += 1
            out = self._eager(spec, leaves)[0]
            self._own_changes(version)
            return out
        return self._replay(entry, leaves)

    def _record(self, key, spec, leaves):
        # As CompiledModule._record: recorded (forward and backward) on a perturbed copy, the
        # state and gradients put back, then the plan checked against eager on the real inputs.
        why = _refuse_reason(self._modules, leaves)
        if why is not None:
            self._fall_back(key, why)
            return self._eager(spec, leaves)[0]
        before = _State(_buffers(self._modules))
        params = _parameters(self._modules)
        # backward may add into an existing .grad in place: keep its values too
        grads_before = [(p.grad, None if p.grad is None else p.grad._data.copy()) for p in params]
        inputs = [Tensor._wrap(_perturbed(a)) for a in leaves]

        def fn(*tensors):
            return self.fn(*unflatten(spec, list(tensors), [0]))

        counters: list = []
        plan = None
        try:
            with enable_grad():
                rec = record(fn, inputs, self._modules)
                loss = _loss_tensor(rec.outputs)
                if rec.failure is None:
                    plan = self._plan(rec, loss)
                if rec.failure is None:
                    counters, rec.failure = _side_effects(before, rec)
                if loss.requires_grad:
                    loss.backward()
            drawn = backend.rng().bit_generator.state  # what the recording drew, to match
        finally:
            before.restore()
            params = _parameters(self._modules)  # a lazily built layer made its weights
            _put_grads(params, grads_before)
        state = _State(_buffers(self._modules))
        got = None
        if rec.failure is None:
            # the plan on the real inputs, from copies of the gradients; then put them back
            saved = [(p.grad, None if p.grad is None else p.grad._data.copy()) for p in params]
            try:
                for p, (g, values) in zip(params, saved):
                    p.grad = None if g is None else Tensor._wrap(values.copy())
                for b, delta in counters:
                    b._data += delta
                got = _leaves(plan.outputs(plan.run(leaves)), []) + _grad_values(params)
                got += [b._data.copy() for b, _ in state.buffers]
            except Exception as exc:  # the plan failed on the call's values
                rec.failure = f"a check on the call's inputs raised {type(exc).__name__}: {exc}"
            else:
                rec.failure = _random_outside(drawn)
            finally:
                state.restore()
                _put_grads(params, saved)
        # eager on the real inputs, last: its gradients, state and result are this call's
        out = self._eager(spec, leaves)[0]
        if rec.failure is None:
            want = _leaves(out, []) + _grad_values(params) + [b._data for b, _ in state.buffers]
            if len(got) != len(want) or not all(map(_same, got, want)):
                rec.failure = (
                    "its loss or gradients depend on values the recorder cannot see (NumPy on a "
                    "tensor's array, Python control flow on the data, a random tensor made "
                    "outside nerve's ops)"
                )
        if rec.failure is not None:
            self._fall_back(key, rec.failure)
            return out
        self._store(key, (plan, counters))
        return out

    def _plan(self, rec, loss):
        schedule = backward_schedule(rec, loss)
        if schedule is None:
            rec.failure = "its loss depends on a graph built before the call"
            return None
        params = {id(p) for p in _parameters(self._modules)}
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


# ----------------------------------------------------------------------------- the door
def compile(  # noqa: A001 - torch.compile's name, deliberately
    model,
    example_inputs=None,
    mode: str | None = None,
    *,
    loss_fn=None,
    optimizer=None,
    example_targets=None,
    cache_size_limit: int = 8,
    fullgraph: bool = False,
    dynamic=None,
    backend="inductor",
    options=None,
    disable: bool = False,
):
    """Compile a model into recorded plans that replay its kernels on NumPy.

    Each new input signature (the inputs' shapes, dtypes, strides and devices, the other
    arguments' types and values, every module's training flag) is recorded on its first call,
    checked against eager on the call's own inputs (eager runs last and gives that call's
    result), then replayed: no modules, no Tensors, no autograd bookkeeping, no argument
    checks, results equal to eager's bit for bit. Up to ``cache_size_limit`` plans are kept
    (least recently used dropped). What the recorder cannot follow (Python control flow on the
    data, a Python number read from a tensor computed from the inputs or from a parameter,
    forward hooks) runs eagerly with a one-time UserWarning. Plans are dropped and recorded
    again when a module attribute, Parameter, sub-module, hook, dtype or device changes
    (``Dropout.p``, ``BatchNorm.momentum``, ``model.double()``, ``register_forward_hook``).

    A plan is "preallocated" only where that pays: an inference Linear with a 2-D input whose
    output (at most 64 KiB) is an intermediate writes it into a buffer the plan keeps; its
    "fused epilogue" is the bias added in place after the GEMM (as eager does) and a ReLU,
    tanh or sigmoid run in place on a dead intermediate. Train plans preallocate nothing:
    each step allocates fresh gradients, as eager does.

    Limits (not seen, so not guarded): NumPy on a tensor's array (``x._data != 0``) is caught
    only when the check's inputs happen to take another path (a padding mask recorded on a
    batch without padding is not); Python side effects of forward (``self.attn = w``, a
    print) happen on recorded calls only; values read from non-module Python state.

    Args:
        model: an ``nn.Module`` (either door's models are Modules).
        example_inputs: a tuple of example inputs. In "inference" mode they are recorded at
            once; in "train" mode only their count is used (a recording runs a real step, so it
            happens on the first call). Default: none, recorded on the first call.
        mode: torch's modes (None, "default", "reduce-overhead", "max-autotune",
            "max-autotune-no-cudagraphs") give a module that runs eagerly when a gradient is
            wanted (so ``model = nerve.compile(model)`` and a training loop train) and replays
            plans otherwise (``no_grad``, ``eval()`` with frozen weights). nerve's own modes:
            "inference" (always plans, outputs need no grad) and "train" (a whole step:
            forward, loss, backward and the optimizer's step).
        loss_fn: train mode: ``loss_fn(output, *targets)`` gives the loss (e.g.
            ``nn.CrossEntropyLoss()``).
        optimizer: train mode: the optimizer stepped after backward (None: gradients only).
        example_targets: train mode: example targets; their count is then checked on each
            call (a step is ``step(*inputs, *targets)``).
        cache_size_limit: the number of plans kept (torch's ``cache_size_limit`` is 8 too).
        fullgraph: torch's keyword, accepted; nerve never splits a graph (a forward it
            cannot record runs eagerly whole, with a warning).
        dynamic: torch's keyword, accepted; each shape gets its own plan.
        backend: torch's keyword, accepted (nerve has one backend: recorded NumPy plans).
        options: torch's keyword, accepted and unused.
        disable: True returns ``model`` itself, as torch does.

    Returns:
        A :class:`CompiledModule`, called like the model (in "train" mode a
        :class:`CompiledTrainStep`, called as ``step(*inputs, *targets)``, returning the loss).

    Raises:
        ValueError: an unknown ``mode``; train mode without ``loss_fn``.
        TypeError: ``model`` is not callable.

    >>> import nerve
    >>> from nerve import nn
    >>> from nerve.compiler import compile
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).eval()
    >>> x = nerve.randn(2, 4)
    >>> fast = compile(net, (x,))
    >>> with nerve.no_grad():
    ...     bool((fast(x)._data == net(x)._data).all())
    True
    """
    if mode is None:
        mode = "default"
    if mode not in _MODES + _TORCH_MODES:
        raise ValueError(
            f"nerve.compile: mode must be one of {_MODES + _TORCH_MODES}, got {mode!r}"
        )
    if not callable(model):
        raise TypeError(f"nerve.compile: the model must be callable, got {type(model).__name__}")
    if disable:
        return model
    if example_inputs is not None and not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    if mode != "train":
        compiled = CompiledModule(
            model, cache_size_limit=cache_size_limit, grad_aware=mode != "inference"
        )
        if example_inputs is not None:
            with no_grad():
                compiled(*example_inputs)
        return compiled
    if loss_fn is None:
        raise ValueError('nerve.compile: mode="train" needs loss_fn (the loss of output, target)')
    n_inputs = 1 if example_inputs is None else len(example_inputs)
    if example_targets is not None and not isinstance(example_targets, (tuple, list)):
        example_targets = (example_targets,)
    n_targets = None if example_targets is None else len(example_targets)
    return CompiledTrainStep(model, loss_fn, optimizer, n_inputs, n_targets, cache_size_limit)
