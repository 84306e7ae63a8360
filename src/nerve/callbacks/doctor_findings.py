"""The Doctor's rules: how the numbers it gathered become findings, each with its remedy.

Loss rules (NaN, diverging, a plateau from the first epoch, too little progress, overfitting),
gradient rules (non-finite, vanishing against the last layer, growing over the epochs), unit rules
(dead ReLUs, saturated sigmoid/tanh outputs) and update-to-weight ratios far from 1e-3.
``DoctorFindings`` is a base class of :class:`nerve.callbacks.doctor.Doctor` (import Doctor and
diagnose_step from there); its methods read the per-epoch history the Doctor keeps.
"""

from __future__ import annotations

import math

from nerve.data.checks import _layers_text, _range_text, finding

_INIT_REMEDY = "use He (ReLU) or Xavier (sigmoid/tanh) initialization, BatchNorm or residual "
_INIT_REMEDY += "connections"


def _gradient_findings(norms: dict, vanishing_ratio: float, floor: float, skip=(), epoch=None):
    """Non-finite and vanishing gradients among per-layer norms (ordered input to output)."""
    found = []
    bad = [n for n, v in norms.items() if not math.isfinite(v)]
    if bad:
        found.append(
            finding(
                "nonfinite_gradients",
                f"The gradients of layer(s) {', '.join(repr(b) for b in bad[:3])} are NaN or "
                "infinite" + (f" (epoch {epoch + 1})" if epoch is not None else ""),
                "lower the learning rate and clip gradients (clipnorm=1.0)",
                layer=bad[0],
                epoch=epoch,
            )
        )
        return found
    names = list(norms)
    if len(names) < 2:
        return found
    last = norms[names[-1]]
    if last == 0:
        return found  # no gradient anywhere (a saturated output): not a vanishing depth
    worst, worst_ratio = None, math.inf
    for n in names[:-1]:
        if n in skip:
            continue
        ratio = norms[n] / last if last > 0 else math.inf
        if norms[n] < floor:
            ratio = min(ratio, 0.0)
        if ratio < worst_ratio:
            worst, worst_ratio = n, ratio
    if worst is not None and (worst_ratio < vanishing_ratio or norms[worst] < floor):
        found.append(
            finding(
                "vanishing_gradients",
                f"Vanishing gradients: layer {worst!r} has gradient norm {norms[worst]:.2e}, "
                f"{_times(norms[worst], last)} the last layer's ({names[-1]!r}: {last:.2e})"
                + (f" at epoch {epoch + 1}" if epoch is not None else ""),
                _INIT_REMEDY,
                layer=worst,
                epoch=epoch,
                evidence={"grad_norm": norms[worst], "last_layer_grad_norm": last},
            )
        )
    return found


def _times(a: float, b: float) -> str:
    if b <= 0 or a <= 0:
        return "far below"
    return f"1e{math.log10(a / b):.0f} times"


class DoctorFindings:
    """The findings of a Doctor's run (a base class of Doctor, not used alone)."""

    def _diagnose(self) -> list[dict]:
        found = list(self._data_findings)
        losses = self._loss_findings()
        return found + losses + self._layer_findings(losses)

    def _loss_findings(self) -> list[dict]:
        logs = self._epoch_logs
        losses = [e["loss"] for e in logs if "loss" in e]
        if self._nan_at is not None or any(not math.isfinite(v) for v in losses):
            epoch, batch = self._nan_at or (self._epochs[0], 0)
            return [
                finding(
                    "nan_loss",
                    f"The loss became NaN or infinite at epoch {epoch + 1}, batch {batch} (first "
                    f"batch loss {self._first_loss:.4g})",
                    "lower the learning rate and clip gradients (clipnorm=1.0), and check the "
                    "inputs for NaN",
                    epoch=epoch,
                )
            ]
        if not losses or self._first_loss is None:
            return []
        first = self._first_loss
        found = []
        if losses[-1] > 1.5 * first or max(losses) > 10 * first:
            return [
                finding(
                    "diverging_loss",
                    f"The loss diverges: {first:.4g} on the first batch, {max(losses):.4g} at "
                    f"worst and {losses[-1]:.4g} at the last epoch",
                    "lower the learning rate (by 10x) and clip gradients",
                    evidence={"first_batch": first, "epochs": losses},
                )
            ]
        if len(losses) >= 2 and first > 0:
            drop = (first - min(losses)) / first
            if drop < 0.01:
                found.append(
                    finding(
                        "loss_plateau",
                        f"The loss is flat from the first epoch: {first:.4g} on the first batch "
                        f"and {losses[-1]:.4g} after {len(losses)} epochs ({100 * abs(drop):.2f}% "
                        + ("lower)" if drop >= 0 else "higher)"),
                        "check for vanishing gradients and dead units, use He or Xavier "
                        "initialization, BatchNorm, or a higher learning rate",
                        evidence={"first_batch": first, "epochs": losses},
                    )
                )
            elif drop < 0.1:
                found.append(
                    finding(
                        "underfitting",
                        f"Training makes little progress: the loss fell only {100 * drop:.1f}% "
                        f"({first:.4g} to {min(losses):.4g}) in {len(losses)} epochs",
                        "train longer, raise the learning rate or use a bigger model",
                        evidence={"first_batch": first, "epochs": losses},
                    )
                )
        val = [e.get("val_loss") for e in logs]
        if len(losses) >= 2 and val[-1] is not None and math.isfinite(val[-1]):
            gap = val[-1] - losses[-1]
            best = min(v for v in val if v is not None)
            rising = val[-1] > 1.2 * best and losses[-1] < losses[0]
            if (val[-1] > 1.5 * losses[-1] and gap > 0.1) or rising:
                acc = _accuracy_gap(logs[-1])
                found.append(
                    finding(
                        "overfitting",
                        f"The model overfits: validation loss {val[-1]:.4g} against training "
                        f"loss {losses[-1]:.4g} at the last epoch (best validation loss "
                        f"{best:.4g}){acc}",
                        "add dropout or L2 regularization, get more data or augment it, or stop "
                        "earlier (EarlyStopping)",
                        evidence={"loss": losses, "val_loss": val},
                    )
                )
        return found

    def _layer_findings(self, loss_findings: list[dict]) -> list[dict]:
        found = []
        # A diverged run has zero or meaningless gradients: the loss finding names the cause.
        diverged = any(f["check"] in ("nan_loss", "diverging_loss") for f in loss_findings)
        if not self._epochs:
            return found
        last = -1
        dead_layers = set()
        for name, h in self._history.items():
            dead = (h.get("dead_fraction") or [None])[last]
            if dead is not None and dead > self.dead_fraction:
                dead_layers.add(name)
                found.append(
                    finding(
                        "dead_relu",
                        f"Layer {name!r}: {100 * dead:.0f}% of its ReLU units are dead (never "
                        f"positive on the sampled batches of epoch {self._epochs[last] + 1})",
                        "use He initialization, a lower learning rate, zero or small positive "
                        "biases, or LeakyReLU",
                        layer=name,
                        evidence={"dead_fraction": dead},
                    )
                )
            sat = (h.get("saturated_fraction") or [None])[last]
            if sat is not None and sat > self.saturated_fraction and name != self._last_layer:
                found.append(
                    finding(
                        "saturated_units",
                        f"Layer {name!r}: {100 * sat:.0f}% of its {self._kinds.get(name)} outputs "
                        "are saturated (within 0.01 of their bounds), so their gradients vanish",
                        "use Xavier initialization, BatchNorm, a lower learning rate, or ReLU",
                        layer=name,
                        evidence={"saturated_fraction": sat},
                    )
                )
        norms_by_epoch = [
            {n: h["grad_norm"][i] for n, h in self._history.items() if h.get("grad_norm")}
            for i in range(len(self._epochs))
        ]
        norms = {n: v for n, v in norms_by_epoch[last].items() if v is not None}
        grads = _gradient_findings(
            norms, self.vanishing_ratio, self.grad_floor, dead_layers, self._epochs[last]
        )
        if diverged:
            grads = [f for f in grads if f["check"] == "nonfinite_gradients"]
        found += grads
        # Tiny updates are expected where the cause is already named.
        explained = diverged or grads or dead_layers
        totals = [
            math.sqrt(sum(v * v for v in e.values() if v is not None)) for e in norms_by_epoch
        ]
        growing = len(totals) >= 2 and all(map(math.isfinite, totals)) and totals[0] > 0
        if not grads and growing and totals[-1] > 100 * totals[0]:
            found.append(
                finding(
                    "exploding_gradients",
                    f"The gradients grow: total norm {totals[0]:.3g} at epoch "
                    f"{self._epochs[0] + 1} and {totals[-1]:.3g} at epoch {self._epochs[-1] + 1}",
                    "clip gradients (clipnorm=1.0), lower the learning rate, or add BatchNorm",
                    evidence={"grad_norm": totals},
                )
            )
        low, high = self.update_ratio
        ratios = {
            n: (h.get("update_ratio") or [None])[last]
            for n, h in self._history.items()
            if n not in dead_layers
        }
        ratios = {n: r for n, r in ratios.items() if r is not None and math.isfinite(r)}
        too_high = {n: r for n, r in ratios.items() if r > high}
        too_low = {n: r for n, r in ratios.items() if r < low}
        if too_high:
            found.append(
                finding(
                    "update_ratio_high",
                    f"{_layers_text(too_high)}: the updates are {_range_text(too_high)} of the "
                    "weights per step, far above the ~1e-3 rule of thumb",
                    "lower the learning rate",
                    layer=next(iter(too_high)),
                    evidence={"update_ratio": too_high},
                )
            )
        if too_low and not explained:
            found.append(
                finding(
                    "update_ratio_low",
                    f"{_layers_text(too_low)}: the updates are {_range_text(too_low)} of the "
                    "weights per step, far below the ~1e-3 rule of thumb, so they barely learn",
                    "raise the learning rate",
                    layer=next(iter(too_low)),
                    evidence={"update_ratio": too_low},
                )
            )
        return found


def _accuracy_gap(logs: dict) -> str:
    for key in ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy"):
        if key in logs and f"val_{key}" in logs:
            return f", accuracy {logs[key]:.3f} against {logs[f'val_{key}']:.3f}"
    return ""
