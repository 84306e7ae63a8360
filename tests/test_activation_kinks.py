"""The piecewise-linear activations' values and gradients at their kinks, as torch has them.

Built from clamp/where, these once took clamp's gradient (1 at its bounds) and ``x >= 0``
where torch's kernels use strict bounds (hardtanh, relu6, hardsigmoid, hardswish) and ``x > 0``
(prelu, rrelu). examples/activations.py found the difference.
"""

from __future__ import annotations

import numpy as np
import pytest

import nerve

KINKS = [-7.0, -3.0, -1.0, -0.0, 0.0, 1.0, 2.5, 3.0, 6.0, 7.0]


def _value_and_grad(lib, fn):
    x = lib.tensor(KINKS, requires_grad=True)
    y = fn(lib, x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


CASES = {
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x),
    "hardtanh(-2, 3)": lambda m, x: m.nn.functional.hardtanh(x, -2.0, 3.0),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "hardsigmoid": lambda m, x: m.nn.functional.hardsigmoid(x),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x),
    "prelu": lambda m, x: m.nn.functional.prelu(x, m.tensor([0.25])),
    "rrelu(train, fixed slope)": lambda m, x: m.nn.functional.rrelu(x, 0.2, 0.2, training=True),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.1),
    "nn.Hardtanh": lambda m, x: m.nn.Hardtanh(-1.0, 1.0)(x),
    "nn.ReLU6": lambda m, x: m.nn.ReLU6()(x),
}


@pytest.mark.parametrize("name", list(CASES))
def test_kinks_match_torch(name, torch):
    ours = _value_and_grad(nerve, CASES[name])
    theirs = _value_and_grad(torch, CASES[name])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=0)  # a kink's 0 is exact


def test_gradient_is_zero_at_and_outside_the_bounds():
    _, grad = _value_and_grad(nerve, CASES["hardtanh(-2, 3)"])
    assert grad.tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 0]
