"""Data checks before training: the data half of the training doctor (pure NumPy).

``check_data`` looks at the arrays a model is about to be trained on and returns findings for the
classic data mistakes the tutorials warn about: inputs not scaled (0-255 images), constant
features, imbalanced labels, labels outside the model's output range and samples shared by the
training and validation sets. ``nerve.callbacks.Doctor`` runs it at the start of ``fit``.

A finding is a JSON-ready dict: ``check`` (a short id), ``message`` (one sentence: the evidence
and the remedy), ``remedy``, and optional ``layer``/``epoch``/``evidence``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_data", "check_inputs", "finding", "format_findings"]


def finding(check: str, message: str, remedy: str, **extra) -> dict:
    """One finding as a JSON-ready dict; ``message`` gets the remedy appended as one sentence.

    Args:
        check: a short id, e.g. ``"unscaled_inputs"``.
        message: the evidence, without the final period.
        remedy: what to do, lower case, without the final period.
        **extra: more fields (``layer``, ``epoch``, ``evidence``); None values are dropped.

    Returns:
        ``{"check", "message", "remedy", ...}``.
    """
    out = {"check": check, "message": f"{message}; {remedy}.", "remedy": remedy}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _array(a) -> np.ndarray | None:
    """A NumPy array from an array, a Tensor (its ``_data``) or a CuPy array; None stays None."""
    if a is None:
        return None
    a = getattr(a, "_data", a)
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        a = a.get()  # a CuPy array
    return np.asarray(a)


def check_inputs(x, max_abs: float = 10.0) -> list[dict]:
    """Findings about the inputs alone: not scaled (values far beyond [-1, 1]) or not finite.

    Args:
        x: the inputs (array or Tensor), any shape, samples first.
        max_abs: the largest magnitude taken as scaled.

    Returns:
        A list of findings (empty when the inputs look fine).
    """
    x = _array(x)
    if x is None or x.size == 0 or not np.issubdtype(x.dtype, np.number):
        return []
    xf = x.astype(np.float64, copy=False)
    finite = np.isfinite(xf)
    if not finite.all():
        bad = int(xf.size - finite.sum())
        return [
            finding(
                "nonfinite_inputs",
                f"The inputs hold {bad} NaN or infinite values out of {xf.size}",
                "remove or impute them before training",
                evidence={"count": bad},
            )
        ]
    lo, hi = float(xf.min()), float(xf.max())
    if max(abs(lo), abs(hi)) <= max_abs:
        return []
    mean, std = float(xf.mean()), float(xf.std())
    looks_8bit = lo >= 0 and hi <= 255 and hi > 1 and np.array_equal(xf, np.round(xf))
    remedy = (
        "divide them by 255 (or standardize them) so that they lie in [0, 1]"
        if looks_8bit
        else "standardize them (subtract the mean, divide by the standard deviation)"
    )
    what = "0-255 pixel values" if looks_8bit else "large values"
    return [
        finding(
            "unscaled_inputs",
            f"The inputs are not scaled: {what} from {lo:g} to {hi:g} (mean {mean:.3g}, std "
            f"{std:.3g})",
            remedy,
            evidence={"min": lo, "max": hi, "mean": mean, "std": std},
        )
    ]


def _class_labels(y: np.ndarray) -> np.ndarray | None:
    """Integer class labels from sparse labels or one-hot rows, or None for regression targets."""
    if y.ndim >= 2 and y.shape[-1] > 1:
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=-1) == 1).all()):
            return None  # not one-hot: soft labels or a multi-output regression
        return y.argmax(axis=-1).ravel()
    flat = y.reshape(len(y), -1)[:, 0] if y.ndim else y.ravel()
    if not np.issubdtype(flat.dtype, np.number) or not np.array_equal(flat, np.round(flat)):
        return None
    return flat.astype(np.int64)


def check_data(
    x,
    y=None,
    validation_data=None,
    num_outputs: int | None = None,
    max_abs: float = 10.0,
    imbalance_ratio: float = 10.0,
    duplicate_fraction: float = 0.01,
) -> list[dict]:
    """Check training data before training.

    Args:
        x: training inputs (array or Tensor), samples first.
        y: training targets: class indices, one-hot rows, or anything else (regression, which
            skips the label checks).
        validation_data: ``(x_val, y_val)`` or ``x_val``, for the overlap check.
        num_outputs: the model's output width, for the label-range check: class indices must
            lie in ``[0, num_outputs)`` (in ``{0, 1}`` for one output) and one-hot rows must be
            ``num_outputs`` wide.
        max_abs: inputs beyond this magnitude count as not scaled.
        imbalance_ratio: the largest ratio of the most to the least frequent class taken as
            balanced.
        duplicate_fraction: the fraction of validation samples also in the training set above
            which leakage is reported.

    Returns:
        A list of findings (dicts, see ``finding``); empty when nothing looks wrong.

    Raises:
        ValueError: ``x`` and ``y`` hold different numbers of samples.
    """
    x = _array(x)
    y = _array(y)
    if y is not None and x is not None and len(y) != len(x):
        raise ValueError(f"check_data: x holds {len(x)} samples but y holds {len(y)}")
    found = check_inputs(x, max_abs)
    if x is not None and x.ndim == 2 and len(x) > 1 and np.issubdtype(x.dtype, np.number):
        # Only for tabular data: image borders are constant by nature and harmless.
        const = np.flatnonzero(np.ptp(x, axis=0) == 0)
        if const.size:
            shown = ", ".join(str(int(i)) for i in const[:5]) + (", ..." if const.size > 5 else "")
            found.append(
                finding(
                    "constant_features",
                    f"{const.size} of {x.shape[1]} input features are constant over all "
                    f"{len(x)} samples (columns {shown})",
                    "drop them: they carry no information",
                    evidence={"columns": [int(i) for i in const]},
                )
            )
    labels = None if y is None or y.size == 0 else _class_labels(y)
    if labels is not None:
        found += _label_findings(y, labels, num_outputs, imbalance_ratio)
    if validation_data is not None and x is not None:
        xv = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
        found += _overlap(x, _array(xv), duplicate_fraction)
    return found


def _label_findings(y, labels, num_outputs, imbalance_ratio) -> list[dict]:
    found = []
    one_hot = y.ndim >= 2 and y.shape[-1] > 1
    if num_outputs is not None:
        if one_hot and y.shape[-1] != num_outputs:
            found.append(
                finding(
                    "labels_out_of_range",
                    f"The one-hot labels are {y.shape[-1]} wide but the model has {num_outputs} "
                    "outputs",
                    "make the last layer as wide as the number of classes",
                    evidence={"label_width": int(y.shape[-1]), "outputs": int(num_outputs)},
                )
            )
        elif not one_hot:
            top = 2 if num_outputs == 1 else num_outputs
            lo, hi = int(labels.min()), int(labels.max())
            if lo < 0 or hi >= top:
                found.append(
                    finding(
                        "labels_out_of_range",
                        f"The labels run from {lo} to {hi} but the model's {num_outputs} "
                        f"output(s) cover classes 0 to {top - 1}",
                        "give the last layer one unit per class (or remap the labels)",
                        evidence={"min": lo, "max": hi, "outputs": int(num_outputs)},
                    )
                )
    if labels.min() < 0:
        return found
    counts = np.bincount(labels)
    present = counts[counts > 0]
    # Many distinct values with few samples each are regression targets, not classes.
    if len(present) < 2 or len(present) > max(100, len(labels) // 10):
        return found
    ratio = float(present.max() / present.min())
    if ratio > imbalance_ratio:
        found.append(
            finding(
                "label_imbalance",
                f"The labels are imbalanced: class {int(counts.argmax())} has {int(present.max())} "
                f"samples but class {int(np.flatnonzero(counts == present.min())[0])} only "
                f"{int(present.min())} (ratio {ratio:.1f})",
                "pass class_weight to fit, resample the classes, or collect more data for the "
                "rare ones",
                evidence={"counts": [int(c) for c in counts]},
            )
        )
    return found


def _overlap(x, xv, fraction) -> list[dict]:
    if xv is None or xv.size == 0 or x.shape[1:] != xv.shape[1:]:
        return []
    # Hash each sample's bytes: exact duplicates, in O(n) memory.
    xc = np.ascontiguousarray(x).reshape(len(x), -1)
    train = {row.tobytes() for row in xc}
    xvc = np.ascontiguousarray(xv.astype(x.dtype, copy=False)).reshape(len(xv), -1)
    shared = sum(row.tobytes() in train for row in xvc)
    if shared == 0 or shared / len(xv) <= fraction:
        return []
    return [
        finding(
            "train_validation_overlap",
            f"{shared} of the {len(xv)} validation samples ({100 * shared / len(xv):.1f}%) are "
            "also in the training set, so the validation score overstates the model",
            "remove the duplicates from one of the two sets",
            evidence={"shared": int(shared), "validation": int(len(xv))},
        )
    ]


def format_findings(findings: list[dict]) -> str:
    """The findings as the text ``fit`` prints: a header line, then one line per finding."""
    if not findings:
        return "Doctor: no findings."
    lines = [f"Doctor: {len(findings)} finding(s):"]
    lines += [f"- [{f['check']}] {f['message']}" for f in findings]
    return "\n".join(lines)


def _layers_text(values: dict) -> str:
    names = [repr(n) for n in values]
    if len(names) == 1:
        return f"Layer {names[0]}"
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"Layers {shown}"


def _range_text(values: dict) -> str:
    lo, hi = min(values.values()), max(values.values())
    return f"{lo:.2e}" if lo == hi else f"{lo:.2e} to {hi:.2e}"
