"""Keras-style optimizer base: Keras's names, defaults and update formulas.

These differ from ``nerve.optim`` (PyTorch's) in small ways Keras users rely on: epsilon 1e-7
and where it enters, SGD momentum that folds in the learning rate, decoupled weight decay
applied before the step, a ``learning_rate`` that may be a schedule of the step count, and
gradient clipping by ``clipnorm``, ``clipvalue`` or ``global_clipnorm``.

An optimizer binds to its variables on first use (``build``), as in Keras, so it can be made
before the model: ``model.compile(optimizer=Adam(1e-3))``. Update it with ``apply_gradients``,
``apply(grads, variables)``, or ``step()`` after ``loss.backward()`` (the gradients in ``.grad``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.backend import as_device_array
from nerve.optimizers.schedules import InverseTimeDecay, LearningRateSchedule
from nerve.optimizers.schedules import deserialize as deserialize_schedule
from nerve.optimizers.schedules import serialize as serialize_schedule


class Optimizer:
    """Base class: subclasses write ``update_step(grad, var, lr, slots)`` on NumPy arrays."""

    #: names of the per-variable state arrays, created zero-filled by ``build``
    slot_names: tuple[str, ...] = ()

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name: str | None = None,
        **kwargs,
    ):
        learning_rate = self._legacy_arguments(learning_rate, kwargs)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        clips = [c for c in (clipnorm, clipvalue, global_clipnorm) if c is not None]
        if len(clips) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if not isinstance(learning_rate, LearningRateSchedule) and not callable(learning_rate):
            if float(learning_rate) < 0:
                raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0")
            learning_rate = float(learning_rate)
        self._learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self.variables_: list = []
        self.slots: list[dict] = []
        self.built = False

    def _legacy_arguments(self, learning_rate, kwargs: dict):
        """Keras 2's ``lr=`` (the learning rate) and ``decay=`` (lr / (1 + decay * step), as
        an InverseTimeDecay schedule), each with a DeprecationWarning naming Keras 3's form."""
        cls = type(self).__name__
        if "lr" in kwargs:
            warnings.warn(
                f"{cls}(lr=...) is Keras 2's spelling; use {cls}(learning_rate=...)",
                DeprecationWarning,
                stacklevel=4,
            )
            learning_rate = kwargs.pop("lr")
        decay = kwargs.pop("decay", 0.0)
        if decay:
            warnings.warn(
                f"{cls}(decay=...) is Keras 2's; Keras 3 writes it as learning_rate="
                "keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)",
                DeprecationWarning,
                stacklevel=4,
            )
            learning_rate = InverseTimeDecay(float(learning_rate), 1, float(decay))
        return learning_rate

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule) or callable(lr):
            return float(lr(self.iterations))
        return lr

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a LearningRateSchedule as its learning_rate; "
                "it cannot be set to a number (make a new optimizer instead)"
            )
        self._learning_rate = value if isinstance(value, LearningRateSchedule) else float(value)

    lr = learning_rate

    # ------------------------------------------------------------------ variables
    def build(self, variables) -> None:
        """Bind to ``variables`` (Tensors) and make their zero-filled state arrays."""
        self.variables_ = [v for v in variables]
        for v in self.variables_:
            if not isinstance(v, Tensor):
                raise TypeError(f"{self.name}: can only optimize Tensors, got {type(v).__name__}")
        self.slots = [self._make_slots(v._data) for v in self.variables_]
        self.built = True

    def _make_slots(self, var: np.ndarray) -> dict:
        return {name: np.zeros_like(var) for name in self.slot_names}

    @property
    def variables(self) -> list:
        return list(self.variables_)

    # ------------------------------------------------------------------ updating
    def step(self) -> None:
        """Apply the gradients stored in each variable's ``.grad`` (a torch-style loop)."""
        if not self.built:
            raise RuntimeError(f"{self.name}: call build(variables) before step()")
        self._apply([v.grad for v in self.variables_], self.variables_)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for v in self.variables_:
            if set_to_none:
                v.grad = None
            elif v.grad is not None:
                v.grad._data[...] = 0

    def apply_gradients(self, grads_and_vars) -> int:
        """Keras's API: update each variable from its gradient; returns ``iterations``."""
        pairs = list(grads_and_vars)
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables=None) -> int:
        variables = self.variables_ if trainable_variables is None else list(trainable_variables)
        if not self.built:
            self.build(variables)
        self._apply(list(grads), variables)
        return self.iterations

    def _apply(self, grads, variables) -> None:
        index = {id(v): i for i, v in enumerate(self.variables_)}
        pairs = []
        for g, v in zip(grads, variables):
            if g is None:
                continue
            if id(v) not in index:
                raise ValueError(
                    f"{self.name}: a variable of shape {v.shape} was not in build(); "
                    "build the optimizer with every variable it updates"
                )
            pairs.append((as_device_array(g._data if isinstance(g, Tensor) else g), v))
        if not pairs:
            return
        grads = self._clip([g for g, _ in pairs])
        lr = self.learning_rate
        with no_grad():
            if self.weight_decay:
                for _, v in pairs:
                    v._data *= 1.0 - lr * float(self.weight_decay)
            self._before_step()
            for g, (_, v) in zip(grads, pairs):
                g = g.astype(v._data.dtype, copy=False)
                self.update_step(g, v._data, lr, self.slots[index[id(v)]])
        self.iterations += 1

    def _before_step(self) -> None:
        """Hook for per-iteration state shared by all variables (Nadam's momentum product)."""

    def _clip(self, grads: list) -> list:
        if self.clipnorm:
            out = []
            for g in grads:
                norm = math.sqrt(float(np.sum(g * g)))
                out.append(g * (self.clipnorm / norm) if norm > self.clipnorm else g)
            return out
        if self.global_clipnorm:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            if norm > self.global_clipnorm:
                return [g * (self.global_clipnorm / norm) for g in grads]
            return grads
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def update_step(self, grad: np.ndarray, var: np.ndarray, lr: float, slots: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no update_step")

    # ------------------------------------------------------------------ state and config
    def state_dict(self) -> dict:
        """iterations and every state array (copies), by variable index and slot name."""
        return {
            "iterations": self.iterations,
            "slots": [{k: v.copy() for k, v in s.items()} for s in self.slots],
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        slots = state["slots"]
        if len(slots) != len(self.slots):
            raise ValueError(
                f"{self.name}: the state holds {len(slots)} variables, the optimizer "
                f"{len(self.slots)}"
            )
        for own, saved in zip(self.slots, slots):
            for k, arr in own.items():
                if k not in saved or np.shape(saved[k]) != arr.shape:
                    raise ValueError(f"{self.name}: state {k!r} is missing or has another shape")
                arr[...] = saved[k]
        self.iterations = int(state["iterations"])
        self._load_extra_state(state.get("extra", {}))

    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, extra: dict) -> None:
        pass

    def get_config(self) -> dict:
        lr = self._learning_rate
        return {
            "name": self.name,
            "learning_rate": serialize_schedule(lr) if isinstance(lr, LearningRateSchedule) else lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize_schedule(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r})"
