"""tf.errors: the errors a Session raises, each naming the node it concerns.

Besides TensorFlow's own classes they also derive from the Python error a nerve user would
catch (InvalidArgumentError is a ValueError, FailedPreconditionError a RuntimeError).
"""

from __future__ import annotations

__all__ = ["FailedPreconditionError", "InvalidArgumentError", "NotFoundError", "OpError"]


class OpError(Exception):
    """An error while running a node; ``node`` (also ``op``) is that node, or None."""

    def __init__(self, message: str, node=None):
        super().__init__(message)
        self.message = message
        self.node = node
        self.op = node


class InvalidArgumentError(OpError, ValueError):
    """A node got a value it cannot take (an unfed placeholder, shapes that do not match)."""


class FailedPreconditionError(OpError, RuntimeError):
    """A node was run before what it needs (a Variable before its initializer)."""


class NotFoundError(OpError, LookupError):
    """Something to read is missing (a checkpoint file, a Variable's key in it)."""
