"""Doctor: a training doctor that watches a run and names what goes wrong, with the remedy.

The seed tutorials' debugging section as a callback. Per layer and per epoch, on a few sampled
batches (``sample_batches``, so the cost stays a small fraction of an epoch), it reads:

- gradient norms (the parameters' ``.grad``, still there after the optimizer step): vanishing
  (orders of magnitude below the last layer's, or under a floor), exploding (non-finite, or
  growing over the epochs);
- the update-to-weight ratio ``||w_after - w_before|| / ||w_before||`` of each kernel (the 1e-3
  rule of thumb: far above it the learning rate is too high, far below the layer does not learn);
- through forward hooks installed for the sampled batches only: the fraction of dead ReLU units
  (never positive), of saturated sigmoid/tanh outputs, and each layer's activation mean and spread.

Over training it watches the loss (NaN, diverging, a plateau from the first epoch, too little
progress) and the validation gap (overfitting). Before training it checks the data
(``nerve.data.checks``): the first batch's inputs always, and the whole arrays when it is given them
(``Doctor(x=..., y=..., validation_data=...)`` or ``set_data``).

The findings are printed at the end of ``fit``, kept in ``history.diagnosis`` and
``doctor.diagnosis``, and written as JSON (with the per-layer, per-epoch numbers) when ``path``
is given. For a hand-written loop, drive the same object with ``watch``/``batch``/``end_epoch``/
``finish``, or call ``diagnose_step(model, loss)`` after a backward.

This file gathers the numbers (the callback, its hooks and per-layer statistics); the rules that
turn them into findings live in ``doctor_findings.py``.

>>> from nerve import callbacks
>>> doctor = callbacks.Doctor(path="run/diagnosis.json")  # doctest: +SKIP
>>> history = model.fit(x, y, epochs=5, callbacks=[doctor])  # doctest: +SKIP
>>> history.diagnosis  # doctest: +SKIP
[{'check': 'dead_relu', 'layer': 'dense_1', 'message': "Layer 'dense_1': 97% of ..."}]
"""

from __future__ import annotations

import contextlib
import json
import math

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.callbacks.base import Callback
from nerve.callbacks.doctor_findings import DoctorFindings, _gradient_findings
from nerve.data.checks import (
    _array,
    check_data,
    check_inputs,
    finding,
    format_findings,
)
from nerve.layers.base import Layer

__all__ = ["Doctor", "diagnose_step", "format_findings"]

_RELU = {"relu", "relu6", "ReLU", "ReLU6"}
_SIGMOID = {"sigmoid", "hard_sigmoid", "Sigmoid", "Hardsigmoid"}
_TANH = {"tanh", "Tanh"}


def _kind(module) -> str | None:
    """'relu', 'sigmoid' or 'tanh' for a module whose output is that nonlinearity, else None."""
    act = getattr(module, "activation", None)
    name = getattr(act, "__name__", None) if callable(act) else None
    name = name or type(module).__name__
    if name in _RELU:
        return "relu"
    if name in _SIGMOID:
        return "sigmoid"
    if name in _TANH:
        return "tanh"
    return None


def _param_layers(model) -> list[tuple[str, object, list]]:
    """(name, module, trainable parameters) of every module that owns parameters, in order."""
    out = []
    for path, m in model.named_modules():
        params = [p for _, p in m.named_parameters(recurse=False) if p.requires_grad]
        if params:
            out.append((_name(path, m), m, params))
    return out


def _name(path: str, module) -> str:
    """A Keras layer's own name (``dense_1``), else the module's dotted path."""
    name = getattr(module, "name", None) if isinstance(module, Layer) else None
    return name if isinstance(name, str) and name else (path or type(module).__name__)


def _sq(a) -> float:
    a = _array(a).astype(np.float64, copy=False)
    return float(np.vdot(a, a).real)


def _grad_norms(layers) -> dict[str, float]:
    """Each layer's gradient L2 norm over all its parameters (NaN when one is not finite)."""
    norms = {}
    for name, _, params in layers:
        grads = [p.grad for p in params if p.grad is not None]
        if grads:
            norms[name] = math.sqrt(sum(_sq(g) for g in grads))
    return norms


def diagnose_step(model, loss=None, vanishing_ratio: float = 1e-3, grad_floor: float = 1e-10):
    """Diagnose one step of a hand-written loop from the gradients left by ``loss.backward()``.

    Call it after the backward (before or after ``optimizer.step()``, before ``zero_grad``).

    Args:
        model: the nn.Module (or Keras-door model) being trained.
        loss: the step's loss (Tensor or float), checked for NaN/infinity; optional.
        vanishing_ratio: a layer whose gradient norm is below this fraction of the last layer's
            has vanishing gradients.
        grad_floor: a gradient norm below this counts as vanishing whatever the last layer's.

    Returns:
        A list of findings (dicts with ``check``, ``message``, ``remedy``, ``layer``): non-finite
        loss, non-finite or vanishing gradients. Empty when the step looks healthy.

    Raises:
        ValueError: ``model`` has no parameter with a gradient (backward has not run).
    """
    layers = _param_layers(model)
    norms = _grad_norms(layers)
    if not norms:
        raise ValueError(
            f"diagnose_step: no parameter of {type(model).__name__} has a gradient; call it after "
            "loss.backward() and before optimizer.zero_grad()"
        )
    found = []
    if loss is not None:
        value = float(_array(loss))
        if not math.isfinite(value):
            found.append(
                finding(
                    "nan_loss",
                    f"The loss is {value}",
                    "lower the learning rate, clip gradients and check the inputs for NaN",
                )
            )
    return found + _gradient_findings(norms, vanishing_ratio, grad_floor)


class _LayerStats:
    """Per-layer sums over the sampled batches of one epoch."""

    __slots__ = ("alive", "count", "mean", "saturated", "std")

    def __init__(self):
        self.alive = None
        self.saturated = []
        self.mean = []
        self.std = []
        self.count = 0


class Doctor(DoctorFindings, Callback):
    """Watch a training run and report what goes wrong (findings with evidence and remedies).

    Args:
        x, y: the training arrays, for the data checks (constant features, label imbalance, labels
            outside the output range); without them only the first batch's inputs are checked.
        validation_data: ``(x_val, y_val)``, for the train/validation overlap check.
        path: write the report (findings and per-layer, per-epoch numbers) there as JSON.
        sample_batches: how many batches per epoch are watched (spread over the epoch).
        verbose: print the findings at the end of ``fit``.
        vanishing_ratio: a layer's gradient norm below this fraction of the last layer's is
            vanishing.
        grad_floor: a gradient norm under this is vanishing whatever the last layer's.
        update_ratio: ``(low, high)``: an update-to-weight ratio outside is reported (the rule of
            thumb is about 1e-3).
        dead_fraction: report a ReLU layer with more than this fraction of dead units.
        saturated_fraction: report a sigmoid/tanh layer with more than this fraction of outputs
            within 0.01 of its bounds.

    Attributes:
        diagnosis: the findings of the latest run (also ``history.diagnosis``).
        report: the JSON-ready report of the latest run.
    """

    def __init__(
        self,
        x=None,
        y=None,
        validation_data=None,
        path=None,
        sample_batches: int = 2,
        verbose: int = 1,
        vanishing_ratio: float = 1e-3,
        grad_floor: float = 1e-10,
        update_ratio: tuple = (1e-7, 0.1),
        dead_fraction: float = 0.5,
        saturated_fraction: float = 0.5,
    ):
        super().__init__()
        if isinstance(sample_batches, bool) or int(sample_batches) < 1:
            raise ValueError(f"Doctor: sample_batches must be >= 1, got {sample_batches!r}")
        self.sample_batches = int(sample_batches)
        self.path = path
        self.verbose = verbose
        self.vanishing_ratio = float(vanishing_ratio)
        self.grad_floor = float(grad_floor)
        self.update_ratio = (float(update_ratio[0]), float(update_ratio[1]))
        self.dead_fraction = float(dead_fraction)
        self.saturated_fraction = float(saturated_fraction)
        self.set_data(x, y, validation_data)
        self.diagnosis: list[dict] = []
        self.report: dict = {}

    def set_data(self, x=None, y=None, validation_data=None) -> None:
        """Give the training arrays (and validation data) for the data checks of the next run."""
        self._x, self._y, self._val = x, y, validation_data
        self._given = x is not None

    def on_fit_data(self, x, y=None, validation_data=None) -> None:
        """The arrays ``fit`` trains on, passed by the loop before ``on_train_begin``.

        Arrays given to the constructor or ``set_data`` take precedence.
        """
        if not self._given:
            self._x, self._y, self._val = x, y, validation_data

    # ------------------------------------------------------------------ fit hooks
    def on_train_begin(self, logs=None):
        self._kinds, self._history = {}, {}
        self._layers, self._grads, self._ratios = [], {}, {}
        self._refresh_layers()
        self._first_inputs = None
        self._epochs, self._epoch_logs = [], []
        self._first_loss = self._nan_at = None
        self._data_findings, self._data_checked = [], False
        self._num_outputs = None
        self._hooks, self._before = [], None
        self._sampled = set()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        steps = self.params.get("steps") if self.params else None
        k = self.sample_batches
        self._sampled = (
            set(range(k))
            if not steps
            else {int(round(i)) for i in np.linspace(0, steps - 1, min(k, steps))}
        )
        self._grads = {n: [] for n, _, _ in self._layers}
        self._ratios = {n: [] for n, _, _ in self._layers}
        self._stats: dict[str, _LayerStats] = {}

    def _refresh_layers(self) -> None:
        """Find the parameter-owning layers; a Keras model built by its first batch has none
        before it, so this runs again at the sampled batches until it finds them."""
        if self._layers or self.model is None:
            return
        self._layers = _param_layers(self.model)
        self._last_layer = self._layers[-1][0] if self._layers else None
        for n, _, _ in self._layers:
            self._history.setdefault(n, {})
            self._grads.setdefault(n, [])
            self._ratios.setdefault(n, [])

    def on_train_batch_begin(self, batch, logs=None):
        if batch not in self._sampled:
            return
        self._refresh_layers()
        with no_grad():
            # Kernels only: a zero-initialized bias has no meaningful ratio.
            self._before = {
                n: [(p, _array(p).copy()) for p in params if p.ndim >= 2]
                for n, _, params in self._layers
            }
        self._install_hooks()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            loss = float(loss)
            if self._first_loss is None:
                self._first_loss = loss
            if self._nan_at is None and not math.isfinite(loss):
                self._nan_at = (self._epoch, batch)
        if batch not in self._sampled or self._before is None:
            return
        self._remove_hooks()
        self._refresh_layers()
        for name, value in _grad_norms(self._layers).items():
            self._grads[name].append(value)
        for name, pairs in self._before.items():
            num = sum(_sq(_array(p) - old) for p, old in pairs)
            den = sum(_sq(old) for _, old in pairs)
            if pairs and den > 0:
                self._ratios[name].append(math.sqrt(num / den))
        self._before = None
        if not self._data_checked:
            self._data_checked = True
            self._data_findings = self._check_data()

    def on_epoch_end(self, epoch, logs=None):
        self._epochs.append(epoch)
        self._epoch_logs.append({k: float(v) for k, v in (logs or {}).items() if _num(v)})
        for name, _, _ in self._layers:
            h = self._history[name]
            g, r = self._grads.get(name, []), self._ratios.get(name, [])
            h.setdefault("grad_norm", []).append(float(np.mean(g)) if g else None)
            h.setdefault("update_ratio", []).append(float(np.mean(r)) if r else None)
        n = len(self._epochs)
        for name in self._kinds:
            h = self._history.setdefault(name, {})
            s = self._stats.get(name)
            dead = None if s is None or s.alive is None else float(1.0 - s.alive.mean())
            sat = float(np.mean(s.saturated)) if s is not None and s.saturated else None
            mean = float(np.mean(s.mean)) if s is not None and s.mean else None
            std = float(np.mean(s.std)) if s is not None and s.std else None
            values = (dead, sat, mean, std)
            keys = ("dead_fraction", "saturated_fraction", "activation_mean", "activation_std")
            for key, value in zip(keys, values):
                # Padded with None for epochs before the layer was first seen.
                column = h.setdefault(key, [])
                column.extend([None] * (n - 1 - len(column)))
                column.append(value)

    def on_train_end(self, logs=None):
        self._remove_hooks()
        self.diagnosis = self._diagnose()
        self.report = {
            "findings": self.diagnosis,
            "epochs": list(self._epochs),
            "logs": self._epoch_logs,
            "layers": self._history,
            "activations": dict(self._kinds),
        }
        history = getattr(self.model, "history", None)
        if history is not None:
            history.diagnosis = self.diagnosis
        if self.path:
            from nerve.files import atomic_write_bytes

            text = json.dumps(self.report, indent=2, default=float)
            atomic_write_bytes(str(self.path), text.encode("utf-8"))
        if self.verbose:
            print(format_findings(self.diagnosis), flush=True)

    # ------------------------------------------------------------------ hand-written loops
    def watch(self, model, epochs: int | None = None, steps: int | None = None) -> Doctor:
        """Start watching ``model`` in a hand-written loop (the callback's on_train_begin).

        Args:
            model: the nn.Module or Keras-door model.
            epochs, steps: the run's epochs and batches per epoch (``steps`` spreads the sampled
                batches over the epoch; without it the first ``sample_batches`` are watched).

        Returns:
            self, for ``with doctor.batch(i): ...``, ``end_epoch`` and ``finish``.
        """
        self.set_model(model)
        self.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
        self.on_train_begin()
        self.on_epoch_begin(0)
        return self

    @contextlib.contextmanager
    def batch(self, index: int):
        """Wrap one step (forward, backward, optimizer step) of a hand-written loop.

        Call ``doctor.loss(loss)`` inside the block so that the loss is watched too::

            with doctor.batch(i):
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                doctor.loss(loss)

        Args:
            index: the batch's index in the epoch.
        """
        self._step_loss = []
        self.on_train_batch_begin(index)
        try:
            yield self
        finally:
            value = self._step_loss[-1] if self._step_loss else None
            logs = {} if value is None else {"loss": float(_array(value))}
            self.on_train_batch_end(index, logs)

    def loss(self, value) -> None:
        """Record the current step's loss (inside ``with doctor.batch(i):``)."""
        self._step_loss.append(value)

    def end_epoch(self, epoch: int, logs: dict | None = None) -> None:
        """Close an epoch of a hand-written loop; ``logs`` as fit's (``loss``, ``val_loss``...)."""
        self.on_epoch_end(epoch, logs)
        self.on_epoch_begin(epoch + 1)

    def finish(self) -> list[dict]:
        """End the run: diagnose, print (when verbose), write the JSON; returns the findings."""
        self.on_train_end()
        return self.diagnosis

    # ------------------------------------------------------------------ internals
    def _install_hooks(self) -> None:
        self._remove_hooks()
        for path, m in self.model.named_modules():
            if m is self.model:
                continue
            kind = _kind(m)
            owns = any(True for _ in m.named_parameters(recurse=False))
            if kind is None and not owns:
                continue
            name = _name(path, m)
            self._kinds[name] = kind
            self._hooks.append(m.register_forward_hook(self._hook(name, kind, m)))
        if not self._data_checked:
            self._hooks.append(self.model.register_forward_hook(self._root_hook))

    def _remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    def _root_hook(self, module, args, out):
        x = args[0] if args else None
        if self._x is None and x is not None and not isinstance(x, (dict, list, tuple)):
            self._first_inputs = _array(x)
        first = out[0] if isinstance(out, (list, tuple)) else out
        if hasattr(first, "shape") and len(first.shape) >= 2:
            self._num_outputs = int(first.shape[-1])

    def _hook(self, name: str, kind: str | None, module):
        # Keras layers are channels-last; a plain nn.Module's conv output is (N, C, ...).
        axis = 1 if (not isinstance(module, Layer) and kind is not None) else -1

        def hook(mod, args, out):
            a = _array(out) if hasattr(out, "shape") else None
            if a is None or a.size == 0 or not np.issubdtype(a.dtype, np.floating):
                return
            s = self._stats.setdefault(name, _LayerStats())
            s.mean.append(float(a.mean()))
            s.std.append(float(a.std()))
            if kind == "relu":
                ax = axis if a.ndim > 2 else -1
                others = tuple(i for i in range(a.ndim) if i != ax % a.ndim)
                alive = (a > 0).any(axis=others)
                s.alive = alive if s.alive is None else (s.alive | alive)
            elif kind == "sigmoid":
                s.saturated.append(float(((a < 0.01) | (a > 0.99)).mean()))
            elif kind == "tanh":
                s.saturated.append(float((np.abs(a) > 0.99).mean()))

        return hook

    def _check_data(self) -> list[dict]:
        if self._x is not None:
            return check_data(self._x, self._y, self._val, num_outputs=self._num_outputs)
        x = getattr(self, "_first_inputs", None)
        self._first_inputs = None
        return [] if x is None else check_inputs(x)


def _num(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
