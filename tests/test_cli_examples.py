"""``nerve examples``: the gallery listed from the checkout, one example run, clear errors."""

from __future__ import annotations

import pytest

from nerve.cli import main
from nerve.cli_examples import EXAMPLES, ExamplesError, find_examples


def test_lists_every_example_with_its_lesson(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    scripts = sorted(p.stem for p in EXAMPLES.glob("[a-z]*.py"))
    assert scripts, "the checkout has examples"
    for name in scripts:
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 10, f"{name} has no one-line summary"
    assert "_common" not in out


def test_every_example_has_a_one_line_docstring():
    for name, summary in find_examples().items():
        assert summary and summary.endswith("."), f"examples/{name}.py: first docstring line"


def test_runs_one_example_with_its_options(capsys):
    # --help runs the script in a subprocess without training anything
    assert main(["examples", "digits_mlp", "--help"]) == 0


def test_unknown_example_is_a_one_line_error(capsys):
    assert main(["examples", "no_such_lesson"]) == 2
    err = capsys.readouterr().err
    assert "no example named 'no_such_lesson'" in err and "digits_mlp" in err


def test_missing_checkout_says_where_the_gallery_lives(tmp_path):
    with pytest.raises(ExamplesError, match="source checkout"):
        find_examples(tmp_path / "absent")
