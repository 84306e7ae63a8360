"""Optimizer: the base every optimizer shares (param groups, state, zero_grad, step, state_dict).

A subclass validates its hyperparameters in ``_check`` and writes its update for one parameter in
``_update``; everything else (groups, defaults, state keyed by parameter, closures, grad mode,
saving and loading) lives here, so each optimizer file holds only its math. With
``nerve.set_num_threads(n > 1)``, ``step`` runs an elementwise optimizer's whole update as ``n``
shares of about equal element count on the thread pool of ``nerve.primitives.threads`` (one
hand-off per step, same bits as one thread) when the step is large enough to gain from it.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain

import numpy as np

from nerve.autograd import Tensor, enable_grad, no_grad
from nerve.backend import DEVICE_MODULES
from nerve.device import device_of, to_device
from nerve.primitives.threads import get_num_threads, parallel_blocks

# The fewest elements (all parameters of a step together) worth splitting over the threads.
# Measured on the 2-core machine (Adam, MLPs 784-h-h/2-10, batch 128, eager train step at 2
# threads, interleaved, medians): 235K elements 1.02-1.08x slower split, 377K even, 536K
# 0.93-0.99x, 1.33M 0.89x. Below it the hand-off and GIL handovers cost more than half the
# update saves, and the first split shortens OpenBLAS's idle spin (threads.set_blas_spin),
# which alone costs the GEMMs of such a step 2-7%.
SPLIT_MIN_ELEMENTS = 500_000


class Optimizer:
    """Base class for all optimizers (PyTorch's API).

    Args:
        params: an iterable of Tensors, or of dicts (param groups), each with a ``"params"`` entry
            and any per-group options; options a group leaves out come from ``defaults``.
        defaults: the optimizer's hyperparameters, used for every option a group does not set.

    Attributes:
        param_groups: a list of dicts, each with ``"params"`` (a list of Tensors) and every option.
        state: a dict from parameter to its per-parameter state (NumPy arrays and scalars).
    """

    def __init__(self, params, defaults: dict):
        self._check(defaults)
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---------------------------------------------------------------- what subclasses write
    # An optimizer whose ``_update`` is elementwise (each element of the parameter and of its
    # state arrays is computed from the same element of the parameter, gradient and state,
    # plus scalars) sets this to that very ``_update``; ``step`` may then split the update over
    # the threads of nerve.set_num_threads. A subclass that overrides ``_update`` no longer
    # matches it and runs on one thread until it opts in itself.
    _elementwise_update = None

    def _state_ready(self, state: dict, group: dict) -> bool:
        """Whether ``state`` is set up, so a row range of the parameter can be updated alone
        (the first step creates the state from the whole parameter)."""
        return bool(state)

    def _check(self, options: dict) -> None:
        """Raise ValueError for an invalid hyperparameter (called on defaults and on each group)."""

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Update ``param`` in place from ``grad``; ``state`` starts empty on the first step."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ---------------------------------------------------------------- public API
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a layer to unfreeze).

        Args:
            param_group: a dict with ``"params"`` and any options that differ from the defaults.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError('param_group must have a "params" entry')
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient.

        Args:
            set_to_none: drop the gradient (``p.grad = None``, the default, as torch) instead of
                filling it with zeros; the next backward then allocates a fresh array.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; those whose ``.grad`` is None are skipped.

        Under ``nerve.set_num_threads(n > 1)`` an elementwise optimizer's step over at least
        ``SPLIT_MIN_ELEMENTS`` elements runs on ``n`` threads, with the same result bit for bit.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss; it runs
                with grad recording on, the update itself with it off.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            if not self._step_split():
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            self._update(p._data, p.grad._data, self.state[p], group)
        return loss

    def _step_split(self) -> bool:
        """Run the whole step as ``n`` shares of about equal element count, one per thread.

        :meth:`_plan_shares` deals whole parameters and cuts the one that straddles a share's
        quota into flat element ranges; each range is updated with a view of the state
        (array entries sliced alike, scalars copied), so the elementwise update gives the same
        bits as one thread. Scalars the ranges advanced (``step``...) are written back once.

        Returns:
            True when the step ran split; False (nothing done) when the caller must run it.
        """
        cls = type(self)
        if cls._elementwise_update is None or cls._update is not cls._elementwise_update:
            return False
        if "_update" in vars(self):  # a rule set on this optimizer sees whole parameters
            return False
        n = get_num_threads()
        if n < 2:
            return False
        work = []
        total = 0
        roots = set()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                param, grad = p._data, p.grad._data
                if type(param) is not np.ndarray or type(grad) is not np.ndarray:
                    return False  # a device keeps its own kernels
                root = param
                while isinstance(root.base, np.ndarray):
                    root = root.base
                if id(root) in roots:  # listed twice or tied (updated twice, in order, as
                    return False  # torch does): two shares must never write one buffer
                roots.add(id(root))
                work.append((param, grad, self.state[p], group))
                total += param.size
        if total < SPLIT_MIN_ELEMENTS:
            return False
        shares, cuts = self._plan_shares(work, total, n)

        def run(share, _end):  # one block of one "row" per thread: its share's number
            for param, grad, state, group in shares[share]:
                self._update(param, grad, state, group)

        if not parallel_blocks(run, n):
            return False  # another thread holds the pool: run on this one
        for state, views in cuts:
            for key, v in views[0].items():
                if not isinstance(v, np.ndarray):
                    state[key] = v
        return True

    def _plan_shares(self, work: list, total: int, n: int) -> tuple[list, list]:
        """Deal the step's ``(param, grad, state, group)`` items into ``n`` shares.

        The pool's threads (shares ``n - 1`` down to 1) take the largest parameters first,
        cutting the one that straddles a share's quota into flat element ranges; the calling
        thread (share 0) keeps the rest, the many small parameters among them. A worker then
        runs a few large NumPy loops, which release the GIL, and rarely waits for the caller's
        Python-bound small updates (CPython hands the GIL over only when its holder releases
        it or after the 5 ms switch interval).

        Returns:
            ``(shares, cuts)``: the items of each share, and ``(state, views)`` for each cut
            parameter (the scalars of ``views[0]`` are written back after the run).
        """
        quota = total / n
        shares: list[list] = [[] for _ in range(n)]
        cuts = []
        dealt = set()
        k, room = n - 1, quota  # the share being filled, the elements it still takes
        for i in sorted(range(len(work)), key=lambda j: -work[j][0].size):
            if k == 0:
                break
            param, grad, state, group = work[i]
            size = param.size
            dealt.add(i)
            if size <= room or not self._cuttable(param, grad, state, group):
                shares[k].append(work[i])
                room -= size
            else:
                flat_p, flat_g = param.reshape(-1), grad.reshape(-1)
                views, start = [], 0
                while start < size:
                    stop = size if k == 0 else min(size, start + max(int(room), 0))
                    if stop > start:
                        view = {
                            key: v.reshape(-1)[start:stop] if isinstance(v, np.ndarray) else v
                            for key, v in state.items()
                        }
                        views.append(view)
                        shares[k].append((flat_p[start:stop], flat_g[start:stop], view, group))
                        room -= stop - start
                        start = stop
                    if start < size:
                        k -= 1
                        room += quota
                cuts.append((state, views))
            if room <= 0 and k > 0:
                k -= 1
                room += quota
        # The caller runs its cut range (if any) first: the worker gets the GIL between its
        # loops while the caller's large loops run without it.
        shares[0].extend(item for i, item in enumerate(work) if i not in dealt)
        return shares, cuts

    def _cuttable(self, param, grad, state: dict, group: dict) -> bool:
        """Whether ``param``'s update may be cut into flat element ranges: its state is set up,
        C-contiguous arrays of the parameter's shape and immutable scalars only."""
        if not (param.flags.c_contiguous and grad.flags.c_contiguous and grad.shape == param.shape):
            return False
        if not self._state_ready(state, group):
            return False
        for v in state.values():
            if isinstance(v, np.ndarray):
                if type(v) is not np.ndarray or v.shape != param.shape or not v.flags.c_contiguous:
                    return False
            elif type(v) not in (int, float, bool):  # a mutable scalar would advance per range
                return False
        return True

    def state_dict(self) -> dict:
        """The optimizer's state as plain data, keyed like torch's.

        Returns:
            ``{"state": {index: {name: Tensor or scalar}}, "param_groups": [{option: value,
            "params": [index, ...]}]}``, where parameters are numbered 0, 1, ... in group order.
            The Tensors hold copies, so the snapshot does not change as training goes on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                s = self.state.get(p)
                if s:
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from :meth:`state_dict`: options per group and the per-parameter state.

        The optimizer must have been built with the same parameters, in the same group sizes.
        Floating-point state arrays are copied and cast to their parameter's dtype.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: group {i} has {len(saved['params'])} parameters there, "
                    f"{len(group['params'])} here"
                )
        by_index = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in self.param_groups),
            )
        )
        state: defaultdict = defaultdict(dict)
        for key, values in state_dict["state"].items():
            # JSON turns integer keys into strings; accept both.
            p = by_index.get(int(key) if isinstance(key, str) and key.isdigit() else key)
            if p is None:
                continue
            state[p] = {k: _cast_value(v, p._data) for k, v in values.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if isinstance(new.get("betas"), list):
                new["betas"] = tuple(new["betas"])
            new["params"] = group["params"]
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)


# -------------------------------------------------------------------- helpers for the updates
def effective_grad(
    param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool
) -> np.ndarray:
    """The gradient an update follows: ``-grad`` when maximizing, plus ``weight_decay * param``.

    Returns ``grad`` itself when there is nothing to add (the caller must not write into it),
    otherwise one new array.
    """
    if weight_decay == 0:
        return np.negative(grad) if maximize else grad
    g = np.multiply(param, weight_decay)
    if maximize:
        g -= grad
    else:
        g += grad
    return g


def check_lr(lr) -> None:
    """Raise ``Invalid learning rate: <lr>`` unless lr >= 0 (torch's message)."""
    if not lr >= 0.0:  # also refuses nan
        raise ValueError(f"Invalid learning rate: {lr}")


def check_nonnegative(name: str, value) -> None:
    """Raise ``Invalid <name> value: <value>`` unless value >= 0 (torch's messages)."""
    if not value >= 0.0:  # also refuses nan
        raise ValueError(f"Invalid {name} value: {value}")


def check_betas(betas) -> None:
    """Raise ``Invalid beta parameter at index <i>: <beta>`` unless 0 <= beta < 1 (torch's)."""
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: expected two values (beta1, beta2), got {betas}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def _copy_value(value):
    if isinstance(value, np.ndarray) or type(value) in DEVICE_MODULES:
        return Tensor._wrap(value.copy())  # a Tensor (on the state's device), as torch's
    return copy.deepcopy(value)


def _cast_value(value, param: np.ndarray):
    """A loaded state value as the optimizer keeps it: arrays copied onto the parameter's
    device, floating ones in its dtype (torch: state follows its parameter)."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, np.ndarray) or type(value) in DEVICE_MODULES:
        if value.ndim == 0:
            return value.item()  # a saved step counter or product: keep it a Python scalar
        value = to_device(value, device_of(param))
        if value.dtype.kind == "f":
            return value.astype(param.dtype, copy=True)
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    return copy.deepcopy(value)
