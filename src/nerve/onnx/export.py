"""export(): walk a model's modules, emit each one's ONNX form, check and write the file.

The walk follows the model's own structure: the children of ``nn.Sequential`` in order, the
layers of a Keras-style ``Sequential``, the recorded nodes of a functional ``Model``; every
other module goes to its converter (``nerve.onnx.registry``). Each module is also run by nerve
on the example input and on the example plus one sample, so converters know static shapes and
which axes follow the batch size.
"""

from __future__ import annotations

import inspect
import os

import numpy as np

from nerve import nn
from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.device import to_host
from nerve.files import atomic_write_bytes
from nerve.layers.input_layer import InputLayer, substitute
from nerve.models.model import Model, ModuleModel
from nerve.models.sequential import Sequential as KerasSequential
from nerve.nn.module import evaluating
from nerve.onnx import (  # noqa: F401  (they register converters)
    convert_layers,
    convert_layers_more,
    convert_nn,
    convert_nn_more,
    convert_quantized,
)
from nerve.onnx._deps import require_onnx, require_onnxruntime
from nerve.onnx.graph import ExportError, GraphBuilder, Value
from nerve.onnx.registry import NOT_EXPORTABLE, TRACED, Call, find_converter
from nerve.onnx.trace import grown_run_failed, trace
from nerve.quantization.quantize import host_copy

MIN_OPSET = 13  # Unsqueeze/Squeeze/Split with their axes as inputs
DEFAULT_OPSET = 17  # LayerNormalization

# torch.onnx.export's options that change nothing in nerve's export (its own exporter's
# diagnostics and optimizer switches); accepted so that torch code runs unchanged
_IGNORED = (
    "dynamo",
    "external_data",
    "report",
    "optimize",
    "profile",
    "dump_exported_program",
    "artifacts_dir",
    "fallback",
    "do_constant_folding",
    "autograd_inlining",
)


def export(
    model,
    args=(),
    f=None,
    opset: int | None = None,
    dynamic_batch: bool | int | None = None,
    input_names=None,
    output_names=None,
    quantize: str | None = None,
    calibration_data=None,
    *,
    kwargs: dict | None = None,
    verbose: bool | None = None,
    opset_version: int | None = None,
    dynamic_axes=None,
    training=None,
    export_params: bool = True,
    keep_initializers_as_inputs: bool | None = None,
    operator_export_type=None,
    custom_opsets=None,
    export_modules_as_functions=False,
    dynamic_shapes=None,
    custom_translation_table=None,
    verify: bool = False,
    example_input=None,
    path=None,
    **ignored,
):
    """Write ``model`` as an ONNX file, as ``torch.onnx.export`` does, and return the path.

    The model runs in inference mode (``eval()``: dropout removed, batch norm on its running
    statistics); its training flags are restored afterwards. Models built from nerve's modules
    (``nn.Sequential``, Keras-style ``Sequential`` and functional models, single modules) are
    converted module by module; a module with its own ``forward()`` (or a layer with its own
    ``call()``) is traced: its ops are recorded during one forward pass and each is written in
    its ONNX form. The graph is checked with ``onnx.checker``.

    Unlike torch, axis 0 of every input is dynamic by default (``dynamic_batch=True``);
    ``dynamic_axes`` (torch's way) or ``dynamic_batch=False`` say otherwise.

    Args:
        model: an ``nn.Module`` (any, with or without its own ``forward()``), a Keras-style
            ``Sequential`` or ``Model``, or a single layer.
        args: the example input: a Tensor or array, or a tuple of them (several inputs; a
            dict at the end holds keyword inputs, as in torch). ``example_input`` is its older
            name. Integer ids (for Embedding) stay integers.
        f: where to write: a path or a binary file object; None returns the ``onnx``
            ModelProto instead. ``path`` is its older name.
        opset: the ONNX opset (``opset_version`` is torch's name), 13 or later; default 17.
            LayerNormalization needs 17; an op that needs a later opset says which.
        dynamic_batch: True: axis 0 of every input (and what follows from it) is dynamic; an
            int names another batch axis (e.g. 1 for time-major sequences); False fixes it.
        input_names, output_names: the graph's names (defaults: the functional model's input
            names and output layer names, else ``input`` / ``output`` with an index when
            there are several).
        quantize: None, or ``'int8'`` for a static int8 model (onnxruntime's QDQ format,
            symmetric per-channel int8 weights, uint8 activations, ``reduce_range``),
            calibrated on ``calibration_data``.
        calibration_data: for ``quantize='int8'``: an array (batches of 32 are taken from it)
            or an iterable of batches (arrays, or tuples of arrays for several inputs).
        kwargs: keyword inputs of the model (Tensors), after the positional ones.
        verbose: print the graph.
        dynamic_axes: torch's ``{name: {axis: "dim_name"}}`` or ``{name: [axes]}`` for inputs
            and outputs; the listed input axes are dynamic, nothing else is.
        training: torch's TrainingMode: EVAL (default) or PRESERVE on a model in eval mode;
            a training-mode graph is not exported.
        export_params: must be True (weights are stored in the file).
        keep_initializers_as_inputs: also list the weights as graph inputs (old runtimes).
        verify: run the file with onnxruntime on the example and compare with nerve.
        dynamic_shapes: torch's dynamo-era form of dynamic_axes: ``{arg: {axis: Dim("n")}}``
            keyed by forward()'s argument names (or a tuple by position).
        operator_export_type, custom_opsets, export_modules_as_functions,
            custom_translation_table: torch's; only their defaults are accepted.
        ignored: torch's other options (``dynamo``, ``external_data``, ``optimize``,
            ``do_constant_folding``, ``report``, ...), which change nothing here.

    Returns:
        The path written, as a string; the file object for a file object; the ModelProto when
        ``f`` is None.

    Raises:
        ImportError: without the ``onnx`` extra (``pip install nerve[onnx]``).
        ExportError: (a ValueError) naming the module or op that has no ONNX form, and why.
        ValueError, TypeError: bad arguments (named).

    >>> import os, tempfile
    >>> import numpy as np
    >>> from nerve import nn, onnx
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> onnx.export(net, np.zeros((1, 4), np.float32), path) == path
    True
    >>> import nerve
    >>> class Net(nn.Module):  # its own forward(): traced
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(4, 3)
    ...     def forward(self, x):
    ...         return nerve.nn.functional.log_softmax(self.fc(x).relu() * 2, dim=1)
    >>> onnx.export(Net(), (nerve.randn(1, 4),), path, input_names=["x"], output_names=["y"],
    ...             dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}) == path
    True
    """
    onnx = require_onnx()
    unknown = sorted(set(ignored) - set(_IGNORED))
    if unknown:
        raise TypeError(f"nerve.onnx.export: unexpected keyword argument(s) {unknown}")
    if example_input is not None:
        args = example_input
    if path is not None:
        f = path
    opset = _opset(onnx, opset, opset_version)
    _refuse(
        export_params=(export_params, True),
        operator_export_type=(_enum_name(operator_export_type), (None, "ONNX")),
        custom_opsets=(custom_opsets or None, None),
        export_modules_as_functions=(export_modules_as_functions or False, False),
        custom_translation_table=(custom_translation_table, None),
    )
    if quantize not in (None, "int8"):
        raise ValueError(f"nerve.onnx.export: quantize must be None or 'int8', got {quantize!r}")
    if quantize and calibration_data is None:
        raise ValueError("nerve.onnx.export: quantize='int8' needs calibration_data")
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"nerve.onnx.export: expected a Module or Model, got {type(model).__name__}"
        )
    _check_training(model, training)
    # weights are read on the host, where the file is written: a model on a GPU is exported
    # from a host copy (the model itself stays where it is)
    model = host_copy(model)
    examples, kw_names = _examples(args, kwargs)
    in_default = _default_input_names(model, examples, kw_names)
    in_names = _names(input_names, in_default, "input_names")
    if dynamic_shapes is not None:
        if dynamic_axes is not None:
            raise ValueError("nerve.onnx.export: give dynamic_shapes or dynamic_axes, not both")
        dynamic_axes = _from_dynamic_shapes(model, dynamic_shapes, in_names, kw_names)
    dyn = _dynamic(examples, in_names, dynamic_batch, dynamic_axes, output_names)
    proto = _build(
        onnx, model, examples, kw_names, dyn, opset, in_names, output_names, dynamic_axes or {}
    )
    if keep_initializers_as_inputs:
        known = {i.name for i in proto.graph.input}
        for init in proto.graph.initializer:
            if init.name not in known:
                proto.graph.input.append(
                    onnx.helper.make_tensor_value_info(init.name, init.data_type, init.dims)
                )
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    if verify:
        _verify(proto, model, examples, kw_names)
    if f is None:
        if quantize:
            raise ValueError("nerve.onnx.export: quantize='int8' needs a path to write to")
        return proto
    if hasattr(f, "write"):
        if quantize:
            raise ValueError("nerve.onnx.export: quantize='int8' needs a path, not a file object")
        f.write(proto.SerializeToString())
        return f
    path = os.fspath(f)
    if quantize is None:
        atomic_write_bytes(path, proto.SerializeToString())
    else:
        from nerve.onnx.int8 import quantize_file

        quantize_file(proto, path, _calibration_batches(calibration_data, len(examples)))
    return path


# ----------------------------------------------------------------------------- options
def _enum_name(value):
    return getattr(value, "name", value)


def _opset(onnx, opset, opset_version) -> int:
    if opset is not None and opset_version is not None and opset != opset_version:
        raise ValueError(
            f"nerve.onnx.export: opset={opset!r} and opset_version={opset_version!r} differ"
        )
    opset = opset if opset is not None else opset_version
    opset = DEFAULT_OPSET if opset is None else opset
    top = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= top:
        raise ValueError(
            f"nerve.onnx.export: opset must be an int from {MIN_OPSET} to {top}, got {opset!r} "
            f"(LayerNormalization needs 17)"
        )
    return opset


def _refuse(**options) -> None:
    for name, (value, allowed) in options.items():
        allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        if value not in allowed:
            raise ValueError(
                f"nerve.onnx.export: {name}={value!r} is not supported (only "
                f"{' or '.join(map(repr, allowed))})"
            )


def _check_training(model, training) -> None:
    mode = _enum_name(training)
    mode = mode.upper() if isinstance(mode, str) else mode
    if mode in (None, False, "EVAL"):
        return
    if mode == "PRESERVE" and not any(m.training for m in model.modules()):
        return
    raise ValueError(
        f"nerve.onnx.export: training={training!r}: nerve exports inference graphs only "
        "(dropout off, batch norm on its running statistics); use training=TrainingMode.EVAL "
        "or call model.eval() first"
    )


def _default_input_names(model, examples, kw_names) -> list:
    n_pos = len(examples) - len(kw_names)
    if isinstance(model, Model) and model._graph is not None and len(model.inputs) == n_pos:
        names = [kt.name or f"input_{i}" for i, kt in enumerate(model.inputs)]
    else:
        names = _default_names("input", n_pos)
    return names + list(kw_names)


def _dynamic(examples, in_names, dynamic_batch, dynamic_axes, output_names) -> list:
    """Per input: {axis: dim name} of its dynamic axes."""
    if dynamic_axes is not None:
        if dynamic_batch is not None:
            raise ValueError("nerve.onnx.export: give dynamic_axes or dynamic_batch, not both")
        outs = [output_names] if isinstance(output_names, str) else list(output_names or [])
        unknown = [k for k in dynamic_axes if k not in in_names and k not in outs]
        if unknown:
            raise ValueError(
                f"nerve.onnx.export: dynamic_axes names {unknown}, which are neither inputs "
                f"{in_names} nor outputs {outs} (give input_names / output_names)"
            )
        dyn = []
        for name, x in zip(in_names, examples):
            axes = _axes_spec(dynamic_axes.get(name, {}), name, x.ndim)
            dyn.append(axes)
        return dyn
    if dynamic_batch is None or dynamic_batch is True:
        axis = 0
    elif dynamic_batch is False:
        return [{} for _ in examples]
    else:
        axis = int(dynamic_batch)
    for x in examples:
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(
                f"nerve.onnx.export: batch axis {axis} is out of range for an example input "
                f"of shape {x.shape}"
            )
    return [{axis % x.ndim: "batch"} for x in examples]


def _from_dynamic_shapes(model, shapes, in_names: list, kw_names: list) -> dict:
    """torch's ``dynamic_shapes`` (keyed by forward()'s argument names, or a tuple by position;
    per input ``{axis: Dim("name") | "name" | Dim.AUTO | None}``) as dynamic_axes."""
    n_pos = len(in_names) - len(kw_names)
    if isinstance(shapes, dict):
        forward = getattr(model, "call", None) if isinstance(model, Model) else None
        params = list(inspect.signature(forward or model.forward).parameters)
        keys = params[:n_pos] + list(kw_names)
        unknown = [k for k in shapes if k not in keys and k not in in_names]
        if unknown:
            raise ValueError(
                f"nerve.onnx.export: dynamic_shapes names {unknown}; forward() takes {keys}"
            )
        specs = [shapes.get(k, shapes.get(n)) for k, n in zip(keys, in_names)]
    else:
        specs = list(shapes) + [None] * (len(in_names) - len(shapes))
    axes = {}
    for name, spec in zip(in_names, specs):
        items = spec.items() if isinstance(spec, dict) else enumerate(spec or ())
        dims = {}
        for axis, dim in items:
            hint = getattr(getattr(dim, "type", None), "name", None)  # Dim.AUTO, Dim.STATIC
            if dim is None or hint == "STATIC":
                continue
            label = dim if isinstance(dim, str) else getattr(dim, "__name__", None)
            dims[axis] = label or f"{name}_dim{axis}"
        if dims:
            axes[name] = dims
    return axes


def _axes_spec(spec, name: str, ndim: int) -> dict:
    items = spec.items() if isinstance(spec, dict) else ((a, None) for a in spec)
    out = {}
    for axis, dim in items:
        if not isinstance(axis, int) or not -ndim <= axis < ndim:
            raise ValueError(
                f"nerve.onnx.export: dynamic_axes[{name!r}] names axis {axis!r}; the input "
                f"has {ndim} dims"
            )
        out[axis % ndim] = str(dim) if dim is not None else f"{name}_dynamic_axes_{axis % ndim}"
    return out


# ----------------------------------------------------------------------------- inputs
def _array(x) -> np.ndarray:
    a = to_host(x)  # an example on a GPU is copied to the host
    if a.dtype.kind == "f":
        a = a.astype(np.float32)
    elif a.dtype.kind not in "iub":
        raise TypeError(f"nerve.onnx.export: example inputs must be numeric, got {a.dtype}")
    return a


def _examples(args, kwargs) -> tuple:
    """The example inputs as arrays (positional, then keyword) and the keyword names."""
    if isinstance(args, (tuple, list)):
        items = list(args)
    else:
        items = [args]
    kw = dict(kwargs or {})
    if items and isinstance(items[-1], dict):  # torch: a dict at the end holds keyword inputs
        kw = {**items.pop(), **kw}
    kw = {k: v for k, v in kw.items() if v is not None}
    if not items and not kw:
        raise ValueError("nerve.onnx.export: args (the example input) is empty")
    return [_array(x) for x in items] + [_array(v) for v in kw.values()], list(kw)


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
    def __init__(self, g: GraphBuilder, inputs: list):
        self.g, self.inputs = g, inputs

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
        return self._leaf(module, args, kwargs, prefix)

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

    def _leaf(self, module, args: tuple, kwargs: dict, path: str):
        prefix = path or type(module).__name__.lower()  # how errors and weights name it
        convert = find_converter(module)
        if convert is None:
            for c in type(module).__mro__:
                if c in NOT_EXPORTABLE:
                    raise ExportError(
                        f"nerve.onnx.export: {type(module).__name__} {prefix!r} cannot be "
                        f"exported: {NOT_EXPORTABLE[c]}"
                    )
                if c in TRACED:
                    return trace(self.g, module, args, kwargs, path, self.inputs)
            raise ExportError(  # pragma: no cover - every Module is under nn.Module
                f"nerve.onnx.export: {type(module).__name__} {prefix!r} has no ONNX converter"
            )
        out_a = module(*_to_tensors(args, "a"), **_to_tensors(kwargs, "a"))
        try:
            out_b = module(*_to_tensors(args, "b"), **_to_tensors(kwargs, "b"))
        except Exception as exc:
            raise grown_run_failed(f"{type(module).__name__} {prefix!r}", exc) from exc
        flat_a, flat_b = _flatten(out_a, []), _flatten(out_b, [])
        outs = [
            None if a is None else Value(None, np.asarray(a._data), np.asarray(b._data))
            for a, b in zip(flat_a, flat_b)
        ]
        call = Call(module, args, kwargs, outs, prefix)
        try:
            names = convert(self.g, call)
        except ExportError as exc:
            if str(exc).startswith("nerve.onnx"):
                raise
            raise call.fail(str(exc)) from None
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
    given = [str(n) for n in ([given] if isinstance(given, str) else list(given))]
    # as torch: fewer names than tensors name the first ones, the rest keep their defaults
    names = given + default[len(given) :]
    if len(given) > len(default) or len(set(names)) != len(names):
        raise ValueError(
            f"nerve.onnx.export: {what} must be at most {len(default)} distinct name(s), "
            f"got {given}"
        )
    return names


def _value_info(onnx, name: str, a: np.ndarray, b: np.ndarray, sizes: dict, given: dict):
    """A graph input or output: static dims, and named dims where the two runs differ (the
    name given in dynamic_axes, else the input dim's name whose sizes match)."""
    dims = []
    for i, (p, q) in enumerate(zip(a.shape, b.shape)):
        if p == q and i not in given:
            dims.append(int(p))
        else:
            dims.append(given.get(i) or sizes.get((p, q)) or f"{name}_dim{i}")
    dtype = onnx.helper.np_dtype_to_tensor_dtype(a.dtype)
    return onnx.helper.make_tensor_value_info(name, dtype, dims)


def _grown(a: np.ndarray, axes: dict, steps: dict) -> np.ndarray:
    """The example grown along each dynamic axis (by a step per dim name, so that two dims of
    the same size stay apart): the second run that shows which sizes follow them."""
    for axis, dim in axes.items():
        extra = np.repeat(np.take(a, [0], axis=axis), steps[dim], axis=axis)
        a = np.concatenate([a, extra], axis=axis)
    return a


def _build(onnx, model, examples, kw_names, dyn, opset, in_names, output_names, dynamic_axes):
    g = GraphBuilder(opset)
    for n in in_names:
        g.reserve(n)
    steps = {}
    for axes in dyn:
        for dim in axes.values():
            steps.setdefault(dim, len(steps) + 1)
    inputs = [
        Value(name, a, _grown(a, axes, steps)) for name, a, axes in zip(in_names, examples, dyn)
    ]
    sizes = {}
    for v, axes in zip(inputs, dyn):
        for axis, dim in axes.items():
            sizes.setdefault((v.a.shape[axis], v.b.shape[axis]), dim)
    n_pos = len(inputs) - len(kw_names)
    with evaluating(model), no_grad():
        walker = _Walker(g, inputs)
        kw = dict(zip(kw_names, inputs[n_pos:]))
        result = walker.run(model, tuple(inputs[:n_pos]), kw, "")
    outs = [v for v in _flatten_all(result, []) if v is not None]
    functional = isinstance(model, Model) and model._graph is not None
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
    out_dims = {
        n: _axes_spec(dynamic_axes[n], n, v.ndim)
        for v, n in zip(outs, out_names)
        if n in dynamic_axes
    }
    graph = onnx.helper.make_graph(
        g.nodes,
        getattr(model, "name", None) or type(model).__name__,
        [_value_info(onnx, v.name, v.a, v.b, sizes, axes) for v, axes in zip(inputs, dyn)],
        [
            _value_info(onnx, n, v.a, v.b, sizes, out_dims.get(n, {}))
            for v, n in zip(outs, out_names)
        ],
        initializer=g.initializers,
    )
    proto = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="nerve"
    )
    proto.ir_version = min(proto.ir_version, 10)  # readable by onnxruntime >= 1.18
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _flatten_all(structure, out: list) -> list:
    if isinstance(structure, (list, tuple)):
        for s in structure:
            _flatten_all(s, out)
    elif isinstance(structure, dict):
        for s in structure.values():
            _flatten_all(s, out)
    else:
        out.append(structure)
    return out


def _verify(proto, model, examples, kw_names) -> None:
    """Run the graph with onnxruntime on the example and compare with nerve's outputs."""
    ort = require_onnxruntime()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(session.get_inputs(), examples)}
    got = session.run(None, feed)
    n_pos = len(examples) - len(kw_names)
    with evaluating(model), no_grad():
        tensors = [Tensor(x) for x in examples]
        out = model(*tensors[:n_pos], **dict(zip(kw_names, tensors[n_pos:])))
    want = [np.asarray(t._data) for t in _flatten_all(out, []) if t is not None]
    for k, (a, b) in enumerate(zip(got, want)):
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True):
            diff = np.max(np.abs(a - b)) if a.shape == b.shape else f"shape {a.shape}"
            raise ExportError(
                f"nerve.onnx.export(verify=True): output {k} of onnxruntime differs from "
                f"nerve's (max difference {diff}, nerve's shape {b.shape})"
            )
