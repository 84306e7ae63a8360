"""Plain PyTorch programs, run on torch and on nerve from the same source text (imports swapped).

Each file in programs/ is ordinary PyTorch code that fills ``RESULTS``; see tests/compat.py.
A program may set its tolerance with a comment line ``# compat: rtol=1e-3 atol=1e-4``.
``test_only_imports_change`` checks that the nerve run differs from the torch run in its import
lines alone. A program importing torchvision is skipped where torchvision is not installed.
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from compat import assert_same_results, run_both, to_nerve

PROGRAMS = sorted((pathlib.Path(__file__).parent / "programs").glob("*.py"))

# Programs that show a gap nerve has not closed yet: they must fail (strict), so closing the gap
# turns this list red and the entry is removed.
KNOWN_GAPS = {
    "autograd_grad_api": "autograd.grad(create_graph=True): nerve's backward records no graph, "
    "so second derivatives are not there yet",
}


def tolerance(source: str) -> dict:
    m = re.search(r"^# compat:(.*)$", source, re.M)
    return {k: float(v) for k, v in re.findall(r"(rtol|atol)=(\S+)", m[1])} if m else {}


@pytest.mark.parametrize(
    "program",
    [
        pytest.param(p, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[p.stem])])
        if p.stem in KNOWN_GAPS
        else p
        for p in PROGRAMS
    ],
    ids=[p.stem for p in PROGRAMS],
)
def test_program_matches_torch(program, torch, tmp_path):
    if re.search(r"^\s*(import|from)\s+torchvision\b", program.read_text(), re.M):
        pytest.importorskip("torchvision")  # the reference for nerve.vision; not always installed
    torch.manual_seed(0)
    reference, ours = run_both(program, tmp_path)
    assert_same_results(reference, ours, **tolerance(program.read_text()))


def _imported_modules(source: str) -> list[str]:
    mods = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            mods += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods.append(node.module or "")
    return mods


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_only_imports_change(program):
    """The nerve run imports no torch-named module, and only import lines were rewritten."""
    source = program.read_text()
    assert "nerve" not in source, f"{program.name} names nerve: it must be plain PyTorch"
    rewritten = to_nerve(source)
    leftover = [
        m for m in _imported_modules(rewritten) if m.split(".")[0] in ("torch", "torchvision")
    ]
    assert not leftover, f"{program.name}: still imports {leftover} after rewriting"
    import_lines = {
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
    }
    changed = {
        n
        for n, (old, new) in enumerate(zip(source.splitlines(), rewritten.splitlines()), 1)
        if old != new
    }
    assert changed <= import_lines, (
        f"{program.name}: non-import lines {changed - import_lines} changed"
    )
    assert any(m.split(".")[0] == "torch" for m in _imported_modules(source)), program.name
