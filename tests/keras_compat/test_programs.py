"""Plain Keras 3 programs, run on Keras 3 (torch backend) and on nerve from the same source
text (imports swapped).

Each file in programs/ is ordinary Keras 3 code that fills ``RESULTS``; see tests/compat.py.
A program may set its tolerance with a comment line ``# compat: rtol=1e-3 atol=1e-4``.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from compat import assert_same_results, run_both

PROGRAMS = sorted((pathlib.Path(__file__).parent / "programs").glob("*.py"))


def tolerance(source: str) -> dict:
    m = re.search(r"^# compat:(.*)$", source, re.M)
    return {k: float(v) for k, v in re.findall(r"(rtol|atol)=(\S+)", m[1])} if m else {}


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_matches_keras(program, keras, tmp_path):
    reference, ours = run_both(program, tmp_path)
    assert_same_results(reference, ours, **tolerance(program.read_text()))
