"""save_model / load_model (the .nerve file), weights files, and state_dict files.

A ``.nerve`` file is a zip (see :mod:`nerve.saving.archive`) holding

- ``config.json``: the architecture (:mod:`nerve.saving.model_config`), the compile state
  (:mod:`nerve.saving.compile_state`) and the state of nerve's random generator;
- ``model.weights.safetensors``: the state_dict;
- ``optimizer.safetensors``: the optimizer's state arrays, when the model is compiled;
- ``metadata.json``: format, versions, and the size and SHA-256 of every other member.

Weights alone go to a ``.weights.safetensors`` file, a plain safetensors file whose metadata
carries the format and the SHA-256 of the tensor bytes; ``nerve.save``/``nerve.load`` write
and read the same format for any ``state_dict``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections import OrderedDict

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor
from nerve.saving import archive, compile_state, model_config
from nerve.saving import safetensors_io as st
from nerve.saving.safetensors_io import NerveFileError

CONFIG, WEIGHTS, OPTIMIZER = "config.json", "model.weights.safetensors", "optimizer.safetensors"
STATE_FORMAT = "nerve.state_dict"
STATE_FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".weights.safetensors"


def _version() -> str:
    import nerve

    return nerve.__version__


def _json_default(value):
    # NumPy scalars and small arrays turn up in configs (a float32 hyperparameter, say).
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.tolist()
    raise TypeError(f"a value of type {type(value).__name__} ({value!r}) cannot go into JSON")


def to_json(value) -> bytes:
    return json.dumps(value, default=_json_default).encode()


def _check_target(filepath, suffix: str, what: str, overwrite: bool) -> str:
    path = os.fspath(filepath)
    if not path.endswith(suffix):
        raise ValueError(f"{what}: the file name must end in {suffix!r}, got {path!r}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{what}: {path!r} exists and overwrite=False")
    return path


# ---------------------------------------------------------------------------- whole models
def save_model(model, filepath, overwrite: bool = True) -> None:
    """Write ``model`` to a ``.nerve`` file: architecture, weights, compile and optimizer state.

    The write is atomic: a temp file beside ``filepath`` is fsynced, then renamed over it, so
    a crash leaves the previous file whole. A compiled model whose loss, metric or optimizer
    cannot be named in a file is saved uncompiled, with a warning.

    Args:
        model: a Sequential, functional, or registered subclassed Model.
        filepath: the file to write; its name must end in ``.nerve``.
        overwrite: replace an existing file (else FileExistsError).

    Raises:
        TypeError: a layer class is neither nerve's nor registered (see
            :func:`~nerve.saving.register_serializable`), or the model came from Model.from_module.

    >>> import os, tempfile, numpy as np
    >>> import nerve
    >>> from nerve import layers, models
    >>> model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.nerve")
    >>> model.save(path)
    >>> again = nerve.load_model(path)
    >>> bool(np.array_equal(again.predict(np.ones((1, 3)), verbose=0),
    ...                     model.predict(np.ones((1, 3)), verbose=0)))
    True
    """
    path = _check_target(filepath, ".nerve", "save_model", overwrite)
    config = {"model": model_config.serialize_layer(model), "compile": None}
    members = {WEIGHTS: st.encode(model.state_dict())}
    if getattr(model, "compiled", False):
        try:
            spec, arrays = compile_state.serialize_compile(model)
            try:
                to_json(spec)
            except (TypeError, ValueError) as exc:
                raise compile_state.UnserializableError(str(exc)) from None
            config["compile"] = spec
            members[OPTIMIZER] = st.encode(arrays)
        except compile_state.UnserializableError as exc:
            warnings.warn(
                f"save_model: {path!r} is saved without its compile state ({exc}); call "
                "compile() again after loading",
                stacklevel=2,
            )
    config["rng_state"] = backend.rng().bit_generator.state
    members[CONFIG] = to_json(config)
    info = {
        "nerve_version": _version(),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    archive.write_archive(path, members, info)


def load_model(
    filepath,
    custom_objects: dict | None = None,
    compile: bool = True,  # noqa: A002  (Keras's name)
    restore_rng: bool = False,
):
    """Read a model written by :func:`save_model` (or ``model.save``).

    Opening a file never runs code from it: classes are looked up by name among nerve's own
    and those registered with :func:`~nerve.saving.register_serializable` or given in
    ``custom_objects``. Loading leaves nerve's random generator as it was, unless
    ``restore_rng``.

    Args:
        filepath: a ``.nerve`` file.
        custom_objects: ``{name: class or function}`` for custom layers, losses, metrics.
        compile: compile the model as it was saved and restore the optimizer's state.
        restore_rng: set nerve's random generator to its state at save time, so that resuming
            ``fit(..., initial_epoch=e)`` shuffles and draws dropout masks exactly as an
            uninterrupted run would have.

    Raises:
        NerveFileError: the file is truncated, damaged, modified, of another format or a newer
            version, or describes a model that cannot be rebuilt (the message says which).
    """
    path = os.fspath(filepath)
    meta, members = archive.read_archive(path)
    where = f"cannot load {path!r}"
    if CONFIG not in members or WEIGHTS not in members:
        raise NerveFileError(f"{where}: it holds no {CONFIG} or no {WEIGHTS}")
    try:
        config = json.loads(members[CONFIG])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise NerveFileError(f"{where}: {CONFIG} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise NerveFileError(f"{where}: {CONFIG} has no model entry")
    weights = st.decode(members[WEIGHTS], f"{path}:{WEIGHTS}")
    optimizer_arrays = (
        st.decode(members[OPTIMIZER], f"{path}:{OPTIMIZER}") if OPTIMIZER in members else {}
    )
    generator = backend.rng().bit_generator
    before = generator.state  # building layers draws initial weights: put the stream back
    try:
        model = model_config.deserialize_layer(config["model"], custom_objects)
        model.load_state_dict(weights)
        if compile and config.get("compile"):
            compile_state.compile_from(model, config["compile"], optimizer_arrays, custom_objects)
        generator.state = before
        if restore_rng:
            generator.state = config["rng_state"]
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RecursionError,
        MemoryError,  # a config claiming layers too large to build
    ) as exc:
        generator.state = before
        if isinstance(exc, NerveFileError):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        if isinstance(exc, MemoryError):
            message = f"the model it describes does not fit in memory ({exc})"
        raise NerveFileError(f"{where}: {message}") from exc
    return model


# ---------------------------------------------------------------------------- state dicts
def _plain_arrays(state_dict, what: str) -> OrderedDict:
    if not isinstance(state_dict, dict):
        raise TypeError(
            f"{what}: expected a dict of name -> array (a state_dict), got "
            f"{type(state_dict).__name__}"
        )
    out = OrderedDict()
    for key, value in state_dict.items():
        if isinstance(value, Tensor):
            value = value.data
        if not isinstance(value, (np.ndarray, np.generic, int, float, bool)):
            raise TypeError(
                f"{what}: {key!r} holds a {type(value).__name__}; a state_dict file stores a flat "
                "{name: array} dict"
            )
        out[key] = np.asarray(value)
    return out


def save(state_dict: dict, filepath) -> None:
    """Write a ``state_dict`` (``{name: array or Tensor}``) to a safetensors file, atomically.

    PyTorch's ``torch.save(model.state_dict(), path)`` for nerve, without pickle: the file is
    plain safetensors, readable by any safetensors library; its metadata records the format and
    the SHA-256 of the tensor bytes, which :func:`load` checks.

    >>> import os, tempfile
    >>> import nerve
    >>> from nerve import nn
    >>> net = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.safetensors")
    >>> nerve.save(net.state_dict(), path)
    >>> sorted(nerve.load(path))
    ['bias', 'weight']
    """
    arrays = _plain_arrays(state_dict, "nerve.save")
    meta = {
        "format": STATE_FORMAT,
        "format_version": str(STATE_FORMAT_VERSION),
        "nerve_version": _version(),
    }
    data = st.encode(arrays, meta)
    _, start = st.read_header(data, "nerve.save")
    # The tensor bytes do not depend on the header, so their hash can go into the header.
    data = st.encode(arrays, {**meta, "sha256": hashlib.sha256(data[start:]).hexdigest()})
    archive.atomic_write(os.fspath(filepath), lambda f: f.write(data))


def load(filepath) -> OrderedDict:
    """Read a file written by :func:`save` (or ``save_weights``): ``{name: NumPy array}``, in
    the order they were saved; ``module.load_state_dict`` takes it as is.

    Raises:
        NerveFileError: the file is truncated, modified, or not a nerve state_dict file.
    """
    path = os.fspath(filepath)
    where = f"cannot load {path!r}"
    with open(path, "rb") as f:
        data = f.read()
    header, start = st.read_header(data, where)
    meta = header.get("__metadata__", {})
    if meta.get("format") != STATE_FORMAT:
        raise NerveFileError(
            f"{where}: not a nerve state_dict file (format {meta.get('format')!r})"
        )
    version = meta.get("format_version", "")
    if not version.isdigit() or int(version) > STATE_FORMAT_VERSION:
        raise NerveFileError(
            f"{where}: format version {version!r}; this nerve reads up to {STATE_FORMAT_VERSION}"
        )
    if meta.get("sha256") != hashlib.sha256(data[start:]).hexdigest():
        raise NerveFileError(
            f"{where}: the tensor data fails its SHA-256 check; the file was modified or damaged"
        )
    return OrderedDict(st.decode(data, where))


# ---------------------------------------------------------------------------- model weights
def save_weights(model, filepath, overwrite: bool = True) -> None:
    """``model.save_weights``: the state_dict to a ``.weights.safetensors`` file (see :func:`save`).

    The suffix is required, as Keras 3 requires ``.weights.h5``: a weights file must not be
    mistaken for a whole-model ``.nerve`` file, nor written over one.
    """
    path = _check_target(filepath, WEIGHTS_SUFFIX, f"save_weights of {model.name!r}", overwrite)
    save(model.state_dict(), path)


def load_weights(model, filepath) -> None:
    """``model.load_weights`` from a ``.weights.safetensors`` file, the weights of a ``.nerve``
    file, or an ``.npz`` written by nerve before the safetensors format (arrays only)."""
    path = os.fspath(filepath)
    if path.endswith(".nerve"):
        _, members = archive.read_archive(path)
        if WEIGHTS not in members:
            raise NerveFileError(f"cannot load {path!r}: it holds no {WEIGHTS}")
        state = st.decode(members[WEIGHTS], f"{path}:{WEIGHTS}")
    elif path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as npz:
                state = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise NerveFileError(
                f"cannot load {path!r}: not a readable .npz weights file ({exc})"
            ) from None
    else:
        state = load(path)
    own = model.state_dict()
    if set(state) != set(own) and [np.shape(v) for v in state.values()] == [
        v.shape for v in own.values()
    ]:
        # Layer names come from a per-session counter (dense_3 here, dense_7 in the next
        # session), so an identical architecture may name its weights differently: match them by
        # position, in the state_dict's structural order, as Keras matches by structure.
        state = dict(zip(own, state.values()))
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else exc
        raise ValueError(f"load_weights from {path!r}: {message}") from None
