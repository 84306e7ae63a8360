"""The seed's NumPy MLP in nerve Tensors, step by step: backprop by hand, checked by autograd.

The seed tutorial writes a 784-256-128-10 network by hand: ``Z = XW + b``, ``A = relu(Z)``,
softmax and cross-entropy in matrix form, the gradient by the chain rule, and plain gradient
descent. This example does the same with nerve Tensors, then

1. checks the hand gradient against nerve's autograd on one batch (the largest absolute
   difference, in float32 and in float64),
2. trains with the hand gradient (minibatch SGD),
3. trains the very same network (same initial weights, same batches) written with ``nn.Sequential``
   and ``optim.SGD``, which must follow the hand-written run step for step, and once more with
   ``optim.Adam``,

and draws the loss and accuracy curves of the three runs in one figure. Quick mode runs on
scikit-learn's digits (8x8, 64 inputs); the full run on Fashion-MNIST (28x28, 784 inputs).

Run: python examples/from_scratch.py [--quick]
"""

from __future__ import annotations

import numpy as np
from _common import (
    accuracy,
    digits,
    fashion_mnist,
    finish,
    markdown_table,
    parse_args,
    pyplot,
    save_figure,
    timed,
)

import nerve as torch  # the PyTorch door: this script is PyTorch code with one import changed
import nerve.nn.functional as F
from nerve import nn

# --------------------------------------------------------------------------- by hand


def init_params(sizes: list[int]) -> list:
    """[W1, b1, W2, b2, ...] with W of shape (fan_in, fan_out): He-normal weights, zero biases."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = torch.randn(fan_in, fan_out) * float(np.sqrt(2.0 / fan_in))
        params += [w, torch.zeros(fan_out)]
    return params


def forward(params: list, x):
    """Matrix-form forward pass: the class probabilities P, the logits and each layer's (Z, A)."""
    cache = []
    a = x
    for i in range(0, len(params), 2):
        z = a @ params[i] + params[i + 1]  # Z = XW + b, the whole batch in one product
        cache.append((z, a))
        a = z.relu() if i + 2 < len(params) else z
    # softmax, shifted by the row max so exp cannot overflow
    e = (a - a.max(dim=1, keepdim=True).values).exp()
    return e / e.sum(dim=1, keepdim=True), a, cache


def cross_entropy(logits, labels):
    """Mean of -log softmax(Z)[label], as log P = Z - logsumexp(Z): P itself can round to 0
    in float32, its logarithm cannot."""
    n = logits.shape[0]
    return (logits.logsumexp(dim=1) - logits[torch.arange(n), labels]).mean()


def backward_by_hand(params: list, p, cache: list, y_onehot) -> list:
    """The chain rule, layer by layer: the gradients of the mean cross-entropy, same order as
    params. Softmax and cross-entropy together give dZ = (P - Y) / n at the output."""
    grads = [None] * len(params)
    dz = (p - y_onehot) / p.shape[0]
    for i in range(len(params) - 2, -1, -2):
        a_prev = cache[i // 2][1]  # this layer's input
        grads[i] = a_prev.T @ dz  # dW = A_prev^T dZ
        grads[i + 1] = dz.sum(dim=0)  # db = column sums of dZ
        if i > 0:
            da = dz @ params[i].T  # dA_prev = dZ W^T
            z_prev = cache[i // 2 - 1][0]
            dz = da * (z_prev > 0)  # relu'(Z) is 1 where Z > 0, else 0
    return grads


def check_gradient(sizes, x, y, n_classes: int, seed: int, dtype) -> dict:
    """The hand gradient vs autograd on one batch, in ``dtype``: the largest differences."""
    torch.manual_seed(seed)
    params = [t.to(dtype).requires_grad_() for t in init_params(sizes)]
    xb = torch.tensor(x, dtype=dtype)
    p, logits, cache = forward(params, xb)
    loss = cross_entropy(logits, torch.tensor(y))
    loss.backward()
    with torch.no_grad():
        onehot = F.one_hot(torch.tensor(y), n_classes).to(dtype)
        hand = backward_by_hand(params, p, cache, onehot)
    abs_diff = max(float((g - q.grad).abs().max().item()) for g, q in zip(hand, params))
    scale = max(float(q.grad.abs().max().item()) for q in params)
    return {"max_abs_diff": abs_diff, "max_abs_grad": scale, "relative": abs_diff / scale}


def train_by_hand(params, data, epochs, lr, batch_size, seed, n_classes) -> dict:
    """Minibatch gradient descent with the hand gradient; no autograd anywhere."""
    (x_train, y_train), (x_test, y_test) = data
    rng = np.random.default_rng(seed)
    history = {"loss": [], "test_accuracy": [], "step_loss": []}
    eye = np.eye(n_classes, dtype=np.float32)
    with torch.no_grad():
        for _ in range(epochs):
            total = 0.0
            for idx in batches(rng, len(x_train), batch_size):
                p, logits, cache = forward(params, torch.tensor(x_train[idx]))
                loss = cross_entropy(logits, torch.tensor(y_train[idx])).item()
                history["step_loss"].append(loss)
                total += loss * len(idx)
                grads = backward_by_hand(params, p, cache, torch.tensor(eye[y_train[idx]]))
                for w, g in zip(params, grads):
                    w -= lr * g  # in place: W <- W - lr * dW
            history["loss"].append(total / len(x_train))
            history["test_accuracy"].append(
                accuracy(forward(params, torch.tensor(x_test))[0], y_test)
            )
    return history


def batches(rng, n: int, batch_size: int):
    """Index arrays of a fresh random order, batch by batch (the same rng -> the same batches)."""
    order = rng.permutation(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


# --------------------------------------------------------------------------- with nn + optim


def as_module(params: list) -> nn.Sequential:
    """The same network as nn.Sequential, holding a copy of the hand-made weights
    (nn.Linear stores W transposed: (out_features, in_features))."""
    layers = []
    for i in range(0, len(params), 2):
        fan_in, fan_out = params[i].shape
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(params[i].T)
            linear.bias.copy_(params[i + 1])
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def train_module(model, optimizer, data, epochs, batch_size, seed) -> dict:
    """The everyday PyTorch loop: zero_grad, forward, loss, backward, step."""
    (x_train, y_train), (x_test, y_test) = data
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    history = {"loss": [], "test_accuracy": [], "step_loss": []}
    for _ in range(epochs):
        model.train()
        total = 0.0
        for idx in batches(rng, len(x_train), batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(torch.tensor(x_train[idx])), torch.tensor(y_train[idx]))
            loss.backward()
            optimizer.step()
            history["step_loss"].append(loss.item())
            total += loss.item() * len(idx)
        history["loss"].append(total / len(x_train))
        model.eval()
        with torch.no_grad():
            history["test_accuracy"].append(accuracy(model(torch.tensor(x_test)), y_test))
    return history


# --------------------------------------------------------------------------- the lesson


def draw(args, runs: dict, dataset: str, sizes) -> None:
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    styles = {
        "by hand (SGD)": {"lw": 3.5, "alpha": 0.45},
        "nn + optim.SGD": {"lw": 1.4, "ls": "--", "marker": "o", "ms": 3},
        "nn + optim.Adam": {"lw": 1.4, "marker": "s", "ms": 3},
    }
    for name, run in runs.items():
        epochs = np.arange(1, len(run["loss"]) + 1)
        ax1.plot(epochs, run["loss"], label=name, **styles[name])
        ax2.plot(epochs, run["test_accuracy"], label=name, **styles[name])
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("mean training cross-entropy")
    ax1.set_title("Training loss")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    ax2.set_title("Test accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    arch = "-".join(map(str, sizes))
    fig.suptitle(f"MLP {arch} on {dataset}: hand-written backprop vs nerve.nn + nerve.optim")
    fig.tight_layout()
    save_figure(args, fig, "from_scratch")


def main(argv=None) -> dict:
    args = parse_args("from_scratch", __doc__.splitlines()[0], argv)
    if args.quick:
        data = digits(seed=args.seed)
        dataset, sizes, epochs, lr = "digits", [64, 64, 32, 10], 10, 0.1
    else:
        data = fashion_mnist(seed=args.seed, flat=True)
        dataset, sizes, epochs, lr = "Fashion-MNIST", [784, 256, 128, 10], 10, 0.1
    batch_size = 64
    (x_train, y_train), _ = data
    results: dict = {
        "data": f"{dataset}: {len(x_train)} train / {len(data[1][1])} test",
        "sizes": sizes,
        "epochs": epochs,
        "batch_size": batch_size,
    }

    # 1. the hand gradient against autograd, on one batch of 256
    xb, yb = x_train[:256], y_train[:256]
    results["gradient_check"] = {
        "float32": check_gradient(sizes, xb, yb, 10, args.seed, torch.float32),
        "float64": check_gradient(sizes, xb, yb, 10, args.seed, torch.float64),
    }

    # 2. training with the hand gradient; 3. the same start with nn + optim
    torch.manual_seed(args.seed)
    start = init_params(sizes)
    runs = {}
    with timed(results, "by_hand_s"):
        params = [w.clone() for w in start]
        runs["by hand (SGD)"] = train_by_hand(
            params, data, epochs, lr, batch_size, args.seed, n_classes=10
        )
    with timed(results, "nn_sgd_s"):
        model = as_module(start)
        runs["nn + optim.SGD"] = train_module(
            model, torch.optim.SGD(model.parameters(), lr=lr), data, epochs, batch_size, args.seed
        )
    with timed(results, "nn_adam_s"):
        model = as_module(start)
        runs["nn + optim.Adam"] = train_module(
            model,
            torch.optim.Adam(model.parameters(), lr=1e-3),
            data,
            epochs,
            batch_size,
            args.seed,
        )
    # Same weights, same batches, same rule: nn + optim.SGD must retrace the hand-written run.
    # float32 rounding differs (nn.Linear multiplies by W stored transposed), and training
    # amplifies such differences slowly, so: step for step at first, close at the end.
    hand = np.array(runs["by hand (SGD)"].pop("step_loss"))
    same = np.array(runs["nn + optim.SGD"].pop("step_loss"))
    runs["nn + optim.Adam"].pop("step_loss")
    results["hand_vs_nn_sgd"] = {
        "max_abs_step_loss_diff_first_100_steps": float(np.abs(hand[:100] - same[:100]).max()),
        "max_abs_step_loss_diff_all_steps": float(np.abs(hand - same).max()),
        "max_abs_epoch_loss_diff": float(
            np.abs(np.subtract(runs["by hand (SGD)"]["loss"], runs["nn + optim.SGD"]["loss"])).max()
        ),
        "steps": len(hand),
    }
    results["runs"] = runs

    draw(args, runs, dataset, sizes)
    rows = [
        {
            "run": name,
            "first-epoch loss": run["loss"][0],
            "last-epoch loss": run["loss"][-1],
            "test accuracy": run["test_accuracy"][-1],
            "seconds": results[key],
        }
        for (name, run), key in zip(runs.items(), ["by_hand_s", "nn_sgd_s", "nn_adam_s"])
    ]
    return finish(args, results, markdown_table(rows))


if __name__ == "__main__":
    main()
