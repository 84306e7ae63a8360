"""Small networks written only with Tensor ops learn: XOR, and the 8x8 digits to > 95%."""

import importlib.util
import pathlib

import numpy as np
import pytest

import nerve

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_mlp_learns_xor():
    nerve.manual_seed(1)
    x = nerve.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = nerve.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = nerve.randn(2, 8, requires_grad=True)
    b1 = nerve.zeros(8, requires_grad=True)
    w2 = nerve.randn(8, 1, requires_grad=True)
    b2 = nerve.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for _ in range(2000):
        out = ((x @ w1 + b1).tanh() @ w2 + b2).sigmoid()
        loss = ((out - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with nerve.no_grad():
            for p in params:
                p -= 1.0 * p.grad
    assert loss.item() < 0.01
    assert np.array_equal((out._data > 0.5).astype(np.float32), y._data)


def test_mlp_on_digits_reaches_95_percent():
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("digits_mlp", EXAMPLES / "digits_mlp.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.train(epochs=30, verbose=False) > 0.95
