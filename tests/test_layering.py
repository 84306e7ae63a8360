"""Import arrows go down: a module imports only from its own level of the package or below.

The levels are those of ARCHITECTURE.md, with one deliberate change: Tensor and its primitive
ops (``primitives/``) form one level with the engine, because Tensor's methods are those ops.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "nerve"

LEVELS = {
    "nerve.backend": 0,
    "nerve.strict": 0,
    "nerve.files": 0,
    "nerve.memory": 0,
    "nerve.device": 0,
    "nerve.cuda": 0,
    "nerve.accelerator": 0,
    "nerve.autograd": 1,
    "nerve.amp": 1,
    "nerve.primitives": 1,
    "nerve.testing": 1,
    "nerve.data": 2,
    "nerve.datasets": 2,
    "nerve.utils.data": 2,
    "nerve.vision": 2,
    "nerve.nn.functional": 3,
    "nerve.nn": 4,
    "nerve.optim": 5,
    "nerve.compiler": 5,
    "nerve.optimizers": 5,
    "nerve.losses": 5,
    "nerve.metrics": 5,
    "nerve.initializers": 5,
    "nerve.regularizers": 5,
    "nerve.variables": 5,
    "nerve.constraints": 5,
    "nerve.activations": 5,
    "nerve.layers": 6,
    "nerve.models": 7,
    "nerve.callbacks": 7,
    "nerve.utils": 7,
    "nerve.saving": 8,
    "nerve.onnx": 8,
    "nerve.quantization": 8,
    "nerve.plot": 8,
    "nerve.keras": 9,
    "nerve.compat": 9,
    "nerve.tune": 9,
    "nerve.sklearn": 9,
    "nerve.explain": 9,
    "nerve.distributed": 9,
    "nerve.cli": 10,
    "nerve.cli_examples": 10,
    "nerve.__main__": 10,
}


def level(module: str) -> int | None:
    best = None
    for prefix, lvl in LEVELS.items():
        matches = module == prefix or module.startswith(prefix + ".")
        if matches and (best is None or len(prefix) > len(best[0])):
            best = (prefix, lvl)
    return None if best is None else best[1]


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: pathlib.Path, name: str):
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            yield mod
            yield from (f"{mod}.{a.name}" for a in node.names)


def test_every_module_has_a_level():
    missing = [
        module_name(p)
        for p in ROOT.rglob("*.py")
        if module_name(p) != "nerve" and level(module_name(p)) is None
    ]
    assert not missing, f"modules missing from the layering map: {missing}"


def test_imports_point_down():
    upward = []
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        if name == "nerve":
            continue  # the package facade re-exports every level
        own = level(name)
        for target in imports(path, name):
            if target == "nerve" or not target.startswith("nerve."):
                continue
            lvl = level(target)
            if lvl is not None and lvl > own:
                upward.append(f"{name} (L{own}) imports {target} (L{lvl})")
    assert not upward, "upward imports:\n" + "\n".join(sorted(set(upward)))
