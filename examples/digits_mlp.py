"""Train a small MLP on scikit-learn's 8x8 digits using nothing but nerve's Tensor ops.

This is the network of a from-scratch tutorial: two affine layers, ReLU, softmax cross-entropy
written out by hand, and plain minibatch SGD. Run: python examples/digits_mlp.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nerve


def load_digits(seed: int = 0):
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:
        raise SystemExit("this example needs scikit-learn: pip install scikit-learn") from exc
    x, y = sk_load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = len(x) // 5
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def init_params(sizes, seed: int = 0):
    nerve.manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = float(np.sqrt(6.0 / fan_in))  # He-uniform, good for ReLU
        w = (nerve.rand(fan_in, fan_out) * 2 - 1) * bound
        params += [w.requires_grad_(), nerve.zeros(fan_out, requires_grad=True)]
    return params


def forward(params, x):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = h.relu()
    return h


def cross_entropy(logits, labels):
    """Mean of -log softmax(logits)[label], with the log-sum-exp trick for stability."""
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    picked = log_probs[nerve.arange(len(labels)), labels]
    return -picked.mean()


def train(epochs: int = 30, batch_size: int = 32, lr: float = 0.1, seed: int = 0, verbose=True):
    (x_train, y_train), (x_test, y_test) = load_digits(seed)
    params = init_params([64, 64, 10], seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = cross_entropy(forward(params, nerve.tensor(x_train[idx])), y_train[idx])
            for p in params:
                p.grad = None
            loss.backward()
            with nerve.no_grad():
                for p in params:
                    p -= lr * p.grad
            total += loss.item() * len(idx)
        if verbose and (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  loss {total / len(x_train):.4f}")
    with nerve.no_grad():
        pred = forward(params, nerve.tensor(x_test)).argmax(dim=1).numpy()
    accuracy = float((pred == y_test).mean())
    if verbose:
        print(
            f"test accuracy {accuracy:.4f} on {len(y_test)} digits "
            f"({time.perf_counter() - start:.1f} s for {epochs} epochs)"
        )
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train(args.epochs, lr=args.lr, seed=args.seed)
