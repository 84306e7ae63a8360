"""``nerve.amp``: torch.amp's names for mixed precision (``autocast``, ``GradScaler``).

The implementation is :mod:`nerve.autograd.amp`; this door only gives it torch's address.
"""

from nerve.autograd.amp import GradScaler, autocast, is_autocast_enabled

__all__ = ["GradScaler", "autocast", "is_autocast_enabled"]
