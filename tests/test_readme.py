"""The README's PyTorch example is a PyTorch program: the same text runs on torch and on nerve.

The README shows it with nerve's imports; the test turns them back into torch's and runs both.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
TO_TORCH = {
    "import nerve as torch": "import torch",
    "from nerve import nn": "from torch import nn",
    "from nerve.utils.data import": "from torch.utils.data import",
}


def torch_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    [block] = [b for b in blocks if "import nerve as torch" in b]
    return block


def as_torch(source: str) -> str:
    out = []
    for line in source.splitlines():
        for ours, theirs in TO_TORCH.items():
            if line.startswith(ours):
                line = theirs + line[len(ours) :]
        out.append(line)
    text = "\n".join(out)
    assert "nerve" not in text, "the example uses nerve beyond its import lines"
    return text


def run(source: str, workdir: pathlib.Path) -> dict:
    namespace = {"__name__": "__main__"}
    cwd = os.getcwd()
    workdir.mkdir()
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


@pytest.mark.skipif(
    not os.path.exists(DATA), reason="needs the Debian package dataset-fashion-mnist"
)
def test_readme_pytorch_example_runs_on_torch_and_on_nerve(torch, tmp_path):
    source = torch_example()
    ours = run(source, tmp_path / "nerve")
    theirs = run(as_torch(source), tmp_path / "torch")
    for namespace, folder in ((ours, "nerve"), (theirs, "torch")):
        assert namespace["accuracy"] > 0.8, folder
        assert (tmp_path / folder / "mlp.pt").exists()
    assert abs(float(ours["accuracy"]) - float(theirs["accuracy"])) < 0.05
