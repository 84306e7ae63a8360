"""Keras 3's weights file (``model.weights.h5``, ``x.weights.h5``): where each array goes.

Keras 3 stores each object's own variables as datasets ``0, 1, ...`` of a ``vars`` group under
the object's path: ``layers/<snake_case class name>[_<n>]/vars`` for the model's layers in the
order of ``model.layers`` (counted per class name, not by layer name, so two sessions of the
same architecture agree), a sub-layer under its attribute name (``layers/lstm/cell/vars``,
``layers/bidirectional/forward_layer/cell/vars``), the optimizer under ``optimizer/vars``
(``iterations``, the learning rate when it is a number, then the slots: Adam's momentum and
velocity interleaved per variable, in the order of ``model.trainable_variables``).

nerve's layers keep their weights in Keras's order, so one table (:data:`CELL_LAYERS`) and a
walk over sub-layers place every array. Reading checks every group's names, dtypes and shapes
against the model before any data is read, and assigns nothing until all of it fits.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re

import numpy as np

from nerve.device import device_of, to_device, to_host
from nerve.optimizers.schedules import LearningRateSchedule
from nerve.saving.safetensors_io import NerveFileError

# Recurrent layers whose weights Keras keeps on their cell (``<path>/cell/vars``).
CELL_LAYERS = frozenset({"LSTM", "GRU", "SimpleRNN"})
# Layers Keras builds from equal sub-layers (each holding a kernel and, with use_bias, a bias)
# where nerve keeps the same arrays, in the same order and shapes, on the layer itself.
SPLIT_LAYERS = {
    "MultiHeadAttention": ("query_dense", "key_dense", "value_dense", "output_dense"),
}


def h5py_module():
    """h5py, or ImportError naming the extra that brings it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "Keras files (.keras, .h5, .weights.h5) need h5py: pip install 'nerve[keras-files]' "
            "(or pip install h5py)"
        ) from None
    return h5py


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``MaxPooling2D`` -> ``max_pooling2d``, ``LSTM`` -> ``lstm``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _own_weights(module) -> list:
    """One module's own weights (not its sub-layers'), in Keras's order: trainable as
    declared, then non-trainable, then float buffers (see Layer.weights)."""
    declared = module.__dict__.get("_declared_trainable", {})
    own = [(n, p) for n, p in module._parameters.items() if p is not None]
    out = [p for n, p in own if declared.get(n, True)]
    out += [p for n, p in own if not declared.get(n, True)]
    out += [b for b in module._buffers.values() if b is not None and b.dtype.kind == "f"]
    return out


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _layer_groups(layer, path: str, out: list) -> None:
    cls = type(layer).__name__
    name = getattr(layer, "name", snake_case(cls))
    if cls in CELL_LAYERS and not layer._modules:
        out.append((path, name, []))
        out.append((f"{path}/cell", f"{name}_cell", _own_weights(layer)))
        return
    if cls in SPLIT_LAYERS and not layer._modules:
        own, subs = _own_weights(layer), SPLIT_LAYERS[cls]
        n = len(own) // len(subs)
        out.append((path, name, own[n * len(subs) :]))
        for i, sub in enumerate(subs):
            out.append((f"{path}/{sub}", sub, own[i * n : (i + 1) * n]))
        return
    out.append((path, name, _own_weights(layer)))
    used: dict = {}
    for attr, child in layer._modules.items():
        if child is None:
            continue
        if "." in attr:  # a list of layers: Keras's container path, named by class
            base = attr.split(".")[0]
            child_path = f"{path}/{base}/{_unique(snake_case(type(child).__name__), used)}"
        else:
            child_path = f"{path}/{attr}"
        _layer_groups(child, child_path, out)


def weight_groups(model, layers=None) -> list[tuple[str, str, list]]:
    """``[(h5 path, object name, [weights])]`` for ``model`` in Keras's layout, its layers
    counted in the order of ``layers`` (default ``model.layers``)."""
    out = [("", model.name, [])]
    used: dict = {}
    for layer in model.layers if layers is None else layers:
        path = f"layers/{_unique(snake_case(type(layer).__name__), used)}"
        _layer_groups(layer, path, out)
    return out


# ---------------------------------------------------------------------------- optimizers
def _slot_groups(optimizer) -> list[tuple[str, ...]]:
    """The nerve slot names Keras keeps per variable, one tuple per ``add_optimizer_variables``
    call (slots in one call are interleaved per variable)."""
    name = type(optimizer).__name__
    if name in ("Adam", "AdamW"):
        return [("m", "v")] + ([("v_hat",)] if getattr(optimizer, "amsgrad", False) else [])
    if name == "Adamax":
        return [("m", "u")]
    if name == "Nadam":
        return [("m", "v")]
    if name == "SGD":
        return [("momentum",)] if optimizer.momentum else []
    if name == "RMSprop":
        groups = [("velocity",)]
        if optimizer.momentum:
            groups.append(("momentum",))
        if optimizer.centered:
            groups.append(("average_gradient",))
        return groups
    if name == "Adagrad":
        return [("accumulator",)]
    if name == "Lion":
        return [("m",)]
    raise TypeError(f"nerve does not write {name}'s state in Keras's layout")


def optimizer_layout(optimizer, variables: list) -> list[tuple]:
    """``[(kind, index, slot)]`` for each dataset of ``optimizer/vars``, in order: kind is
    "iterations", "learning_rate" or "slot" (variable index and slot name)."""
    out = [("iterations", None, None)]
    if not isinstance(optimizer._learning_rate, LearningRateSchedule):
        out.append(("learning_rate", None, None))
    for group in _slot_groups(optimizer):
        for i in range(len(variables)):
            out.extend(("slot", i, slot) for slot in group)
    if type(optimizer).__name__ == "Nadam":
        out.append(("u_product", None, None))  # Keras's Nadam tracks it after the slots
    return out


def optimizer_arrays(optimizer, variables: list) -> list[np.ndarray]:
    """The arrays of ``optimizer/vars`` for ``optimizer`` bound to ``variables`` (the model's
    trainable weights in Keras's order)."""
    index = {id(v): i for i, v in enumerate(optimizer.variables_)}
    if optimizer.built and any(id(v) not in index for v in variables):
        raise TypeError("the optimizer was built on other variables than the model's weights")
    arrays = []
    for kind, i, slot in optimizer_layout(optimizer, variables):
        if kind == "iterations":
            arrays.append(np.asarray(optimizer.iterations, np.int64))
        elif kind == "learning_rate":
            arrays.append(np.asarray(optimizer._learning_rate, np.float32))
        elif kind == "u_product":
            arrays.append(np.asarray(optimizer._u_product, np.float32))
        elif optimizer.built:
            arrays.append(np.asarray(optimizer.slots[index[id(variables[i])]][slot]))
        else:
            arrays.append(np.zeros(variables[i].shape, variables[i]._data.dtype))
    return arrays


# ---------------------------------------------------------------------------- integrity
# HDF5's newer object formats carry checksums on their headers and indexes, so the library
# notices damage before following a corrupt size (the 2008 formats are readable by every h5py
# Keras supports).
LIBVER = ("v110", "latest")
CHECKSUM = "nerve_sha256"  # a root attribute Keras ignores; nerve checks it when present


def digest(f) -> str:
    """SHA-256 over every group's and dataset's name, attributes, dtype, shape and bytes."""
    h5py = h5py_module()
    h = hashlib.sha256()
    items = [("/", f)]
    f.visititems(lambda name, obj: items.append((name, obj)))
    for name, obj in sorted(items, key=lambda item: item[0]):
        h.update(f"{name}\0".encode())
        for key in sorted(k for k in obj.attrs if k != CHECKSUM):
            h.update(f"{key}={np.asarray(obj.attrs[key]).tolist()!r}\0".encode())
        if isinstance(obj, h5py.Dataset):
            h.update(f"{obj.dtype.str}{obj.shape}\0".encode())
            h.update(np.ascontiguousarray(obj[()]).tobytes())
    return h.hexdigest()


def seal(buffer: io.BytesIO) -> bytes:
    """The file in ``buffer`` with its :func:`digest` stored as a root attribute."""
    h5py = h5py_module()
    with h5py.File(buffer, "a") as f:
        f.attrs[CHECKSUM] = fixed(digest(f))
    return buffer.getvalue()


def check_dataset(ds, where: str, limit: int) -> None:
    """Refuse a dataset that is not a plain numeric array stored in at most ``limit`` bytes
    (a compressed or unallocated one could claim gigabytes), before reading it."""
    if ds.dtype.kind not in "biuf":
        raise NerveFileError(f"{where}: {ds.name} is not a numeric array (dtype {ds.dtype})")
    if ds.compression is not None or ds.size * ds.dtype.itemsize > limit:
        raise NerveFileError(
            f"{where}: {ds.name} claims {ds.size * ds.dtype.itemsize} bytes (compressed: "
            f"{ds.compression}) in a {limit}-byte file"
        )


def verify(f, size: int, where: str) -> None:
    """Check every dataset's size, and the nerve checksum when the file has one."""
    h5py = h5py_module()
    datasets = []
    try:
        f.visititems(
            lambda _n, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None
        )
        for ds in datasets:
            check_dataset(ds, where, size)
        recorded = f.attrs.get(CHECKSUM) if CHECKSUM in f.attrs else None
        if recorded is not None and _text(recorded) != digest(f):
            raise NerveFileError(
                f"{where}: fails its SHA-256 check; the file was modified or damaged after it "
                "was written"
            )
    except NerveFileError:
        raise
    except Exception as exc:  # h5py's errors for a damaged file are of many kinds
        raise NerveFileError(
            f"{where}: a damaged HDF5 file ({type(exc).__name__}: {exc})"
        ) from None


def fixed(text: str) -> np.bytes_:
    """``text`` as a fixed-length string attribute: stored inline, it cannot point a damaged
    file's reader at a corrupt heap (variable-length strings can, and h5py may crash)."""
    return np.bytes_(text.encode("utf-8"))


@contextlib.contextmanager
def reading(where: str):
    """Turn h5py's errors on a damaged file (OSError, RuntimeError, KeyError, ...) raised
    inside the block into NerveFileError naming the file."""
    try:
        yield
    except NerveFileError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise NerveFileError(f"{where}: damaged ({type(exc).__name__}: {exc})") from None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------- writing
def encode(model, optimizer=None) -> bytes:
    """The bytes of Keras's weights h5 file for ``model`` (and ``optimizer``'s state)."""
    h5py = h5py_module()
    groups = weight_groups(model)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=LIBVER) as f:
        for path, name, weights in groups:
            group = f.create_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = fixed(name)
            for i, w in enumerate(weights):
                group.create_dataset(str(i), data=to_host(w._data))
        if optimizer is not None:
            group = f.create_group("optimizer/vars")
            group.attrs["name"] = fixed(optimizer.name)
            for i, array in enumerate(optimizer_arrays(optimizer, model.trainable_weights)):
                group.create_dataset(str(i), data=array)
    return seal(buffer)


# ---------------------------------------------------------------------------- reading
def open_h5(data: bytes, where: str):
    h5py = h5py_module()
    if data[:8] != b"\x89HDF\r\n\x1a\n":
        raise NerveFileError(f"{where}: not an HDF5 file (it begins {data[:8]!r})")
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except Exception as exc:  # h5py raises OSError, ValueError, KeyError... for damage
        raise NerveFileError(
            f"{where}: a damaged HDF5 file ({type(exc).__name__}: {exc})"
        ) from None
    try:
        verify(f, len(data), where)
    except NerveFileError:
        f.close()
        raise
    return f


def _datasets(f, path: str, expected: list, where: str) -> list:
    """The datasets of ``path/vars`` checked against ``expected`` shapes (nothing read yet)."""
    h5py = h5py_module()
    full = f"{path}/vars" if path else "vars"
    group = f.get(full) if full in f else None
    if group is None:
        if expected:
            raise NerveFileError(f"{where}: no weights at {full!r}; the file is of another model")
        return []
    if not isinstance(group, h5py.Group):
        raise NerveFileError(f"{where}: {full!r} is not a group")
    keys = sorted(group.keys())
    if keys != sorted(str(i) for i in range(len(expected))):
        raise NerveFileError(
            f"{where}: {full!r} holds {len(keys)} arrays ({keys[:6]}), the model expects "
            f"{len(expected)} there"
        )
    out = []
    for i, shape in enumerate(expected):
        ds = group.get(str(i))
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
            raise NerveFileError(f"{where}: {full}/{i} is not a numeric array")
        if tuple(ds.shape) != tuple(shape):
            raise NerveFileError(
                f"{where}: {full}/{i} has shape {tuple(ds.shape)}, the model expects {tuple(shape)}"
            )
        out.append(ds)
    return out


def _read(datasets: list, where: str) -> list[np.ndarray]:
    try:
        return [np.asarray(ds[()]) for ds in datasets]
    except Exception as exc:
        raise NerveFileError(
            f"{where}: cannot read an array ({type(exc).__name__}: {exc})"
        ) from None


def largest_dimension(f) -> int:
    """The largest dimension of any dataset (shapes only), for the config's size check."""
    h5py = h5py_module()
    sizes = [0]

    def visit(_name, obj):
        if isinstance(obj, h5py.Dataset):
            sizes.append(max(obj.shape, default=1))

    with contextlib.suppress(Exception):  # a damaged index: the reads below report it
        f.visititems(visit)
    return max(sizes)


def load_into(model, f, where: str, order=None) -> None:
    """Set ``model``'s weights from an open Keras weights file, all or nothing; ``order``:
    the layers' names in the order the file's writer counted them (its config's list)."""
    layers = None
    if order is not None:
        by_name = {layer.name: layer for layer in model.layers}
        if sorted(order) == sorted(by_name):
            layers = [by_name[name] for name in order]
    groups = weight_groups(model, layers)
    plan = []
    for path, _, weights in groups:
        found = _datasets(f, path, [tuple(w.shape) for w in weights], where)
        plan.append((weights, found))
    values = [(w, v) for weights, found in plan for w, v in zip(weights, _read(found, where))]
    for w, v in values:
        # a GPU weight takes the host values through a device copy
        w._data[...] = to_device(v.astype(w._data.dtype, copy=False), device_of(w._data))


def load_optimizer(model, optimizer, f, where: str) -> bool:
    """Restore ``optimizer``'s state from ``optimizer/vars``; False when the file has none."""
    if "optimizer/vars" not in f or not len(f["optimizer/vars"]):
        return False
    variables = model.trainable_weights
    layout = optimizer_layout(optimizer, variables)
    header = [entry for entry in layout if entry[0] in ("iterations", "learning_rate")]
    if len(f["optimizer/vars"]) == len(header) < len(layout):
        layout = header  # saved before the optimizer was built (compiled, never trained)
    elif not optimizer.built:
        optimizer.build(variables)
    shapes = [() if kind != "slot" else tuple(variables[i].shape) for kind, i, _ in layout]
    values = _read(_datasets(f, "optimizer", shapes, where), where)
    apply_values(optimizer, layout, values, variables, where)
    return True


def apply_values(optimizer, layout: list, values: list, variables: list, where: str) -> None:
    """Set the optimizer's counter, learning rate and slots from arrays read in ``layout``."""
    index = {id(v): k for k, v in enumerate(optimizer.variables_)}
    for (kind, i, slot), value in zip(layout, values):
        if kind in ("iterations", "learning_rate") and not (np.isfinite(value) and value >= 0):
            raise NerveFileError(f"{where}: the saved optimizer {kind} is {value}")
        if kind == "iterations":
            optimizer.iterations = int(value)
        elif kind == "learning_rate":
            optimizer.learning_rate = float(value)
        else:
            assign_slot(optimizer, kind, value, target=(index, variables, i, slot))


def assign_slot(optimizer, kind: str, value, target) -> None:
    """Set one optimizer array read from a file (a slot, or Nadam's u_product)."""
    if kind == "u_product":
        optimizer._load_extra_state({"u_product": float(value)})
        return
    index, variables, i, slot = target
    array = optimizer.slots[index[id(variables[i])]][slot]
    array[...] = value.astype(array.dtype, copy=False)
