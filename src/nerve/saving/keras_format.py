"""Keras's own files: ``.keras`` (Keras 3), ``.weights.h5`` (Keras 3) and ``.h5`` (Keras 2's
legacy whole-model file, which Keras 3 still reads and writes).

A ``.keras`` file is a zip of ``metadata.json``, ``config.json`` (the model as
:mod:`nerve.saving.keras_config` translates it, plus ``compile_config``) and
``model.weights.h5`` (:mod:`nerve.saving.keras_h5`). Files nerve writes also record the size and
SHA-256 of the other members under ``metadata.json``'s ``"nerve"`` key (Keras ignores it), so an
edit is caught when nerve reads them back; Keras's own files are checked by the zip's CRCs and
by structure. A Lambda layer or any serialized function is refused: with ``safe_mode`` (the
default) as Keras refuses it, and without it too, since nerve never runs code from a file.
Writes are atomic (:func:`nerve.files.atomic_write`). h5py is needed: ``nerve[keras-files]``.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import warnings
import zipfile

import numpy as np

from nerve import backend
from nerve.device import device_of, to_device, to_host
from nerve.files import atomic_write, atomic_write_bytes
from nerve.saving import archive, keras_compile, keras_config, keras_h5, model_config
from nerve.saving.safetensors_io import NerveFileError

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# The Keras release whose layout these files follow (Keras reads this field for display only).
KERAS_VERSION = "3.15.0"
MAX_CONFIG_BYTES = 64 * 1024 * 1024

# Whatever rebuilding a model from a file's config may raise, turned into NerveFileError.
_BUILD_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    OverflowError,
    NotImplementedError,
    MemoryError,
)


def _version() -> str:
    import nerve

    return nerve.__version__


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _optimizer_for_file(model, path: str):
    """The model's compile config and optimizer, or (None, None) with a warning when the
    compile state has no Keras form."""
    if not getattr(model, "compiled", False):
        return None, None
    try:
        spec = keras_compile.compile_to_keras(model)
        keras_h5.optimizer_layout(model.optimizer, model.trainable_weights)
    except TypeError as exc:
        warnings.warn(
            f"{path!r} is saved without its compile state ({exc}); call compile() again after "
            "loading",
            stacklevel=4,
        )
        return None, None
    return spec, model.optimizer


# ---------------------------------------------------------------------------- .keras
def save_keras(model, path: str) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` file (see the module docstring), atomically.

    Args:
        model: a Sequential or functional model of layers Keras has (or registered on both
            sides); its compile state goes in too when Keras has its optimizer, loss and
            metrics (else it is left out, with a warning).
        path: the target, ending in ``.keras``.

    Raises:
        TypeError: a layer or the model kind has no Keras form (the message names it).
        ImportError: h5py is missing.
    """
    spec = keras_config.model_to_keras(model)
    compile_config, optimizer = _optimizer_for_file(model, path)
    spec["compile_config"] = compile_config
    members = {
        CONFIG: json.dumps(spec, default=model_config._numpy_scalar).encode(),
        WEIGHTS: keras_h5.encode(model, optimizer),
    }
    meta = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "nerve": {
            "version": _version(),
            "files": {n: {"size": len(b), "sha256": _sha(b)} for n, b in members.items()},
        },
    }

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:  # stored, as Keras writes them
            zf.writestr(METADATA, json.dumps(meta))
            for name, data in members.items():
                zf.writestr(name, data)

    atomic_write(path, write)


def _read_members(path: str) -> dict[str, bytes]:
    where = f"cannot load {path!r}"
    data = archive.read_source(
        path, "cannot load", archive.MAX_STREAM_BYTES, archive.check_zip_start
    )
    zf, infos = archive.open_zip(io.BytesIO(data), len(data), where, ".keras file")
    members = {}
    try:
        with zf:
            names = [i.filename for i in infos]
            extra = sorted(set(names) - {CONFIG, METADATA, WEIGHTS})
            if extra:
                raise NerveFileError(
                    f"{where}: members {extra[:5]} besides config.json, metadata.json and "
                    "model.weights.h5 (assets or sharded weights, which nerve does not read)"
                )
            if CONFIG not in names or WEIGHTS not in names:
                raise NerveFileError(f"{where}: no {CONFIG} or no {WEIGHTS}; not a .keras file")
            for info in infos:
                if info.filename.endswith(".json") and info.file_size > MAX_CONFIG_BYTES:
                    raise NerveFileError(f"{where}: {info.filename} claims {info.file_size} bytes")
                members[info.filename] = archive._member(zf, info, len(data), where)
    except NerveFileError:
        raise
    except archive.ZIP_ERRORS as exc:
        raise NerveFileError(
            f"{where}: truncated or damaged ({type(exc).__name__}: {exc})"
        ) from None
    _check_recorded(members, where)
    return members


def _json(data: bytes, what: str, where: str):
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise NerveFileError(f"{where}: {what} is not valid JSON ({exc})") from None


def _check_recorded(members: dict, where: str) -> None:
    """Check the sizes and hashes nerve recorded in metadata.json, when it did."""
    if METADATA not in members:
        return
    meta = _json(members[METADATA], METADATA, where)
    recorded = meta.get("nerve") if isinstance(meta, dict) else None
    if recorded is None:
        return  # a file Keras wrote: the zip's CRCs and the checks below stand guard
    files = recorded.get("files") if isinstance(recorded, dict) else None
    if not isinstance(files, dict) or set(files) != {CONFIG, WEIGHTS}:
        raise NerveFileError(f"{where}: {METADATA} has a damaged 'nerve' entry")
    for name, expected in files.items():
        data = members[name]
        if not isinstance(expected, dict) or expected.get("size") != len(data):
            raise NerveFileError(f"{where}: member {name!r} has another size than recorded")
        if expected.get("sha256") != _sha(data):
            raise NerveFileError(
                f"{where}: member {name!r} fails its SHA-256 check; the file was modified or "
                "damaged after it was written"
            )


def _refuse_code(config, safe_mode: bool, where: str) -> None:
    found = keras_config.find_code(config)
    if found is None:
        return
    if safe_mode:
        raise NerveFileError(
            f"{where}: it holds Python code at {found}, which safe_mode refuses to load. "
            "Loading it would run code from the file; nerve never does, even with "
            "safe_mode=False: replace the Lambda by a registered custom layer"
        )
    raise NerveFileError(
        f"{where}: it holds Python code at {found}; nerve never deserializes or runs code from "
        "a file (safe_mode=False does not change that): replace the Lambda by a registered "
        "custom layer, or pass that layer in custom_objects"
    )


def _build(spec: dict, largest: int, custom_objects, where: str):
    """The nerve model a Keras config describes, sizes checked before anything is built."""
    generator = backend.rng().bit_generator
    before = generator.state  # building draws initial weights: put the stream back
    try:
        nerve_spec = keras_config.model_from_keras(spec, custom_objects)
        model_config.check_sizes(nerve_spec["config"], largest)
        return model_config.deserialize_layer(nerve_spec, custom_objects)
    except NerveFileError:
        raise
    except _BUILD_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise NerveFileError(f"{where}: {message}") from exc
    finally:
        generator.state = before


def load_keras(path: str, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Read a ``.keras`` file (Keras 3's, or one nerve wrote) into a nerve model.

    Args:
        path: the file.
        custom_objects: ``{name: class}`` for custom layers, losses, metrics.
        compile: compile the model as the file's ``compile_config`` says, with the
            optimizer's state.
        safe_mode: Keras's flag; a file holding code is refused either way (see the module
            docstring).

    Returns:
        The model, its weights set.

    Raises:
        NerveFileError: the file is truncated, damaged, edited (for files nerve wrote), holds
            code, or describes a model nerve cannot rebuild or whose weights do not fit it.
    """
    where = f"cannot load {path!r}"
    members = _read_members(path)
    spec = _json(members[CONFIG], CONFIG, where)
    if not isinstance(spec, dict):
        raise NerveFileError(f"{where}: {CONFIG} does not describe a model")
    _refuse_code(spec, safe_mode, where)
    with keras_h5.open_h5(members[WEIGHTS], f"{where}: {WEIGHTS}") as f, keras_h5.reading(where):
        model = _build(spec, keras_h5.largest_dimension(f), custom_objects, where)
        keras_h5.load_into(model, f, f"{where}: {WEIGHTS}", _layer_order(spec))
        compile_config = spec.get("compile_config")
        if compile and isinstance(compile_config, dict):
            _compile(model, compile_config, custom_objects, where)
            keras_h5.load_optimizer(model, model.optimizer, f, f"{where}: {WEIGHTS}")
            _keep_exact_rate(model.optimizer, compile_config)
    return model


def _layer_order(spec: dict) -> list[str] | None:
    """The layers' names in the order the config lists them: Keras counts weight paths in
    its ``model.layers`` order, which is the order it wrote them in."""
    entries = spec.get("config", {}).get("layers")
    if not isinstance(entries, list):
        return None
    names = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            return None
        if spec.get("class_name") == "Sequential" and entry.get("class_name") == "InputLayer":
            continue  # not among a Sequential model's layers
        name = entry.get("name") or entry["config"].get("name")
        if not isinstance(name, str):
            return None
        names.append(name)
    return names


def _compile(model, compile_config: dict, custom_objects, where: str) -> None:
    try:
        keras_compile.compile_from_keras(model, compile_config, custom_objects)
    except _BUILD_ERRORS as exc:
        raise NerveFileError(f"{where}: its compile_config cannot be used ({exc})") from exc


def _keep_exact_rate(optimizer, compile_config: dict) -> None:
    """Keras keeps the learning rate as a float32 variable; when the config's value rounds to
    it, keep the config's (nerve's own double), so a nerve round trip changes no bit."""
    stated = (compile_config.get("optimizer") or {}).get("config", {}).get("learning_rate")
    current = optimizer._learning_rate
    numbers = isinstance(stated, float) and isinstance(current, float)
    if numbers and np.float32(stated) == np.float32(current):
        optimizer.learning_rate = stated


# ---------------------------------------------------------------------------- .weights.h5
def save_weights_h5(model, path: str) -> None:
    """Write ``model``'s weights as Keras 3's ``.weights.h5`` (atomically), which Keras's
    ``load_weights`` reads into the same architecture.

    Raises:
        TypeError: a layer's weights have no Keras layout.
        ImportError: h5py is missing.
    """
    atomic_write_bytes(path, keras_h5.encode(model))


def load_weights_keras(model, path: str) -> None:
    """Set ``model``'s weights from a ``.weights.h5``, ``.keras`` or legacy ``.h5`` file, all
    or nothing.

    Raises:
        NerveFileError: the file is damaged, or its arrays do not match the model's layers in
            number or shape (nothing is assigned then).
    """
    where = f"cannot load {path!r}"
    if path.endswith(".keras"):
        data = _read_members(path)[WEIGHTS]
    else:
        data = archive.read_source(path, "cannot load", archive.MAX_STREAM_BYTES)
    with keras_h5.open_h5(data, where) as f, keras_h5.reading(where):
        if "model_weights" in f or "layer_names" in f.attrs:  # a legacy (Keras 2 style) file
            h5py = keras_h5.h5py_module()
            group = f.get("model_weights", f)
            _legacy_weights_into(model, group, where, h5py)
        else:
            keras_h5.load_into(model, f, where)


# ---------------------------------------------------------------------------- legacy .h5
def _weight_names(layer) -> list[str]:
    names = {id(p): n for n, p in layer.named_parameters()}
    names.update({id(b): n for n, b in layer.named_buffers()})
    return [
        f"{layer.name}/{names.get(id(w), f'weight_{i}').replace('.', '/')}"
        for i, w in enumerate(layer.weights)
    ]


def _fixed_names(names: list[str]) -> np.ndarray:
    # Fixed-length strings, as Keras writes them (see keras_h5.fixed for why not variable).
    return np.array([n.encode("utf-8") for n in names], dtype=np.bytes_)


def save_legacy_h5(model, path: str) -> None:
    """Write ``model`` as the legacy whole-model ``.h5`` file Keras 3's ``model.save('x.h5')``
    writes (config in attributes, weights per layer, optimizer weights)."""
    h5py = keras_h5.h5py_module()
    spec = keras_config.model_to_keras(model)
    compile_config, optimizer = _optimizer_for_file(model, path)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=keras_h5.LIBVER) as f:
        fixed = keras_h5.fixed  # every attribute fixed-length (see keras_h5.fixed)
        f.attrs["backend"] = fixed("numpy")
        f.attrs["keras_version"] = fixed(KERAS_VERSION)
        f.attrs["model_config"] = fixed(json.dumps(spec, default=model_config._numpy_scalar))
        if compile_config is not None:
            training = {k: v for k, v in compile_config.items() if k != "optimizer"}
            opt = compile_config["optimizer"]
            training["optimizer_config"] = {
                "class_name": opt["class_name"],
                "config": opt["config"],
            }
            f.attrs["training_config"] = fixed(
                json.dumps(training, default=model_config._numpy_scalar)
            )
        group = f.create_group("model_weights")
        group.attrs["backend"] = fixed("numpy")
        group.attrs["keras_version"] = fixed(KERAS_VERSION)
        group.attrs["layer_names"] = _fixed_names([layer.name for layer in model.layers])
        for layer in model.layers:
            sub = group.create_group(layer.name)
            names = _weight_names(layer)
            sub.attrs["weight_names"] = _fixed_names(names)
            for name, w in zip(names, layer.weights):
                sub.create_dataset(name, data=to_host(w._data))
        top = group.create_group("top_level_model_weights")
        top.attrs["weight_names"] = np.array([], dtype=np.float64)
        if optimizer is not None:
            arrays = keras_h5.optimizer_arrays(optimizer, model.trainable_weights)
            opt_group = f.create_group("optimizer_weights")
            names = [f"{optimizer.name}/var_{i}" for i in range(len(arrays))]
            opt_group.attrs["weight_names"] = _fixed_names(names)
            for name, array in zip(names, arrays):
                opt_group.create_dataset(name, data=array)
    atomic_write_bytes(path, keras_h5.seal(buffer))


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _names(group, key: str, where: str) -> list[str]:
    value = group.attrs.get(key)
    if value is None:
        return []
    try:
        return [_text(v) for v in np.asarray(value).reshape(-1)] if np.size(value) else []
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise NerveFileError(f"{where}: attribute {key!r} is damaged ({exc})") from None


def load_legacy_h5(path: str, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Read a legacy whole-model ``.h5`` file (Keras 2's, or Keras 3's ``model.save('x.h5')``):
    the config from the ``model_config`` attribute, the weights layer by layer from
    ``model_weights`` (each group's ``weight_names`` in order), the compile state from
    ``training_config`` and ``optimizer_weights``."""
    h5py = keras_h5.h5py_module()
    where = f"cannot load {path!r}"
    data = archive.read_source(path, "cannot load", archive.MAX_STREAM_BYTES)
    with keras_h5.open_h5(data, where) as f, keras_h5.reading(where):
        raw = f.attrs.get("model_config")
        training = f.attrs.get("training_config")
        weights = f.get("model_weights")
        if raw is None or not isinstance(weights, h5py.Group):
            raise NerveFileError(
                f"{where}: no model_config attribute or model_weights group; a weights-only "
                ".h5 file is read with model.load_weights"
            )
        spec = _json(_text(raw).encode(), "model_config", where)
        _refuse_code(spec, safe_mode, where)
        model = _build(spec, keras_h5.largest_dimension(weights), custom_objects, where)
        _legacy_weights_into(model, weights, where, h5py)
        if compile and training is not None:
            config = _json(_text(training).encode(), "training_config", where)
            if isinstance(config, dict) and isinstance(config.get("optimizer_config"), dict):
                config = {**config, "optimizer": config["optimizer_config"]}
                _compile(model, config, custom_objects, where)
                if "optimizer_weights" in f:
                    _legacy_optimizer(model, f["optimizer_weights"], where, h5py)
                _keep_exact_rate(model.optimizer, config)
    return model


def _legacy_weights_into(model, group, where: str, h5py) -> None:
    saved = [n for n in _names(group, "layer_names", where) if n in group]
    saved = [n for n in saved if _names(group[n], "weight_names", where)]
    own = [layer for layer in model.layers if layer.weights]
    by_name = {layer.name: layer for layer in own}
    if len(saved) == len(own) and all(n in by_name for n in saved):
        # A model built from this file's config has its layers' names: match by name, so
        # two same-shaped branches cannot trade weights. Otherwise by position, as Keras.
        own = [by_name[n] for n in saved]
    if len(saved) != len(own):
        raise NerveFileError(
            f"{where}: {len(saved)} layers with weights in the file, {len(own)} in the model"
        )
    plan = []
    for name, layer in zip(saved, own):
        names = _names(group[name], "weight_names", where)
        if len(names) != len(layer.weights):
            raise NerveFileError(
                f"{where}: layer {name!r} has {len(names)} weights in the file, "
                f"{len(layer.weights)} in the model's {layer.name!r}"
            )
        for wname, w in zip(names, layer.weights):
            ds = group[name].get(wname)
            if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
                raise NerveFileError(f"{where}: {name}/{wname} is not a numeric array")
            if tuple(ds.shape) != tuple(w.shape):
                raise NerveFileError(
                    f"{where}: {name}/{wname} has shape {tuple(ds.shape)}, the model expects "
                    f"{tuple(w.shape)}"
                )
            plan.append((w, ds))
    values = keras_h5._read([ds for _, ds in plan], where)
    for (w, _), value in zip(plan, values):
        # a GPU weight takes the host values through a device copy
        w._data[...] = to_device(value.astype(w._data.dtype, copy=False), device_of(w._data))


def _legacy_optimizer(model, group, where: str, h5py) -> None:
    optimizer, variables = model.optimizer, model.trainable_weights
    names = _names(group, "weight_names", where)
    layout = keras_h5.optimizer_layout(optimizer, variables)
    if len(names) != len(layout):
        # Keras 2's optimizers kept other variables (no learning rate, moments not
        # interleaved): like Keras 3, start from a fresh optimizer rather than guess.
        warnings.warn(
            f"{where}: {len(names)} optimizer weights in the file, {len(layout)} expected by "
            f"{type(optimizer).__name__}; the optimizer starts fresh",
            stacklevel=3,
        )
        return
    if not optimizer.built:
        optimizer.build(variables)
    datasets = []
    for name, (kind, i, _) in zip(names, layout):
        ds = group.get(name)
        shape = () if kind != "slot" else tuple(variables[i].shape)
        if not isinstance(ds, h5py.Dataset) or tuple(ds.shape) != shape:
            raise NerveFileError(f"{where}: optimizer weight {name!r} is missing or misshapen")
        datasets.append(ds)
    keras_h5.apply_values(optimizer, layout, keras_h5._read(datasets, where), variables, where)


def is_keras_path(path: str) -> bool:
    """Whether ``path`` names one of Keras's files (.keras, .h5, .weights.h5)."""
    return path.endswith((".keras", ".h5"))


__all__ = [
    "is_keras_path",
    "load_keras",
    "load_legacy_h5",
    "load_weights_keras",
    "save_keras",
    "save_legacy_h5",
    "save_weights_h5",
]
