"""``nerve examples``: list the gallery of a source checkout, or run one of its lessons.

    nerve examples                 one line per example: its name and the lesson it teaches
    nerve examples NAME [--quick]  run examples/NAME.py (options go to the script)

The examples are scripts beside the package in a source checkout (``examples/``), not part of
an installed wheel; without a checkout the command says so.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class ExamplesError(ValueError):
    """A problem the user can fix (no checkout, an unknown name): one line, exit status 2."""


def find_examples(folder: Path = EXAMPLES) -> dict[str, str]:
    """``{name: first line of its docstring}`` for every ``examples/NAME.py`` (sorted by name).

    The docstrings are read with ``ast``: listing runs nothing.

    Raises:
        ExamplesError: there is no examples folder (nerve is installed without its checkout).
    """
    if not folder.is_dir():
        raise ExamplesError(
            f"no examples folder at {folder}: the gallery lives in nerve's source checkout "
            "(clone the repository and run `nerve examples` there)"
        )
    found = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found[path.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return found


def cmd_examples(args) -> int:
    """List the examples, or run one with the remaining options."""
    found = find_examples()
    if not args.name:
        width = max(map(len, found), default=0)
        for name, summary in found.items():
            print(f"{name:<{width}}  {summary}")
        print(f"\nrun one: nerve examples NAME [--quick]   ({len(found)} in {EXAMPLES})")
        return 0
    if args.name not in found:
        raise ExamplesError(f"no example named {args.name!r}; the gallery has: {', '.join(found)}")
    command = [sys.executable, str(EXAMPLES / f"{args.name}.py"), *args.options]
    return subprocess.run(command, check=False).returncode


def add_examples_parser(sub) -> None:
    """Add ``nerve examples`` to the command's subparsers."""
    examples = sub.add_parser(
        "examples", help="list the example gallery, or run one (nerve examples NAME --quick)"
    )
    examples.add_argument("name", nargs="?", default=None, help="the example to run")
    examples.add_argument(
        "options", nargs=argparse.REMAINDER, help="options for the example (e.g. --quick)"
    )
    examples.set_defaults(func=cmd_examples)
