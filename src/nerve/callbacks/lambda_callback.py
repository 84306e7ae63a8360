"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

from nerve.callbacks.base import Callback

_HOOKS = frozenset(
    name for name in vars(Callback) if name.startswith("on_") and callable(vars(Callback)[name])
)


class LambdaCallback(Callback):
    """Run the given functions at the matching hooks.

    Each function takes the hook's arguments, positionally: ``on_epoch_begin(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_batch_end(batch, logs)`` and so on.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin,
        on_train_batch_end: functions for those hooks.
        **kwargs: functions for any other hook, by its name (``on_test_end=...``).

    Raises:
        TypeError: a keyword that is not a hook's name, or a value that is not callable.

    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    >>> cb.on_epoch_end(2, {"loss": 0.5})
    2 0.5
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        unknown = sorted(set(kwargs) - _HOOKS)
        if unknown:
            raise TypeError(
                f"LambdaCallback: {unknown} are not callback hooks; the hooks are {sorted(_HOOKS)}"
            )
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got {type(fn).__name__}")
            # An instance attribute shadows the no-op method of the same name.
            setattr(self, name, fn)
