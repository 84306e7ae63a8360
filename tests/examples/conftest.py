"""Run a gallery example in-process in quick mode: ``run_example("gan", tmp_path)``.

Each example is a script in ``examples/`` with ``main(argv) -> dict``; importing it by path
(instead of a subprocess per script) keeps nerve, torch and matplotlib imported once.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str):
    """The module ``examples/NAME.py`` (with ``examples/`` importable for ``_common``)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread for every example: their small matmuls gain nothing from two, and on a
    busy 2-core machine OpenBLAS's waiting threads made them 30-100x slower (300 s, not 3 s)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def run_example(tmp_path):
    """Run an example with ``--quick --out tmp``; returns (results dict, output folder).

    Also checks the contract every example keeps: main returns what it wrote to results.json.
    """

    def run(name: str, *extra: str):
        out = tmp_path / name
        results = load_example(name).main(["--quick", "--out", str(out), *extra])
        written = json.loads((out / "results.json").read_text())
        assert written == json.loads(json.dumps(results)), "results.json differs from main()"
        return results, out

    return run
