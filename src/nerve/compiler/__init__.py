"""Compiled plans: a model's kernels recorded once and replayed on NumPy (``nerve.compile``).

The package is named ``compiler`` (as ``torch.compiler``) so that ``nerve.compile`` stays the
function. See :func:`nerve.compiler.api.compile`.
"""

from nerve.compiler.api import CompiledGradients, CompiledModule, CompiledTrainStep, compile  # noqa: A004

__all__ = ["CompiledGradients", "CompiledModule", "CompiledTrainStep", "compile"]
