"""How a Tensor prints: torch's layout (``tensor([1., 2.])``) and ``set_printoptions``."""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.device import CPU, to_device

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_options = dict(_DEFAULTS)
_PROFILES = {
    "default": _DEFAULTS,
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": np.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """Set how tensors print, as torch.set_printoptions.

    Args:
        precision: digits after the decimal point (4).
        threshold: above this many elements, print a summary (1000).
        edgeitems: items shown at each end of a summarized dimension (3).
        linewidth: characters per line (80).
        profile: "default", "short" or "full" (no summary); applied before the others.
        sci_mode: True or False forces scientific notation on or off; None decides.

    Raises:
        ValueError: an unknown profile.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}"
            )
        _options.update(_PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems}
    given["linewidth"] = linewidth
    _options.update({k: v for k, v in given.items() if v is not None})
    _options["sci_mode"] = sci_mode


def _float_mode(a: np.ndarray) -> dict:
    finite = np.abs(a[np.isfinite(a)])
    nonzero = finite[finite != 0]
    fractional = finite.size and np.any(finite != np.round(finite))
    wide = nonzero.size and (nonzero.max() >= 1e8 or nonzero.max() > 1e3 * nonzero.min())
    fmt = {}
    if fractional or wide:
        fmt["floatmode"] = "fixed"  # torch: 1.0000 beside 1.4142, 1.0000e+10
    if _options["sci_mode"] is not None:
        fmt["suppress"] = not _options["sci_mode"]
        if _options["sci_mode"]:
            p = _options["precision"]
            fmt["formatter"] = {"float_kind": lambda v: np.format_float_scientific(v, p, False)}
    return fmt


def tensor_repr(t) -> str:
    """``tensor([...])`` as torch prints it; the dtype is shown only when it is not the
    default one for its kind (the default float, int64, bool); a tensor on a GPU says so
    (``device='cuda:0'``) and is printed from a host copy."""
    a = t._data
    on_device = type(a) is not np.ndarray
    if on_device:
        a = to_device(a, CPU)
    fmt = _float_mode(a) if a.dtype.kind == "f" and a.size else {}
    if a.dtype.kind == "b" and a.size and a.all():
        fmt["formatter"] = {"bool": str}  # NumPy pads True to False's width even without one
    body = np.array2string(
        a,
        separator=", ",
        prefix="tensor(",
        precision=_options["precision"],
        threshold=_options["threshold"],
        edgeitems=_options["edgeitems"],
        max_line_width=_options["linewidth"],
        **fmt,
    )
    extra = ""
    if a.size == 0 and a.ndim != 1:
        extra += f", size={a.shape}"
    if on_device:
        extra += f", device='{t.device}'"
    if a.dtype not in (backend.get_default_dtype(), np.int64, np.bool_):
        extra += f", dtype=nerve.{a.dtype}"
    if t._node is not None:
        extra += f", grad_fn={t._node!r}"
    elif t.requires_grad:
        extra += ", requires_grad=True"
    return f"tensor({body}{extra})"
