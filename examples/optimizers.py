"""SGD, momentum, Nesterov, RMSprop, Adam, AdamW and a cosine schedule, from one start on one MLP.

The seed tutorial's PyTorch MLP (784-256-128-10, dropout 0.2, log_softmax + nll_loss) on
Fashion-MNIST, written with the torch door (``import nerve as torch``) and a hand-written loop.
Every optimizer starts from the same weights (one ``state_dict`` copied into the model before
each run) and sees the same batches in the same order. The last run is the seed's recipe:
AdamW(weight_decay=0.01) with ``CosineAnnealingLR(T_max=10)`` stepped per epoch and
``clip_grad_norm_(..., 0.5)``; the one before it leaves out the clipping, to tell the two apart
(``clipped`` is the share of steps whose gradient norm the clipping cut). Writes results.json,
table.md and optimizers.png (training loss per step, test accuracy and learning rate per epoch).

Run: python examples/optimizers.py [--quick]
"""

from __future__ import annotations

import time

import numpy as np
from _common import fashion_mnist, finish, markdown_table, parse_args, pyplot, save_figure, timed

import nerve as torch
import nerve.nn.functional as F
from nerve import nn
from nerve.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    """The seed's MLP: two ReLU hidden layers with dropout, log-probabilities out."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = x.view(-1, 784)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return F.log_softmax(self.fc3(x), dim=1)


# name -> (optimizer factory, cosine schedule?, gradient-clipping max norm, the settings in words)
OPTIMIZERS = {
    "SGD": (lambda p: torch.optim.SGD(p, lr=0.01), False, None, "lr 0.01"),
    "SGD+momentum": (
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
        False,
        None,
        "lr 0.01, momentum 0.9",
    ),
    "Nesterov": (
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        False,
        None,
        "lr 0.01, momentum 0.9, nesterov",
    ),
    "RMSprop": (lambda p: torch.optim.RMSprop(p, lr=1e-3), False, None, "lr 0.001"),
    "Adam": (lambda p: torch.optim.Adam(p, lr=1e-3), False, None, "lr 0.001"),
    "AdamW": (
        lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
        False,
        None,
        "lr 0.001, weight_decay 0.01",
    ),
    "AdamW+cosine": (
        lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
        True,
        None,
        "AdamW as above, CosineAnnealingLR(T_max=epochs)",
    ),
    "AdamW+cosine+clip": (
        lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
        True,
        0.5,
        "AdamW+cosine as above, clip_grad_norm_ 0.5",
    ),
}


def evaluate(model, x, y):
    """Mean nll loss and accuracy on (x, y), in eval mode without a graph."""
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor(x))
        loss = F.nll_loss(out, torch.tensor(y)).item()
        acc = float((out.argmax(1).numpy() == y).mean())
    model.train()
    return loss, acc


def run(name, model, start, data, epochs, seed):
    """Train ``model`` from the ``start`` weights with one optimizer; returns row and curves."""
    make, cosine, clip, settings = OPTIMIZERS[name]
    (x_train, y_train), (x_test, y_test) = data
    model.load_state_dict(start)  # the same initial weights for every optimizer
    torch.manual_seed(seed)  # the same shuffles and dropout masks
    loader = DataLoader(
        TensorDataset(torch.tensor(x_train), torch.tensor(y_train)), batch_size=64, shuffle=True
    )
    optimizer = make(model.parameters())
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if cosine else None
    )
    losses, test_acc, lrs, clipped = [], [], [], 0
    row = {"optimizer": name, "settings": settings}
    model.train()
    cpu = time.process_time()  # CPU seconds: steadier than wall time on a shared machine
    with timed(row, "time_s"):
        for _ in range(epochs):
            lrs.append(optimizer.param_groups[0]["lr"])
            for x, y in loader:
                optimizer.zero_grad()
                loss = F.nll_loss(model(x), y)
                loss.backward()
                if clip is not None:
                    norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
                    clipped += float(norm) > clip
                optimizer.step()
                losses.append(loss.item())
            if scheduler is not None:
                scheduler.step()
            test_acc.append(evaluate(model, x_test, y_test)[1])
    row["cpu_s"] = round(time.process_time() - cpu, 3)
    steps_per_epoch = len(losses) // epochs
    # How often the clipping acted: the share of steps whose gradient norm exceeded the limit.
    if clip is not None:
        row["clipped"] = clipped / len(losses)
    row["train_loss"] = float(np.mean(losses[-steps_per_epoch:]))  # mean over the last epoch
    row["test_loss"], row["test_acc"] = evaluate(model, x_test, y_test)
    return row, {"loss": losses, "test_acc": test_acc, "lr": lrs}


def smooth(values, window):
    """Running mean over ``window`` steps (the curve starts at step ``window``)."""
    c = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    return (c[window:] - c[:-window]) / window


def plot(args, curves, n_train):
    """Training loss per step, test accuracy per epoch and the learning rate per epoch."""
    plt = pyplot()
    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [2, 1.3, 1]}
    )
    steps_per_epoch = len(next(iter(curves.values()))["loss"]) // len(
        next(iter(curves.values()))["test_acc"]
    )
    window = max(1, steps_per_epoch // 4)
    for name, c in curves.items():
        y = smooth(c["loss"], window)
        x = np.arange(window, window + len(y)) / steps_per_epoch
        ax1.plot(x, y, label=name)
        epochs = np.arange(1, len(c["test_acc"]) + 1)
        ax2.plot(epochs, c["test_acc"], marker="o", markersize=3, label=name)
        ax3.plot(epochs, c["lr"], marker="o", markersize=3, label=name)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel(f"training loss (running mean of {window} steps)")
    ax1.set_title(f"Training loss, {n_train} Fashion-MNIST images, batch 64")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    ax2.set_title("Test accuracy after each epoch")
    ax3.set_xlabel("epoch")
    ax3.set_ylabel("learning rate")
    ax3.set_yscale("log")
    ax3.set_title("Learning rate used in each epoch")
    ax3.legend(fontsize=7)
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(args, fig, "optimizers")


def main(argv=None) -> dict:
    args = parse_args("optimizers", __doc__.splitlines()[0], argv)
    n_train, n_test, epochs = (2000, 1000, 3) if args.quick else (60000, 10000, 10)
    data = fashion_mnist(n_train=n_train, n_test=n_test, seed=args.seed, flat=True)
    torch.manual_seed(args.seed)
    model = Net()
    # One starting point for all: a copy, since the model's own tensors change as it trains.
    start = {k: v.clone() for k, v in model.state_dict().items()}
    rows, curves = [], {}
    for name in OPTIMIZERS:
        row, curve = run(name, model, start, data, epochs, args.seed)
        rows.append(row)
        curves[name] = curve
        print(
            f"{name:18s} train loss {row['train_loss']:.4f}  test loss {row['test_loss']:.4f}  "
            f"test acc {row['test_acc']:.4f}  ({row['time_s']:.1f} s)"
        )
    plot(args, curves, n_train)
    columns = ["optimizer", "settings", "train_loss", "test_loss", "test_acc", "clipped"]
    columns += ["time_s", "cpu_s"]
    results = {
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "optimizers": rows,
        "curves": curves,
        "figures": ["optimizers.png"],
    }
    return finish(args, results, markdown_table(rows, columns))


if __name__ == "__main__":
    main()
