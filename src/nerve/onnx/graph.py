"""GraphBuilder: the ONNX nodes and weights of one export, and Value, a tensor in that graph.

A Value carries its ONNX name and what nerve computed for it on two batches of different sizes
(the example input and the example plus one sample): the dims that differ between the two are
the dynamic (batch) dims, so converters can write Reshape targets that keep the batch dynamic.
"""

from __future__ import annotations

import numpy as np

from nerve.onnx._deps import require_onnx


class ExportError(ValueError):
    """A model, module or argument that nerve.onnx cannot express as ONNX."""


# ONNX operators newer than the oldest opset nerve writes (13), and the opset that brought them
MIN_OPSET_OF = {"Trilu": 14, "LayerNormalization": 17, "Col2Im": 18, "GroupNormalization": 18}


class Value:
    """One tensor of the graph: its ONNX name and nerve's values at two batch sizes."""

    __slots__ = ("name", "a", "b")

    def __init__(self, name: str | None, a: np.ndarray, b: np.ndarray):
        self.name, self.a, self.b = name, a, b

    @property
    def shape(self) -> tuple:
        return tuple(self.a.shape)

    @property
    def ndim(self) -> int:
        return self.a.ndim

    @property
    def dynamic(self) -> tuple:
        """The axes whose size follows the batch size."""
        return tuple(i for i, (p, q) in enumerate(zip(self.a.shape, self.b.shape)) if p != q)

    def target_shape(self, what: str) -> list:
        """This value's shape as a Reshape target: -1 on the one dynamic axis."""
        dyn = self.dynamic
        if len(dyn) > 1:
            raise ExportError(
                f"{what}: cannot reshape to {self.shape} with more than one dynamic axis {dyn}"
            )
        return [-1 if i in dyn else int(s) for i, s in enumerate(self.shape)]


class GraphBuilder:
    """Collects nodes and initializers; ``op`` adds a node and returns its output name(s)."""

    def __init__(self, opset: int):
        self.onnx = require_onnx()
        self.helper = self.onnx.helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._names: set = set()
        self._consts: dict = {}

    def fresh(self, base: str) -> str:
        """A name not used yet in this graph, based on ``base``."""
        base = base.replace("/", ".") or "t"
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def reserve(self, name: str) -> str:
        if name in self._names:
            raise ExportError(f"nerve.onnx.export: the name {name!r} is given twice")
        self._names.add(name)
        return name

    def free(self, name: str) -> str | None:
        """Make ``name`` available (for a graph output) by renaming the tensor that has it;
        returns the tensor's new name (None when the name was free)."""
        if name not in self._names:
            return None
        new = self.fresh(f"{name}.internal")
        for node in self.nodes:
            for field in (node.input, node.output):
                for i, n in enumerate(field):
                    if n == name:
                        field[i] = new
        for init in self.initializers:
            if init.name == name:
                init.name = new
        self._consts = {k: (new if v == name else v) for k, v in self._consts.items()}
        self._names.discard(name)
        return new

    def const(self, array, name: str = "const", dtype=None) -> str:
        """An initializer holding ``array`` (float arrays are stored as float32)."""
        a = np.asarray(array)
        if dtype is not None:
            a = a.astype(dtype)
        elif a.dtype.kind == "f":
            a = a.astype(np.float32)
        elif a.dtype.kind in "iub":
            a = a.astype(np.int64) if a.dtype.kind != "b" else a
        a = np.ascontiguousarray(a)
        if a.size <= 16:  # small constants (shapes, scalars) are shared
            key = (a.dtype.str, a.shape, a.tobytes())
            if key in self._consts:
                return self._consts[key]
        out = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(a, out))
        if a.size <= 16:
            self._consts[key] = out
        return out

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), "shape")

    def scalar(self, value: float) -> str:
        return self.const(np.asarray(value, dtype=np.float32), "scalar")

    def op(self, op_type: str, inputs, outputs: int = 1, name: str | None = None, **attrs):
        """Add an ``op_type`` node; returns its output name, or a list of ``outputs`` names."""
        need = MIN_OPSET_OF.get(op_type, 13)
        if op_type == "Shape" and "start" in attrs:
            need = 15
        if self.opset < need:
            raise ExportError(
                f"ONNX {op_type} needs opset {need} or later (this export asks for opset "
                f"{self.opset}); export with opset_version={max(need, 17)}"
            )
        base = name or op_type.lower()
        outs = [self.fresh(base if outputs == 1 else f"{base}.{i}") for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            self.helper.make_node(
                op_type, list(inputs), outs, name=self.fresh(f"node.{base}"), **attrs
            )
        )
        return outs[0] if outputs == 1 else outs
