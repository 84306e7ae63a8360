"""tf.train.Saver: the Variables' values of a session to a checkpoint file and back.

A checkpoint ``prefix`` is one safetensors file ``prefix.safetensors`` written by ``nerve.save``
(no pickle; atomic), keyed by Variable name, beside a ``checkpoint`` text file naming the latest
prefixes as TensorFlow's does, so that ``tf.train.latest_checkpoint(dir)`` finds it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from nerve import saving
from nerve.compat.v1.errors import InvalidArgumentError, NotFoundError
from nerve.compat.v1.variables import Variable, global_variables

__all__ = ["Saver", "latest_checkpoint"]

_SUFFIX = ".safetensors"


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Saver:
    """Saves and restores Variables (tf.train.Saver).

    Args:
        var_list: the Variables (default: all of the graph's, when the Saver is made), or a
            dict from checkpoint key to Variable.
        max_to_keep: how many recent checkpoints to keep (older files are deleted; None or 0
            keeps all).
        **unused: TensorFlow's other options (sharded, keep_checkpoint_every_n_hours, ...),
            accepted and ignored.

    Raises:
        ValueError: no Variables to save, or two Variables under one key.
        TypeError: an entry that is not a tf.Variable.
    """

    def __init__(self, var_list=None, max_to_keep=5, **unused):
        if var_list is None:
            var_list = global_variables()
        items = var_list.items() if isinstance(var_list, dict) else [(None, v) for v in var_list]
        self._vars: dict = {}
        for key, var in items:
            if not isinstance(var, Variable):
                raise TypeError(f"Saver: {var!r} is not a tf.Variable")
            key = var.op_name if key is None else str(key)
            if key in self._vars:
                raise ValueError(f"Saver: two Variables are saved under the name {key!r}")
            self._vars[key] = var
        if not self._vars:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._kept: list = []

    def save(self, sess, save_path, global_step=None, latest_filename=None, **unused) -> str:
        """Write the Variables' values in ``sess`` to ``save_path`` (``-step`` appended).

        Args:
            sess: the session holding the values.
            save_path: the checkpoint prefix, e.g. ``'ckpt/model'``.
            global_step: an int or a Variable whose value is appended to the prefix.
            latest_filename: the state file's name (default ``'checkpoint'``).

        Returns:
            The prefix written (pass it to ``restore``).

        Raises:
            tf.errors.FailedPreconditionError: a Variable is not initialized in ``sess``.
        """
        prefix = str(save_path)
        if global_step is not None:
            step = sess.run(global_step) if isinstance(global_step, Variable) else global_step
            prefix = f"{prefix}-{int(step)}"
        arrays = {key: np.array(sess._variable(v)._data) for key, v in self._vars.items()}
        path = Path(prefix + _SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        saving.save(arrays, str(path))
        if prefix in self._kept:
            self._kept.remove(prefix)
        self._kept.append(prefix)
        if self._max_to_keep and len(self._kept) > self._max_to_keep:
            for old in self._kept[: -self._max_to_keep]:
                Path(old + _SUFFIX).unlink(missing_ok=True)
            self._kept = self._kept[-self._max_to_keep :]
        names = [os.path.basename(p) for p in self._kept]
        text = f'model_checkpoint_path: "{names[-1]}"\n' + "".join(
            f'all_model_checkpoint_paths: "{n}"\n' for n in names
        )
        _write_text(path.parent / (latest_filename or "checkpoint"), text)
        return prefix

    def restore(self, sess, save_path) -> None:
        """Set the Variables in ``sess`` to the values saved at ``save_path`` (a prefix).

        Raises:
            ValueError: save_path is None (e.g. latest_checkpoint found nothing).
            tf.errors.NotFoundError: the file is missing, or lacks a Variable's key.
            tf.errors.InvalidArgumentError: a saved value has another shape than its Variable.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        path = Path(str(save_path) + _SUFFIX)
        if not path.is_file():
            raise NotFoundError(f"Saver.restore: no checkpoint at {save_path} ({path} is missing)")
        arrays = saving.load(str(path))
        for key, var in self._vars.items():
            if key not in arrays:
                raise NotFoundError(f"Key {key} not found in checkpoint {save_path}", node=var)
            value = np.asarray(arrays[key])
            if not var.shape.is_compatible_with(value.shape):
                raise InvalidArgumentError(
                    f"Saver.restore: {key} has shape {value.shape} in {save_path} but the "
                    f"Variable's shape is {var.shape}",
                    node=var,
                )
            sess._assign(var, value.astype(var.dtype, copy=False))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint saved in ``checkpoint_dir``, or None."""
    directory = Path(checkpoint_dir)
    state = directory / (latest_filename or "checkpoint")
    if not state.is_file():
        return None
    match = re.search(r'^model_checkpoint_path: "([^"]*)"', state.read_text(), re.MULTILINE)
    if match is None:
        return None
    prefix = str(directory / match.group(1))
    return prefix if Path(prefix + _SUFFIX).is_file() else None
