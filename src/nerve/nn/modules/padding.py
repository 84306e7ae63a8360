"""Padding modules: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad (1-d, 2-d,
3-d), each one F.pad call with torch's (left, right, top, bottom, front, back) order."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.module import Module


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        n = 2 * self._dims
        pads = (padding,) * n if isinstance(padding, int) else tuple(padding)
        if len(pads) != n or not all(isinstance(p, int) for p in pads):
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, "
                f"got {padding!r}"
            )
        self.padding, self.value = pads, value

    def forward(self, x):
        if x.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(
                f"{type(self).__name__} expects a {self._dims + 1}-d or {self._dims + 2}-d "
                f"input, got shape {tuple(x.shape)}"
            )
        value = self.value if self._mode == "constant" else None
        return F.pad(x, self.padding, self._mode, value)

    def extra_repr(self) -> str:
        if self._mode == "constant" and not isinstance(self, _ZeroPad):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class _ZeroPad(_PadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad1d(_ZeroPad):
    """Pad the last dim of (N, C, W) or (C, W) with zeros."""


class ZeroPad2d(_ZeroPad):
    """Pad the last two dims of (N, C, H, W) or (C, H, W) with zeros."""

    _dims = 2


class ZeroPad3d(_ZeroPad):
    """Pad the last three dims of (N, C, D, H, W) or (C, D, H, W) with zeros."""

    _dims = 3


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``."""


class ConstantPad2d(_PadNd):
    """Pad the last two dims with ``value``."""

    _dims = 2


class ConstantPad3d(_PadNd):
    """Pad the last three dims with ``value``."""

    _dims = 3


class _ModePad(_PadNd):
    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad1d(_ModePad):
    """Mirror the last dim at its edges (the edge itself not repeated)."""

    _mode = "reflect"


class ReflectionPad2d(_ModePad):
    """Mirror the last two dims at their edges."""

    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_ModePad):
    """Mirror the last three dims at their edges."""

    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_ModePad):
    """Repeat the edge values of the last dim."""

    _mode = "replicate"


class ReplicationPad2d(_ModePad):
    """Repeat the edge values of the last two dims."""

    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_ModePad):
    """Repeat the edge values of the last three dims."""

    _dims, _mode = 3, "replicate"


class CircularPad1d(_ModePad):
    """Wrap the last dim around."""

    _mode = "circular"


class CircularPad2d(_ModePad):
    """Wrap the last two dims around."""

    _dims, _mode = 2, "circular"


class CircularPad3d(_ModePad):
    """Wrap the last three dims around."""

    _dims, _mode = 3, "circular"
