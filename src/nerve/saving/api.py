"""save_model / load_model (the .nerve file), weights files, and state_dict files.

A ``.nerve`` file is a zip (see :mod:`nerve.saving.archive`) holding

- ``config.json``: the architecture (:mod:`nerve.saving.model_config`), the compile state
  (:mod:`nerve.saving.compile_state`) and the state of nerve's random generator;
- ``model.weights.safetensors``: the state_dict;
- ``optimizer.safetensors``: the optimizer's state arrays, when the model is compiled;
- ``metadata.json``: format, versions, and the size and SHA-256 of every other member.

Weights alone go to a ``.weights.safetensors`` file, a plain safetensors file whose metadata
carries the format, the saved order of the names and a SHA-256 over the whole header (less
that checksum) and the tensor bytes; ``nerve.save``/``nerve.load`` write and read the same
format for any ``state_dict``, and ``nerve.load`` also reads PyTorch's ``torch.save`` files
(:mod:`nerve.saving.torch_format`) without unpickling code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
import zipfile
from collections import OrderedDict

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor
from nerve.backend import DEVICE_MODULES
from nerve.device import CPU, as_device, device, to_device, to_host
from nerve.nn.module import Module
from nerve.saving import archive, compile_state, keras_format, model_config, torch_format, tree
from nerve.saving import safetensors_io as st
from nerve.saving.safetensors_io import NerveFileError

CONFIG, WEIGHTS, OPTIMIZER = "config.json", "model.weights.safetensors", "optimizer.safetensors"
STATE_FORMAT = "nerve.state_dict"
STATE_FORMAT_VERSION = 2
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

    A name ending in ``.keras`` writes Keras 3's file instead, and ``.h5`` the legacy file
    Keras 3's ``model.save('x.h5')`` writes (:mod:`nerve.saving.keras_format`; they need h5py,
    ``pip install 'nerve[keras-files]'``, and hold Sequential and functional models of layers
    Keras has).

    Args:
        model: a Sequential, functional, or registered subclassed Model.
        filepath: the file to write; its name must end in ``.nerve`` (or ``.keras``, ``.h5``).
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
    path = os.fspath(filepath)
    if path.endswith((".weights.h5", WEIGHTS_SUFFIX)):
        raise ValueError(
            f"save_model: {path!r} names a weights file; use model.save_weights for it, or a "
            "model file name ending in .nerve, .keras or .h5"
        )
    if keras_format.is_keras_path(path):
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"save_model: {path!r} exists and overwrite=False")
        if path.endswith(".keras"):
            keras_format.save_keras(model, path)
        else:
            keras_format.save_legacy_h5(model, path)
        return
    if not path.endswith(".nerve"):
        raise ValueError(
            f"save_model: the file name must end in '.nerve' (nerve's format), '.keras' or "
            f"'.h5' (Keras's), got {path!r}"
        )
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
    safe_mode: bool = True,
):
    """Read a model written by :func:`save_model` (or ``model.save``), or a Keras file.

    Opening a file never runs code from it: classes are looked up by name among nerve's own
    and those registered with :func:`~nerve.saving.register_serializable` or given in
    ``custom_objects``. Loading leaves nerve's random generator as it was, unless
    ``restore_rng``.

    Args:
        filepath: a ``.nerve`` file, or Keras's ``.keras`` or legacy ``.h5`` file.
        custom_objects: ``{name: class or function}`` for custom layers, losses, metrics.
        compile: compile the model as it was saved and restore the optimizer's state.
        restore_rng: set nerve's random generator to its state at save time, so that resuming
            ``fit(..., initial_epoch=e)`` shuffles and draws dropout masks exactly as an
            uninterrupted run would have.
        safe_mode: Keras's switch for files holding code (a Lambda layer). nerve refuses such a
            file either way, since it never runs code from a file; the message says which.

    Raises:
        NerveFileError: the file is truncated, damaged, modified, of another format or a newer
            version, or describes a model that cannot be rebuilt (the message says which).
    """
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        return keras_format.load_keras(path, custom_objects, compile, safe_mode)
    if path.endswith(".weights.h5"):
        raise NerveFileError(
            f"cannot load {path!r} as a model: a .weights.h5 file holds weights only; build the "
            "model in code and call model.load_weights on it"
        )
    if path.endswith(".h5"):
        return keras_format.load_legacy_h5(path, custom_objects, compile, safe_mode)
    meta, members = archive.read_archive(path)
    where = f"cannot load {path!r}"
    if CONFIG not in members or WEIGHTS not in members:
        raise NerveFileError(f"{where}: it holds no {CONFIG} or no {WEIGHTS}")
    try:
        config = json.loads(members[CONFIG])
    # ValueError: not UTF-8, not JSON, or an integer of 4,300+ digits
    except (ValueError, RecursionError) as exc:
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
        largest = max((max(np.shape(w), default=1) for w in weights.values()), default=0)
        model_config.check_sizes(config["model"], largest)
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
        OverflowError,  # Infinity where an integer belongs
        NotImplementedError,  # an option nerve's layer does not support (LSTM stateful=True)
        MemoryError,  # a config claiming layers too large to build
    ) as exc:
        generator.state = before
        if isinstance(exc, NerveFileError):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        if isinstance(exc, NotImplementedError):
            message = f"the model uses an option this nerve does not support ({exc})"
        if isinstance(exc, MemoryError):
            message = f"the model it describes does not fit in memory ({exc})"
        raise NerveFileError(f"{where}: {message}") from exc
    return model


# ---------------------------------------------------------------------------- state dicts
_ARRAYS = (Tensor, np.ndarray, np.generic)


def _to_arrays(obj, what: str) -> tuple[OrderedDict, str | None]:
    """``({name: array}, structure JSON or None)``: a flat ``{name: array}`` dict (a
    state_dict) is stored as is; anything else (a checkpoint nesting dicts, lists, numbers)
    through :mod:`nerve.saving.tree`."""
    if isinstance(obj, Module):
        raise TypeError(
            f"{what}: cannot save a whole {type(obj).__name__}: nerve never pickles objects (a "
            f"pickle runs code when it is opened). Save its weights with "
            f"{what}(model.state_dict(), path), and load them into a model built in code with "
            "model.load_state_dict(nerve.load(path))"
        )
    if isinstance(obj, dict) and all(
        isinstance(k, str) and (isinstance(v, _ARRAYS) or type(v) in DEVICE_MODULES)
        for k, v in obj.items()
    ):
        # to_host: a CPU Tensor shares its memory, a GPU one is copied to the host
        return OrderedDict((k, to_host(v)) for k, v in obj.items()), None
    structure, arrays = tree.encode(obj, what)
    return OrderedDict(arrays), json.dumps(structure)


def save(obj, f) -> None:
    """Write a ``state_dict`` (``{name: array or Tensor}``), or a checkpoint nesting them, to a
    safetensors file.

    PyTorch's ``torch.save(obj, f)`` for nerve, without pickle: the file is plain safetensors,
    readable by any safetensors library. Its metadata records the format, the order of the
    names and a SHA-256 over the whole header (names, dtypes, shapes, byte ranges, order) and
    the tensor bytes, which :func:`load` checks. A checkpoint such as ``{"epoch": 5, "model":
    model.state_dict(), "optimizer": optimizer.state_dict()}`` (dicts, lists, tuples, numbers,
    strings, None around the arrays) keeps its structure as JSON in the metadata, under the
    same checksum. A path is written atomically (see :func:`nerve.files.atomic_write`); a file
    object (``open(p, "wb")``, ``io.BytesIO``) is written at its position.

    Args:
        obj: a state_dict or a checkpoint; a whole Module is refused (save
            ``model.state_dict()``).
        f: a path or a binary file object.

    Raises:
        TypeError: ``obj`` is a Module or holds another kind of object (the message says
            where).

    >>> import io
    >>> import nerve
    >>> from nerve import nn
    >>> net = nn.Linear(3, 2)
    >>> buffer = io.BytesIO()
    >>> nerve.save(net.state_dict(), buffer)
    >>> _ = buffer.seek(0)
    >>> sorted(nerve.load(buffer))
    ['bias', 'weight']
    """
    arrays, structure = _to_arrays(obj, "nerve.save")
    meta = {
        "format": STATE_FORMAT,
        "format_version": str(STATE_FORMAT_VERSION),
        "nerve_version": _version(),
    }
    if structure is not None:
        meta["tree"] = structure
    data = st.encode(arrays, meta)
    header, start = st.read_header(data, "nerve.save")
    # The checksum leaves itself out, and adding it moves no byte range.
    data = st.encode(arrays, {**meta, "sha256": st.digest(header, data, start)})
    if hasattr(f, "write"):
        f.write(data)
    else:
        archive.atomic_write(os.fspath(f), lambda out: out.write(data))


def _check_start(first: bytes, where: str) -> None:
    """Refuse a stream at its first bytes when it cannot be a file :func:`load` reads."""
    if first[:4] in (b"PK\x03\x04", b"PK\x05\x06") or first[:1] == b"\x80":
        return  # a zip (torch.save's format), or a pickle (refused with its own message)
    if len(first) < 8:
        raise NerveFileError(f"{where}: {len(first)} bytes; the file is truncated or empty")
    n = int.from_bytes(first[:8], "little")
    if not 2 <= n <= st.MAX_HEADER_BYTES or first[8:9] not in (b"{", b""):
        raise NerveFileError(
            f"{where}: neither a safetensors file nor a torch.save file (it begins {first[:8]!r})"
        )


def load(f, map_location=None, weights_only=True, **kwargs):
    """Read a state_dict file: one written by :func:`save` (or ``save_weights``), or by
    PyTorch's ``torch.save`` (its zip format, read without torch and without unpickling code).

    Args:
        f: a path or a binary file object (``io.BytesIO`` too).
        map_location: where the arrays go, as in ``torch.load``: None or "cpu" (NumPy
            arrays), a device ("cuda", "cuda:0", ``nerve.device``: arrays on that GPU), or a
            dict mapping the saved location to a new one (files hold host arrays, so only its
            "cpu" entry applies).
        weights_only: must be True: nerve never unpickles arbitrary objects.
        **kwargs: ``mmap``, ``pickle_module`` and the like are refused by name.

    Returns:
        For a nerve file, ``{name: NumPy array}`` in the order they were saved, which
        ``module.load_state_dict`` takes as is (a checkpoint comes back with its structure, its
        arrays as NumPy arrays). For a ``torch.save`` file, the object it holds
        (a state_dict's OrderedDict, or dicts, lists, tuples, numbers and strings) with every
        tensor as a NumPy array.

    Raises:
        NerveFileError: the file is truncated, modified or damaged, of another format (a
            legacy non-zip torch file, a .nerve model file), or a torch file whose pickle names
            anything beyond tensors and plain containers (nothing of it is run).
    """
    if kwargs:
        raise TypeError(f"nerve.load: unsupported argument(s) {sorted(kwargs)}")
    if not weights_only:
        raise ValueError("nerve.load: weights_only=False is not supported; nerve never unpickles")
    dest = _map_location(map_location)
    name = archive.source_name(f)
    where = f"cannot load {name!r}"
    data = archive.read_source(f, "cannot load", archive.MAX_STREAM_BYTES, _check_start)
    if data[:2] == b"PK":
        return _placed(_load_zip(data, name, where), dest)
    if data[:1] == b"\x80":
        raise NerveFileError(
            f"{where}: a pickle without zip (PyTorch's legacy format, before 1.6, or a plain "
            "pickle); nerve reads only torch.save's zip format. Re-save it with PyTorch >= 1.6: "
            "torch.save(torch.load(path), new_path)"
        )
    state, _ = _load_state(data, where)
    return _placed(state, dest)


def _map_location(spec):
    """The device ``load``'s arrays go to (None: they stay NumPy arrays on the host)."""
    if isinstance(spec, dict):  # {saved location: new one}: nerve's files hold host arrays
        spec = spec.get("cpu", spec.get(CPU, None))
    if spec is None:
        return None
    if callable(spec) and not isinstance(spec, (str, device)):
        raise ValueError(
            "nerve.load: a callable map_location is not supported; pass a device ('cuda', "
            "'cpu') or a dict"
        )
    dest = as_device(spec)  # raises when the device is not available
    return None if dest.type == "cpu" else dest


def _placed(obj, dest):
    """``obj`` (arrays in dicts, lists, tuples) with every host array copied to ``dest``."""
    if dest is None:
        return obj
    if isinstance(obj, np.ndarray):
        return to_device(obj, dest)
    if isinstance(obj, dict):
        return type(obj)((k, _placed(v, dest)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_placed(v, dest) for v in obj)
    return obj


def _load_zip(data: bytes, name: str, where: str):
    zf, infos = archive.open_zip(io.BytesIO(data), len(data), where)
    with zf:
        names = [i.filename for i in infos]
    if archive.METADATA in names:
        raise NerveFileError(
            f"{where}: a whole-model .nerve file; read it with nerve.load_model, or its weights "
            "with model.load_weights"
        )
    if not torch_format.looks_like_torch_zip(names):
        raise NerveFileError(f"{where}: a zip, but not a torch.save file (no <name>/data.pkl)")
    return torch_format.load_torch_zip(data, name)


def _load_state(data: bytes, where: str) -> tuple[OrderedDict, bool]:
    """The arrays of a nerve state file, and whether their saved order is checksummed."""
    header, start = st.read_header(data, where)
    meta = header.get("__metadata__", {})
    if meta.get("format") != STATE_FORMAT:
        raise NerveFileError(
            f"{where}: not a nerve state_dict file (format {meta.get('format')!r})"
        )
    version = meta.get("format_version", "")
    if not (version.isascii() and version.isdigit() and version[0] != "0" and len(version) < 6):
        raise NerveFileError(f"{where}: invalid format version {version!r}")
    if int(version) > STATE_FORMAT_VERSION:
        raise NerveFileError(
            f"{where}: format version {version!r}; this nerve reads up to {STATE_FORMAT_VERSION}"
            " (upgrade nerve)"
        )
    # Version 1 hashed the tensor bytes only; version 2 the header as well.
    expected = hashlib.sha256(data[start:]).hexdigest() if version == "1" else None
    if meta.get("sha256") != (expected or st.digest(header, data, start)):
        raise NerveFileError(
            f"{where}: fails its SHA-256 check (header and tensor data); the file was modified "
            "or damaged"
        )
    arrays = OrderedDict(st.decode(data, where))
    if "tree" not in meta:
        return arrays, version != "1"
    if version == "1":  # format 1 had no structures, and its checksum would not cover one
        raise NerveFileError(f"{where}: format version 1 with a structure entry; damaged")
    try:
        structure = json.loads(meta["tree"])
    except (ValueError, RecursionError) as exc:
        raise NerveFileError(f"{where}: its structure is not valid JSON ({exc})") from None
    return tree.decode(structure, arrays, where), False


# ---------------------------------------------------------------------------- model weights
def save_weights(model, filepath, overwrite: bool = True) -> None:
    """``model.save_weights``: the state_dict to a ``.weights.safetensors`` file (see :func:`save`),
    or Keras 3's ``.weights.h5`` (:mod:`nerve.saving.keras_format`; needs h5py).

    The suffix is required, as Keras 3 requires ``.weights.h5``: a weights file must not be
    mistaken for a whole-model ``.nerve`` file, nor written over one.
    """
    if not os.fspath(filepath).endswith((WEIGHTS_SUFFIX, ".weights.h5")):
        raise ValueError(
            f"save_weights of {model.name!r}: the file name must end in {WEIGHTS_SUFFIX!r} "
            f"(nerve's format) or '.weights.h5' (Keras's), got {os.fspath(filepath)!r}"
        )
    if os.fspath(filepath).endswith(".weights.h5"):
        path = _check_target(filepath, ".weights.h5", f"save_weights of {model.name!r}", overwrite)
        keras_format.save_weights_h5(model, path)
        return
    path = _check_target(filepath, WEIGHTS_SUFFIX, f"save_weights of {model.name!r}", overwrite)
    save(model.state_dict(), path)


def load_weights(model, filepath) -> None:
    """``model.load_weights`` from a ``.weights.safetensors`` file, the weights of a ``.nerve``
    file, an ``.npz`` written by nerve before the safetensors format (arrays only), or Keras's
    ``.weights.h5``, ``.keras`` and legacy ``.h5`` files (matched by Keras's layout: layer by
    layer in ``model.layers`` order, shapes checked before anything is assigned).

    Weights are matched by name. When no name matches but the shapes match in order (layer
    names come from a per-session counter), they are matched by position, in the order the file
    records under its checksum (a ``.nerve`` file, a state file of format 2, or an ``.npz``'s
    member order); a file without a trustworthy order is refused rather than guessed.
    """
    path = os.fspath(filepath)
    if keras_format.is_keras_path(path):
        keras_format.load_weights_keras(model, path)
        return
    where = f"cannot load {path!r}"
    ordered = True
    if path.endswith(".nerve"):
        _, members = archive.read_archive(path)
        if WEIGHTS not in members:
            raise NerveFileError(f"{where}: it holds no {WEIGHTS}")
        header, _ = st.read_header(members[WEIGHTS], f"{path}:{WEIGHTS}")
        ordered = st.saved_order(header) is not None  # the archive's hash covers the member
        state = st.decode(members[WEIGHTS], f"{path}:{WEIGHTS}")
    elif path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as npz:
                state = {k: npz[k] for k in npz.files}  # the zip's member order, as written
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise NerveFileError(f"{where}: not a readable .npz weights file ({exc})") from None
    else:
        data = archive.read_source(path, "cannot load", archive.MAX_STREAM_BYTES, _check_start)
        state, ordered = _load_state(data, where)
    own = model.state_dict()
    if set(state) != set(own) and len(state) == len(own):
        if not ordered:
            raise NerveFileError(
                f"{where}: its weight names differ from the model's, and the file records no "
                "checksummed order to match them by position; save the weights again with this "
                "nerve"
            )
        if [np.shape(v) for v in state.values()] == [tuple(v.shape) for v in own.values()]:
            # Layer names come from a per-session counter (dense_3 here, dense_7 in the next
            # session), so an identical architecture may name its weights differently: match
            # them by position, in the state_dict's structural order, as Keras matches by
            # structure.
            state = dict(zip(own, state.values()))
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else exc
        raise ValueError(f"load_weights from {path!r}: {message}") from None
