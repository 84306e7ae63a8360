"""Residual connections let a deep CNN train where the same plain stack of layers trains worse.

Three CNNs on Fashion-MNIST, written with the torch door (``nn.Module`` and a hand-written loop):
a shallow plain net, a deep plain net and a deep residual net of exactly the same layers. Every
block is the seed tutorial's ``conv -> BN -> ReLU -> conv -> BN (+ identity) -> ReLU``; the only
difference between the two deep nets is the ``out += identity`` line. Width 16 throughout, the
image pooled to 14x14 by the stem and to 7x7 halfway, global average pooling, one linear layer.
All three train with the same optimizer, batches and seed. The script measures each layer's
weight-gradient norm on the first batch (the seed's symptom of a too-deep plain net: gradients
that shrink or blow up on the way down) and the training loss and test accuracy, and writes
results.json, table.md, residual.png (training loss and test accuracy) and
residual_gradients.png (gradient norm per layer at initialization).

Run: python examples/residual.py [--quick] [--blocks 9]
"""

from __future__ import annotations

import time

import numpy as np
from _common import fashion_mnist, finish, markdown_table, parse_args, pyplot, save_figure, timed

import nerve as torch
import nerve.nn.functional as F
from nerve import nn
from nerve.utils.data import DataLoader, TensorDataset

WIDTH = 16


class Block(nn.Module):
    """Two 3x3 convolutions with batch norm, with or without the identity shortcut."""

    def __init__(self, channels: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out += identity  # the seed's residual connection
        return self.relu(out)


class Net(nn.Module):
    """Stem (conv, BN, ReLU, pool to 14x14), ``blocks`` blocks with a pool to 7x7 halfway,
    global average pooling and a linear classifier: ``1 + 2 * blocks`` conv layers."""

    def __init__(self, blocks: int, residual: bool):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, WIDTH, 3, padding=1, bias=False),
            nn.BatchNorm2d(WIDTH),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        half = blocks // 2
        self.stage1 = nn.Sequential(*[Block(WIDTH, residual) for _ in range(half)])
        self.pool = nn.MaxPool2d(2)
        self.stage2 = nn.Sequential(*[Block(WIDTH, residual) for _ in range(blocks - half)])
        self.fc = nn.Linear(WIDTH, 10)

    def forward(self, x):
        x = self.stage2(self.pool(self.stage1(self.stem(x))))
        return self.fc(x.mean(dim=(2, 3)))


def conv_grad_norms(model, x, y):
    """The L2 norm of each conv layer's weight gradient on one batch, input side first."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    norms = [
        float(np.linalg.norm(m.weight.grad.numpy()))
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    model.zero_grad()
    return norms


def evaluate(model, x, y, batch=1000):
    """Mean cross-entropy and accuracy on (x, y) in eval mode, in batches."""
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.tensor(x[i : i + batch]))
            yb = y[i : i + batch]
            total += F.cross_entropy(out, torch.tensor(yb), reduction="sum").item()
            correct += int((out.argmax(1).numpy() == yb).sum())
    model.train()
    return total / len(x), correct / len(x)


def train(name, model, data, epochs, seed, lr):
    """SGD with momentum on one model; returns its table row and curves."""
    (x_train, y_train), (x_test, y_test) = data
    torch.manual_seed(seed)  # the same batches for every model
    loader = DataLoader(
        TensorDataset(torch.tensor(x_train), torch.tensor(y_train)), batch_size=64, shuffle=True
    )
    x0, y0 = next(iter(loader))
    grads = conv_grad_norms(model, x0, y0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses, test_acc = [], []
    row = {
        "model": name,
        "conv_layers": sum(isinstance(m, nn.Conv2d) for m in model.modules()),
        "params": sum(p.numel() for p in model.parameters()),
        "grad_first_conv": grads[0],
        "grad_last_conv": grads[-1],
    }
    model.train()
    cpu = time.process_time()  # CPU seconds: steadier than wall time on a shared machine
    with timed(row, "time_s"):
        for _ in range(epochs):
            for x, y in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            test_acc.append(evaluate(model, x_test, y_test)[1])
    row["cpu_s"] = round(time.process_time() - cpu, 3)
    steps_per_epoch = len(losses) // epochs
    row["first_epoch_loss"] = float(np.mean(losses[:steps_per_epoch]))
    row["last_epoch_loss"] = float(np.mean(losses[-steps_per_epoch:]))
    row["train_loss"], row["train_acc"] = evaluate(model, x_train, y_train)
    row["test_loss"], row["test_acc"] = evaluate(model, x_test, y_test)
    return row, {"loss": losses, "test_acc": test_acc, "grad_norms": grads}


def plot(args, curves, rows, n_train):
    """residual.png: loss and accuracy; residual_gradients.png: gradient norm per layer."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    colors = {"shallow plain": "tab:green", "deep plain": "tab:red", "deep residual": "tab:blue"}
    labels = {r["model"]: f"{r['model']} ({r['conv_layers']} conv)" for r in rows}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [1.6, 1]})
    for name, c in curves.items():
        epochs = len(c["test_acc"])
        steps_per_epoch = len(c["loss"]) // epochs
        window = max(1, steps_per_epoch // 5)
        kernel = np.ones(window) / window
        y = np.convolve(c["loss"], kernel, mode="valid")
        x = np.arange(window, window + len(y)) / steps_per_epoch
        ax1.plot(x, y, color=colors.get(name), label=labels[name])
        ax2.plot(
            range(1, epochs + 1), c["test_acc"], "o-", color=colors.get(name), label=labels[name]
        )
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss (running mean)")
    ax1.set_yscale("log")
    ax1.set_title(f"Training loss, {n_train} Fashion-MNIST images, width {WIDTH}")
    ax1.legend()
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    ax2.set_title("Test accuracy after each epoch")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(args, fig, "residual")

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, c in curves.items():
        layers = np.arange(1, len(c["grad_norms"]) + 1)
        ax.plot(layers, c["grad_norms"], "o-", color=colors.get(name), label=labels[name])
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("conv layer (1 = next to the input)")
    ax.set_ylabel("weight-gradient L2 norm")
    ax.set_title("Gradient norm per layer on the first batch, before training")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    save_figure(args, fig, "residual_gradients")


def main(argv=None) -> dict:
    def extra(parser):
        parser.add_argument("--blocks", type=int, default=None, help="blocks in the deep nets")
        parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")

    args = parse_args("residual", __doc__.splitlines()[0], argv, extra)
    n_train, n_test, epochs, blocks = (1000, 500, 2, 3) if args.quick else (12000, 5000, 4, 9)
    blocks = args.blocks or blocks
    (x_train, y_train), (x_test, y_test) = fashion_mnist(n_train, n_test, seed=args.seed)
    # channels last (N, 28, 28, 1) -> the torch door's (N, 1, 28, 28)
    data = (
        (x_train.transpose(0, 3, 1, 2).copy(), y_train),
        (x_test.transpose(0, 3, 1, 2).copy(), y_test),
    )
    rows, curves = [], {}
    for name, depth, residual in (
        ("shallow plain", 1, False),
        ("deep plain", blocks, False),
        ("deep residual", blocks, True),
    ):
        torch.manual_seed(args.seed)
        model = Net(depth, residual)
        row, curve = train(name, model, data, epochs, args.seed, args.lr)
        rows.append(row)
        curves[name] = curve
        print(
            f"{name:14s} conv {row['conv_layers']:2d}  "
            f"last-epoch loss {row['last_epoch_loss']:.4f}  "
            f"train acc {row['train_acc']:.4f}  test acc {row['test_acc']:.4f}  "
            f"grad first/last conv {row['grad_first_conv']:.3g}/{row['grad_last_conv']:.3g}  "
            f"({row['time_s']:.1f} s)"
        )
    plot(args, curves, rows, n_train)
    columns = [
        "model",
        "conv_layers",
        "params",
        "first_epoch_loss",
        "last_epoch_loss",
        "train_acc",
        "test_acc",
        "grad_first_conv",
        "grad_last_conv",
        "time_s",
        "cpu_s",
    ]
    results = {
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "blocks": blocks,
        "lr": args.lr,
        "models": rows,
        "curves": curves,
        "figures": ["residual.png", "residual_gradients.png"],
    }
    return finish(args, results, markdown_table(rows, columns))


if __name__ == "__main__":
    main()
