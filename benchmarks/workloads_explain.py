"""The explanation workload: IntegratedGradients on the suite's CNN, nerve.explain vs Captum.

One call attributes a batch of 32 Fashion-MNIST test images (the predicted class of each) with
``n_steps=50`` Gauss-Legendre steps: one forward and one backward over 32 x 50 images, as Captum
does without ``internal_batch_size``. The torch side is Captum's IntegratedGradients on the torch
twin of the same CNN, holding the nerve model's weights; it is left out (nerve alone) when captum
is not installed. Registered at the end of ``benchmarks.workloads`` (import that module, not this
one, first: this one builds on its names).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

from benchmarks.data import Data
from benchmarks.workloads import Plan, Workload, cnn, framework

IMAGES = 32
N_STEPS = 50


def captum_available() -> bool:
    """Whether captum can be imported (the torch side of the workload needs it)."""
    return importlib.util.find_spec("captum") is not None


class ExplainWorkload(Workload):
    """A workload whose torch side runs Captum: measured only when captum is installed."""

    def sides(self, with_torch: bool) -> tuple[str, ...]:
        return ("nerve", "torch") if with_torch and captum_available() else ("nerve",)


def _integrated_gradients(side: str, data: Data) -> Callable[[int], None]:
    import nerve

    nerve.manual_seed(0)
    model = cnn(nerve.nn)
    model.eval()
    x = np.ascontiguousarray(data.test_x[:IMAGES]).reshape(-1, 1, 28, 28)
    with nerve.no_grad():
        targets = model(nerve.from_numpy(x)).numpy().argmax(axis=1).tolist()
    if side == "nerve":
        from nerve.explain import IntegratedGradients

        explainer, inputs = IntegratedGradients(model), nerve.from_numpy(x)
    elif side == "torch":
        from captum.attr import IntegratedGradients

        fw = framework("torch")
        twin = cnn(fw.nn)
        twin.load_state_dict(
            {k: fw.tensor(v.numpy().copy()) for k, v in model.state_dict().items()}
        )
        twin.eval()
        explainer, inputs = IntegratedGradients(twin), fw.tensor(x)
    else:
        raise ValueError(f"explain workload: side must be 'nerve' or 'torch', got {side!r}")

    def step(i: int) -> None:
        explainer.attribute(inputs, target=targets, n_steps=N_STEPS)

    return step


IG = ExplainWorkload(
    "explain_ig",
    f"IntegratedGradients n_steps={N_STEPS}, CNN, batch {IMAGES} (torch: Captum)",
    "infer",  # no loss to report
    1.5,
    _integrated_gradients,
    Plan(1, 11, 1),
    Plan(0, 2, 1),
)
