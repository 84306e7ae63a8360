"""Every activation in nerve.nn.functional and its derivative, taken by autograd, not by formula.

The seed tutorial plots sigmoid with its derivative ``y * (1 - y)`` written by hand, then the
ReLU variants (Leaky ReLU, ELU) that answer ReLU's "dying neuron" problem. Here each activation's
derivative comes from nerve's autograd (``x.requires_grad``, ``y.sum().backward()``, ``x.grad``),
is compared with PyTorch's through the very same call when torch is installed, and is drawn
beside the function. A second experiment trains the same deep, narrow MLP on scikit-learn's
digits once per activation: how much gradient reaches the first layer at initialization (the
vanishing gradient), the test accuracy after training, and how many hidden units are dead
(derivative zero on every test input) at the end.

Run: python examples/activations.py [--quick]
"""

from __future__ import annotations

import math

import numpy as np
from _common import (
    digits,
    finish,
    markdown_table,
    parse_args,
    pyplot,
    save_figure,
    timed,
)

import nerve
from nerve import nn

# Each entry: (name, call(lib, x)). ``lib`` is nerve or torch: the names match, so one lambda
# runs on both frameworks and the comparison needs no second copy of anything.
ACTIVATIONS = [
    ("sigmoid", lambda lib, x: lib.nn.functional.sigmoid(x)),
    ("tanh", lambda lib, x: lib.nn.functional.tanh(x)),
    ("relu", lambda lib, x: lib.nn.functional.relu(x)),
    ("leaky_relu(0.2)", lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2)),
    ("prelu(0.25)", lambda lib, x: lib.nn.functional.prelu(x, lib.tensor([0.25]))),
    ("rrelu (eval)", lambda lib, x: lib.nn.functional.rrelu(x, training=False)),
    ("elu", lambda lib, x: lib.nn.functional.elu(x)),
    ("celu(0.5)", lambda lib, x: lib.nn.functional.celu(x, 0.5)),
    ("selu", lambda lib, x: lib.nn.functional.selu(x)),
    ("gelu", lambda lib, x: lib.nn.functional.gelu(x)),
    ("gelu(tanh)", lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh")),
    ("silu (swish)", lambda lib, x: lib.nn.functional.silu(x)),
    ("mish", lambda lib, x: lib.nn.functional.mish(x)),
    ("softplus", lambda lib, x: lib.nn.functional.softplus(x)),
    ("softsign", lambda lib, x: lib.nn.functional.softsign(x)),
    ("logsigmoid", lambda lib, x: lib.nn.functional.logsigmoid(x)),
    ("hardtanh", lambda lib, x: lib.nn.functional.hardtanh(x)),
    ("relu6", lambda lib, x: lib.nn.functional.relu6(x)),
    ("hardsigmoid", lambda lib, x: lib.nn.functional.hardsigmoid(x)),
    ("hardswish", lambda lib, x: lib.nn.functional.hardswish(x)),
    ("tanhshrink", lambda lib, x: lib.nn.functional.tanhshrink(x)),
    ("softshrink", lambda lib, x: lib.nn.functional.softshrink(x)),
    ("hardshrink", lambda lib, x: lib.nn.functional.hardshrink(x)),
    ("threshold(1, 0)", lambda lib, x: lib.nn.functional.threshold(x, 1.0, 0.0)),
]

# Where the JSON reports each function and its derivative.
POINTS = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]
# The plotted grid: step 0.01 from -6 to 6, so it passes through 0, +-0.5, +-1, +-3 (the kinks
# of relu, the shrinks, hardtanh and hardsigmoid) and 6 (relu6).
GRID = np.linspace(-6.0, 6.0, 1201, dtype=np.float32)
BATCH = 32  # minibatch size of the training experiment


def value_and_derivative(call, xs: np.ndarray, lib=nerve):
    """f(xs) and df/dx at xs by reverse-mode autograd.

    The activation is elementwise, so d sum(f) / dx_i = f'(x_i): one backward gives them all.
    """
    x = lib.tensor(xs, requires_grad=True)
    y = call(lib, x)
    y.sum().backward()
    return y.detach().numpy().copy(), x.grad.numpy().copy()


def measure_shapes() -> tuple[dict, dict]:
    """Each activation on GRID and at POINTS (nerve), and its largest gap from torch if present."""
    try:
        import torch
    except ImportError:
        torch = None
    points = np.array(POINTS, dtype=np.float32)
    curves, table = {}, {}
    for name, call in ACTIVATIONS:
        y, dy = value_and_derivative(call, GRID)
        curves[name] = (y, dy)
        at_y, at_dy = value_and_derivative(call, points)
        row = {
            "value": dict(zip(map(str, POINTS), at_y.tolist())),
            "derivative": dict(zip(map(str, POINTS), at_dy.tolist())),
            "max_derivative": float(dy.max()),
            "min_derivative": float(dy.min()),
            # where the gradient all but vanishes: |f'(x)| < 0.01 on the grid [-6, 6]
            "share_of_grid_with_tiny_derivative": float((np.abs(dy) < 0.01).mean()),
        }
        if torch is not None:
            # Between grid points (x + 0.005) no activation has a kink: values and derivatives
            # must agree with torch to float32 rounding.
            off = GRID + np.float32(0.005)
            oy, ody = value_and_derivative(call, off)
            ty, tdy = value_and_derivative(call, off, lib=torch)
            row["max_abs_diff_value_vs_torch"] = float(np.abs(oy - ty).max())
            row["max_abs_diff_derivative_vs_torch"] = float(np.abs(ody - tdy).max())
            # On the kinks themselves the derivative is a convention (a one-sided value):
            # list every grid point where nerve's convention is not torch's.
            _, tdy = value_and_derivative(call, GRID, lib=torch)
            row["derivative_differs_from_torch_at"] = [
                {"x": float(GRID[i]), "nerve": float(dy[i]), "torch": float(tdy[i])}
                for i in np.nonzero(np.abs(dy - tdy) > 1e-4)[0]
            ]
        table[name] = row
    return curves, table


class DeepMLP(nn.Module):
    """Linear layers with one activation between them, given as a function (lib, x) -> y."""

    def __init__(self, sizes: list[int], activation):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = activation

    def pre_activations(self, x):
        """The input of each activation (one tensor per hidden layer) and the logits."""
        zs = []
        for layer in self.layers[:-1]:
            z = layer(x)
            zs.append(z)
            x = self.activation(nerve, z)
        return zs, self.layers[-1](x)

    def forward(self, x):
        return self.pre_activations(x)[1]


def train_one(call, data, args, epochs: int, depth: int, width: int, lr: float) -> dict:
    """Train a fresh MLP with ``depth`` hidden layers on digits; what it learned and how."""
    (x_train, y_train), (x_test, y_test) = data
    nerve.manual_seed(args.seed)  # every activation starts from the same weights
    model = DeepMLP([x_train.shape[1]] + [width] * depth + [10], call)
    for layer in model.layers:  # He init: keeps a ReLU net's signal at the same scale per layer
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    optimizer = nerve.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    # Gradient reaching the first layer vs the last, at initialization, on one batch.
    loss = loss_fn(model(nerve.tensor(x_train[:256])), nerve.tensor(y_train[:256]))
    loss.backward()
    first = float(np.linalg.norm(model.layers[0].weight.grad.numpy()))
    last = float(np.linalg.norm(model.layers[-1].weight.grad.numpy()))
    optimizer.zero_grad()

    rng = np.random.default_rng(args.seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), BATCH):
            idx = order[i : i + BATCH]
            loss = loss_fn(model(nerve.tensor(x_train[idx])), nerve.tensor(y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x_train))

    # Dead units: hidden units whose derivative is 0 on every test input (so they never learn).
    with nerve.no_grad():
        zs, logits = model.pre_activations(nerve.tensor(x_test))
    dead = 0
    for z in zs:
        _, dz = value_and_derivative(call, z.detach().numpy())
        dead += int((np.abs(dz) < 1e-12).all(axis=0).sum())
    return {
        # None: no gradient reaches the last layer at all (every last hidden unit outputs 0)
        "grad_norm_first_over_last_at_init": first / last if last > 0 else None,
        "loss_first_epoch": losses[0],
        "loss_last_epoch": losses[-1],
        "losses": losses,
        "test_accuracy": float((logits.argmax(dim=1).numpy() == y_test).mean()),
        "dead_units_percent": 100.0 * dead / (depth * width),
    }


def draw_shapes(args, curves) -> None:
    plt = pyplot()
    cols = 6
    rows = math.ceil(len(curves) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.25 * cols, 1.95 * rows), sharex=True)
    for ax, (name, (y, dy)) in zip(axes.flat, curves.items()):
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        ax.plot(GRID, y, color="C0", lw=1.6, label="f(x)")
        ax.plot(GRID, dy, color="C3", lw=1.2, ls="--", label="f'(x) (autograd)")
        ax.set_title(name, fontsize=10)
        ax.set_ylim(-2.2, 4.2)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(curves) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("x", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("value", fontsize=9)
    axes.flat[0].legend(loc="upper left", fontsize=7, frameon=False)
    fig.suptitle(
        "Activations of nerve.nn.functional (solid) and their derivatives by autograd (dashed)",
        fontsize=12,
    )
    fig.tight_layout()
    save_figure(args, fig, "activations")


def draw_training(args, trained: dict, depth: int, width: int) -> None:
    plt = pyplot()
    names = list(trained)
    pos = np.arange(len(names))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.28 * len(names) + 1.6), sharey=True)
    acc = [trained[n]["test_accuracy"] for n in names]
    ax1.barh(pos, acc, color="C0")
    ax1.axvline(0.1, color="C3", ls="--", lw=1, label="chance (0.1)")
    ax1.set_yticks(pos, names, fontsize=9)
    ax1.invert_yaxis()
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("test accuracy after training")
    ax1.legend(loc="lower right", fontsize=8)
    ratio = [trained[n]["grad_norm_first_over_last_at_init"] for n in names]
    ax2.barh(pos, [np.nan if r is None else r for r in ratio], color="C2")
    for p, r in zip(pos, ratio):
        if r is None:
            ax2.text(
                0.02,
                p,
                "none: no gradient reaches the last layer",
                va="center",
                fontsize=8,
                transform=ax2.get_yaxis_transform(),  # x in axes units, y in data units
            )
    ax2.set_xscale("log")
    ax2.axvline(1.0, color="0.5", ls=":", lw=1)
    ax2.set_xlabel("|grad W_first| / |grad W_last| at init (log)")
    fig.suptitle(
        f"The same {depth}x{width} MLP on digits, one activation at a time "
        "(SGD, same initial weights)",
        fontsize=11,
    )
    fig.tight_layout()
    save_figure(args, fig, "activations_training")


def main(argv=None) -> dict:
    args = parse_args("activations", __doc__.splitlines()[0], argv)
    results: dict = {}
    with timed(results, "shapes_s"):
        curves, shapes = measure_shapes()
    results["activations"] = shapes
    # The seed writes sigmoid's derivative by hand as y * (1 - y); autograd must agree.
    y, dy = curves["sigmoid"]
    results["sigmoid_autograd_vs_seed_formula_max_abs_diff"] = float(np.abs(dy - y * (1 - y)).max())

    (x_train, y_train), test = digits(seed=args.seed)
    if args.quick:
        x_train, y_train = x_train[:400], y_train[:400]
    # quick: a shallower net takes a larger step; full: 6 hidden layers need lr 0.01 (at 0.02,
    # SELU under He init diverges in nerve and in torch alike)
    epochs, depth, width, lr = (8, 3, 32, 0.05) if args.quick else (30, 6, 64, 0.01)
    trained = {}
    with timed(results, "train_s"):
        for name, call in ACTIVATIONS:
            trained[name] = train_one(
                call, ((x_train, y_train), test), args, epochs, depth, width, lr
            )
    results["training"] = {
        "data": f"scikit-learn digits, {len(x_train)} train / {len(test[1])} test",
        "model": f"MLP 64 -> {depth} x {width} -> 10, He-normal weights, zero biases",
        "optimizer": f"SGD lr={lr} momentum=0.9, batch {BATCH}",
        "epochs": epochs,
        "per_activation": trained,
    }

    draw_shapes(args, curves)
    draw_training(args, trained, depth, width)
    return finish(args, results, table(results))


def table(results: dict) -> str:
    """One row per activation: its derivative at a few points and what training measured."""
    shapes, trained = results["activations"], results["training"]["per_activation"]

    def torch_gap(name):
        if "max_abs_diff_derivative_vs_torch" not in shapes[name]:
            return "torch not installed"
        gap = f"{shapes[name]['max_abs_diff_derivative_vs_torch']:.1e}"
        kinks = [f"{d['x']:g}" for d in shapes[name]["derivative_differs_from_torch_at"]]
        return gap + (f"; differs at x = {', '.join(kinks)}" if kinks else "")

    rows = [
        {
            "activation": name,
            "f'(0)": shapes[name]["derivative"]["0.0"],
            "f'(-3)": shapes[name]["derivative"]["-3.0"],
            "max f'": shapes[name]["max_derivative"],
            "f' vs torch (max gap off kinks; kinks that differ)": torch_gap(name),
            "grad first/last @init": (
                "none reaches the last layer"
                if trained[name]["grad_norm_first_over_last_at_init"] is None
                else trained[name]["grad_norm_first_over_last_at_init"]
            ),
            "test acc": trained[name]["test_accuracy"],
            "dead units %": trained[name]["dead_units_percent"],
        }
        for name in shapes
    ]
    return markdown_table(rows)


if __name__ == "__main__":
    main()
