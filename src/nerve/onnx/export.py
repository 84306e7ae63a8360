"""export(): walk a model's modules, emit each one's ONNX form, check and write the file.

The walk follows the model's own structure: the children of ``nn.Sequential`` in order, the
layers of a Keras-style ``Sequential``, the recorded nodes of a functional ``Model``; every
other module goes to its converter (``nerve.onnx.registry``). Each module is also run by nerve
on the example input and on the example plus one sample, so converters know static shapes and
which axes follow the batch size.
"""

from __future__ import annotations

import os

import numpy as np

from nerve import nn
from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.files import atomic_write_bytes
from nerve.layers.input_layer import InputLayer, substitute
from nerve.models.model import Model, ModuleModel
from nerve.models.sequential import Sequential as KerasSequential
from nerve.onnx import (  # noqa: F401  (they register converters)
    convert_layers,
    convert_layers_more,
    convert_nn,
    convert_nn_more,
    convert_quantized,
)
from nerve.onnx._deps import require_onnx
from nerve.onnx.graph import ExportError, GraphBuilder, Value
from nerve.onnx.registry import NOT_EXPORTABLE, Call, find_converter

MIN_OPSET = 17  # LayerNormalization


def export(
    model,
    example_input,
    path,
    opset: int = 17,
    dynamic_batch: bool | int = True,
    input_names=None,
    output_names=None,
    quantize: str | None = None,
    calibration_data=None,
) -> str:
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the path.

    The model runs in eval mode (dropout removed, batch norm on its running statistics); its
    training flags are restored afterwards. The graph is checked with ``onnx.checker``.

    Args:
        model: an ``nn.Module`` built from nerve's modules (``nn.Sequential`` and friends), a
            Keras-style ``Sequential`` or functional ``Model``, or any single layer or module
            that has a converter (``nerve.onnx.CONVERTERS``).
        example_input: an array or Tensor (or a tuple of them, for several inputs) of the
            shape and dtype the model takes; integer ids (for Embedding) stay integers.
        path: where to write the ``.onnx`` file.
        opset: the ONNX opset, 17 or later.
        dynamic_batch: True: axis 0 of every input (and what follows from it) is dynamic;
            an int names another batch axis (e.g. 1 for time-major sequences); False fixes it.
        input_names, output_names: the graph's names (defaults: the functional model's input
            names and output layer names, else ``input`` / ``output`` with an index when
            there are several).
        quantize: None, or ``'int8'`` for a static int8 model (onnxruntime's QDQ format,
            symmetric per-channel int8 weights, uint8 activations, ``reduce_range`` so that
            CPUs without VNNI do not saturate), calibrated on ``calibration_data``.
        calibration_data: for ``quantize='int8'``: an array (batches of 32 are taken from
            it) or an iterable of batches (arrays, or tuples of arrays for several inputs).

    Returns:
        The path written, as a string.

    Raises:
        ImportError: without the ``onnx`` extra (``pip install nerve[onnx]``).
        ExportError: (a ValueError) naming the module that has no ONNX form, and why.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from nerve import nn, onnx
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> onnx.export(net, np.zeros((1, 4), np.float32), path) == path
    True
    """
    onnx = require_onnx()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(
            f"nerve.onnx.export: opset must be an int from {MIN_OPSET} to "
            f"{onnx.defs.onnx_opset_version()}, got {opset!r}"
        )
    if quantize not in (None, "int8"):
        raise ValueError(f"nerve.onnx.export: quantize must be None or 'int8', got {quantize!r}")
    if quantize and calibration_data is None:
        raise ValueError("nerve.onnx.export: quantize='int8' needs calibration_data")
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"nerve.onnx.export: expected a Module or Model, got {type(model).__name__}"
        )
    examples = _examples(example_input)
    axis = 0 if dynamic_batch is True else (None if dynamic_batch is False else int(dynamic_batch))
    for x in examples:
        if axis is not None and not -x.ndim <= axis < x.ndim:
            raise ValueError(
                f"nerve.onnx.export: batch axis {axis} is out of range for an example input "
                f"of shape {x.shape}"
            )
    proto = _build(onnx, model, examples, axis, opset, input_names, output_names)
    path = os.fspath(path)
    if quantize is None:
        atomic_write_bytes(path, proto.SerializeToString())
    else:
        from nerve.onnx.int8 import quantize_file

        quantize_file(proto, path, _calibration_batches(calibration_data, len(examples)))
    return path


# ----------------------------------------------------------------------------- inputs
def _array(x) -> np.ndarray:
    a = np.asarray(x.data if isinstance(x, Tensor) else x)
    if a.dtype.kind == "f":
        a = a.astype(np.float32)
    elif a.dtype.kind not in "iub":
        raise TypeError(f"nerve.onnx.export: example inputs must be numeric, got {a.dtype}")
    return a


def _examples(example_input) -> list:
    items = list(example_input) if isinstance(example_input, (tuple, list)) else [example_input]
    if not items:
        raise ValueError("nerve.onnx.export: example_input is empty")
    return [_array(x) for x in items]


def _calibration_batches(data, n_inputs: int):
    if isinstance(data, (np.ndarray, Tensor)):
        a = _array(data)
        return [(a[i : i + 32],) for i in range(0, len(a), 32)]
    batches = []
    for b in data:
        b = tuple(_array(x) for x in b) if isinstance(b, (tuple, list)) else (_array(b),)
        if len(b) != n_inputs:
            raise ValueError(
                f"nerve.onnx.export: a calibration batch holds {len(b)} array(s); the model "
                f"takes {n_inputs} input(s)"
            )
        batches.append(b)
    if not batches:
        raise ValueError("nerve.onnx.export: calibration_data holds no batches")
    return batches


# ----------------------------------------------------------------------------- the walk
def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _to_tensors(structure, which: str):
    if isinstance(structure, Value):
        return Tensor._wrap(getattr(structure, which))
    if isinstance(structure, list):
        return [_to_tensors(s, which) for s in structure]
    if isinstance(structure, tuple):
        return tuple(_to_tensors(s, which) for s in structure)
    if isinstance(structure, dict):
        return {k: _to_tensors(v, which) for k, v in structure.items()}
    return structure


def _flatten(structure, out: list) -> list:
    if isinstance(structure, (list, tuple)):
        for s in structure:
            _flatten(s, out)
    else:
        out.append(structure)
    return out


def _rebuild(structure, values):
    if isinstance(structure, (list, tuple)):
        return type(structure)(_rebuild(s, values) for s in structure)
    return next(values)


class _Walker:
    def __init__(self, g: GraphBuilder):
        self.g = g

    def run(self, module, args: tuple, kwargs: dict, prefix: str):
        cls = type(module)
        if isinstance(module, nn.Sequential) and cls.forward is nn.Sequential.forward:
            (x,) = args
            for name, child in module._modules.items():
                x = self.run(child, (x,), {}, _join(prefix, name))
            return x
        if isinstance(module, KerasSequential) and cls.call is KerasSequential.call:
            (x,) = args
            for layer in module.layers:
                x = self.run(layer, (x,), {}, _join(prefix, layer.name))
            return x
        if isinstance(module, ModuleModel):
            return self.run(module.module, args, kwargs, prefix)
        if isinstance(module, Model) and module._graph is not None and cls.call is Model.call:
            return self._graph(module, args, prefix)
        return self._leaf(module, args, kwargs, prefix or cls.__name__.lower())

    def _graph(self, model, args: tuple, prefix: str):
        structure, outputs, flat_in, flat_out, order = model._graph
        given = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if len(given) != len(flat_in):
            raise ExportError(
                f"nerve.onnx.export: model {model.name!r} takes {len(flat_in)} input(s), the "
                f"example gives {len(given)}"
            )
        values = {id(kt): v for kt, v in zip(flat_in, given)}
        for node in order:
            if isinstance(node.layer, InputLayer):
                continue
            node_args = substitute(node.args, values)
            node_kwargs = substitute(node.kwargs, values)
            out = self.run(node.layer, node_args, node_kwargs, _join(prefix, node.layer.name))
            outs = out if isinstance(out, (list, tuple)) else [out]
            for kt, v in zip(node.outputs, outs):
                values[id(kt)] = v
        return substitute(outputs, values)

    def _leaf(self, module, args: tuple, kwargs: dict, prefix: str):
        convert = find_converter(module)
        if convert is None:
            why = next(
                (NOT_EXPORTABLE[c] for c in type(module).__mro__ if c in NOT_EXPORTABLE),
                "it has no ONNX converter",
            )
            if isinstance(module, Model):
                why = (
                    "a subclassed Model with its own call() cannot be walked; build it with "
                    "Sequential or the functional API"
                )
            raise ExportError(
                f"nerve.onnx.export: {type(module).__name__} {prefix!r} cannot be exported: {why}"
            )
        out_a = module(*_to_tensors(args, "a"), **_to_tensors(kwargs, "a"))
        out_b = module(*_to_tensors(args, "b"), **_to_tensors(kwargs, "b"))
        flat_a, flat_b = _flatten(out_a, []), _flatten(out_b, [])
        outs = [
            None if a is None else Value(None, np.asarray(a.data), np.asarray(b.data))
            for a, b in zip(flat_a, flat_b)
        ]
        names = convert(self.g, Call(module, args, kwargs, outs, prefix))
        names = [names] if isinstance(names, str) else list(names)
        if len(names) != len(outs):  # pragma: no cover - a converter bug
            raise ExportError(
                f"nerve.onnx: the converter of {type(module).__name__} returned {len(names)} "
                f"outputs for nerve's {len(outs)}"
            )
        for v, name in zip(outs, names):
            if v is not None:
                v.name = name
        return _rebuild(out_a, iter(outs))


# ----------------------------------------------------------------------------- the graph
def _default_names(kind: str, n: int) -> list:
    return [kind] if n == 1 else [f"{kind}_{i}" for i in range(n)]


def _names(given, default: list, what: str) -> list:
    if given is None:
        return default
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != len(default) or len(set(given)) != len(given):
        raise ValueError(
            f"nerve.onnx.export: {what} must be {len(default)} distinct name(s), got {given}"
        )
    return [str(n) for n in given]


def _value_info(onnx, name: str, a: np.ndarray, b: np.ndarray, batch: tuple):
    dims = []
    for i, (p, q) in enumerate(zip(a.shape, b.shape)):
        if p == q:
            dims.append(int(p))
        else:
            dims.append("batch" if (p, q) == batch else f"{name}_dim{i}")
    dtype = onnx.helper.np_dtype_to_tensor_dtype(a.dtype)
    return onnx.helper.make_tensor_value_info(name, dtype, dims)


def _build(onnx, model, examples, axis, opset, input_names, output_names):
    g = GraphBuilder(opset)
    functional = isinstance(model, Model) and model._graph is not None
    default_in = (
        [kt.name or f"input_{i}" for i, kt in enumerate(model.inputs)]
        if functional and len(model.inputs) == len(examples)
        else _default_names("input", len(examples))
    )
    in_names = [g.reserve(n) for n in _names(input_names, default_in, "input_names")]
    inputs = []
    for name, a in zip(in_names, examples):
        b = a if axis is None else np.concatenate([a, np.take(a, [0], axis=axis)], axis=axis)
        inputs.append(Value(name, a, b))
    states = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            result = _Walker(g).run(model, tuple(inputs), {}, "")
    finally:
        for m, training in states:
            m.__dict__["training"] = training
    outs = [v for v in _flatten(result, []) if v is not None]
    if functional and len(model.output_names) == len(outs):
        default_out = [f"{n}" for n in model.output_names]
        if len(set(default_out)) != len(default_out) or set(default_out) & set(in_names):
            default_out = _default_names("output", len(outs))
    else:
        default_out = _default_names("output", len(outs))
    out_names = _names(output_names, default_out, "output_names")
    if set(out_names) & set(in_names):
        raise ValueError(
            f"nerve.onnx.export: input and output names overlap: {set(out_names) & set(in_names)}"
        )
    for name in out_names:  # an internal tensor that has an output's name is renamed
        new = g.free(name)
        for v in outs:
            if new is not None and v.name == name:
                v.name = new
        g.reserve(name)
    for v, name in zip(outs, out_names):
        g.nodes.append(onnx.helper.make_node("Identity", [v.name], [name], name=f"out.{name}"))
    batch = (examples[0].shape[axis], examples[0].shape[axis] + 1) if axis is not None else (0, 0)
    graph = onnx.helper.make_graph(
        g.nodes,
        getattr(model, "name", None) or type(model).__name__,
        [_value_info(onnx, v.name, v.a, v.b, batch) for v in inputs],
        [_value_info(onnx, n, v.a, v.b, batch) for v, n in zip(outs, out_names)],
        initializer=g.initializers,
    )
    proto = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="nerve"
    )
    proto.ir_version = min(proto.ir_version, 10)  # readable by onnxruntime >= 1.18
    onnx.checker.check_model(proto, full_check=True)
    return proto
