"""Weight initialization decides whether a deep network trains: zeros, small random, Xavier, He, ...

The seed tutorial's table claims, for its MLP: zeros reach 85% accuracy (slow, poor stability),
small random values 92% (medium, fair), Xavier 96% (fast, good), He 97% (fastest, best). This
example measures it on deep MLPs (6 hidden layers of 256 on flat Fashion-MNIST in the full run),
once with ReLU and once with tanh, and on the seed's own shallow 784-256-128-10 ReLU net, for six
initializations from ``nerve.nn.init`` (the seed's four, plus LeCun and orthogonal), three seeds
each: the epochs and seconds to reach a target test accuracy, the final accuracy and its spread
across seeds, and the standard deviation of each hidden layer's output at initialization, which
shows why: the signal either dies out or keeps its scale on the way through the layers.

Run: python examples/initialization.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import (
    accuracy,
    fashion_mnist,
    finish,
    markdown_table,
    parse_args,
    pyplot,
    save_figure,
)

import nerve as torch  # the PyTorch door: PyTorch code with one import changed
from nerve import nn

# name -> how a Linear weight (out_features, in_features) is filled; biases start at 0.
# torch.nn.init has no LeCun initializer: N(0, 1/fan_in) is kaiming_normal_ with the 'linear'
# gain of 1, which is what Keras's lecun_normal means (Keras truncates the normal; this does not).
INITS = {
    "zeros": nn.init.zeros_,
    "small random N(0, 0.01^2)": lambda w: nn.init.normal_(w, std=0.01),
    "Xavier (glorot) uniform": nn.init.xavier_uniform_,
    "He (kaiming) normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "LeCun normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"),
    "orthogonal": nn.init.orthogonal_,
}
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
# The seed's table, for the text beside ours.
SEED_CLAIMS = {
    "zeros": ("85%", "slow", "poor"),
    "small random N(0, 0.01^2)": ("92%", "medium", "fair"),
    "Xavier (glorot) uniform": ("96%", "fast", "good"),
    "He (kaiming) normal": ("97%", "fastest", "best"),
}


def label(act: str, hidden: list[int]) -> str:
    """'relu, 6 x 256' for a uniform stack, 'relu, 256-128' otherwise."""
    if len(set(hidden)) == 1 and len(hidden) > 2:
        return f"{act}, {len(hidden)} x {hidden[0]}"
    return f"{act}, {'-'.join(map(str, hidden))}"


def build(init: str, activation: str, hidden: list[int], seed: int) -> nn.Sequential:
    """784 -> hidden... -> 10, every weight filled by INITS[init], every bias zero."""
    torch.manual_seed(seed)
    sizes = [784] + hidden + [10]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(fan_in, fan_out)
        INITS[init](linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def hidden_stds(model: nn.Sequential, x) -> list[float]:
    """The standard deviation of each hidden layer's output (after its activation)."""
    stds = []
    with torch.no_grad():
        h = torch.tensor(x)
        for layer in model:
            h = layer(h)
            if not isinstance(layer, nn.Linear):
                stds.append(float(h.std().item()))
    return stds


def train(model, data, epochs: int, batch_size: int, lr: float, seed: int, target: float) -> dict:
    """SGD with momentum; the test accuracy after every epoch and when it first reached target."""
    (x_train, y_train), (x_test, y_test) = data
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    out = {"loss": [], "test_accuracy": [], "epochs_to_target": None, "seconds_to_target": None}
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(torch.tensor(x_train[idx])), torch.tensor(y_train[idx]))
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        seconds += time.perf_counter() - start  # training time only; evaluation not counted
        with torch.no_grad():
            acc = accuracy(model(torch.tensor(x_test)), y_test)
        out["loss"].append(total / len(x_train))
        out["test_accuracy"].append(acc)
        if out["epochs_to_target"] is None and acc >= target:
            out["epochs_to_target"], out["seconds_to_target"] = epoch, round(seconds, 2)
    out["train_seconds"] = round(seconds, 2)
    return out


def summarize(runs: list[dict], target: float) -> dict:
    """One init x activation over its seeds: final accuracy (mean, spread), time to target."""
    final = np.array([r["test_accuracy"][-1] for r in runs])
    reached = [r for r in runs if r["epochs_to_target"] is not None]
    return {
        "final_accuracy_mean": float(final.mean()),
        "final_accuracy_std": float(final.std()),
        "final_accuracy_min": float(final.min()),
        "final_accuracy_max": float(final.max()),
        "seeds_reaching_target": f"{len(reached)}/{len(runs)}",
        "epochs_to_target_mean": (
            float(np.mean([r["epochs_to_target"] for r in reached])) if reached else None
        ),
        "seconds_to_target_mean": (
            float(np.mean([r["seconds_to_target"] for r in reached])) if reached else None
        ),
        "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])),
    }


def draw(args, results: dict) -> None:
    """Per net: hidden-layer std at init (top) and test accuracy per epoch (bottom)."""
    plt = pyplot()
    config, stds, runs = results["config"], results["hidden_std_at_init"], results["runs"]
    nets = config["nets"]
    fig, axes = plt.subplots(2, len(nets), figsize=(4.9 * len(nets), 8))
    for col, (net, (act, hidden)) in enumerate(nets.items()):
        title = label(act, hidden)
        ax = axes[0, col]
        for k, init in enumerate(INITS):
            s = np.array(stds[net][init])
            # zeros give std 0 exactly: drawn at the bottom of the log axis, marked as such
            shown = np.where(s > 0, s, 1e-9)
            ax.plot(np.arange(1, len(s) + 1), shown, marker="o", color=f"C{k}", label=init)
        ax.set_yscale("log")
        ax.set_ylim(3e-10, 1e1)
        ax.set_xticks(np.arange(1, len(hidden) + 1))
        ax.set_xlabel("hidden layer")
        ax.set_ylabel("std of the layer's output at init (log)")
        ax.set_title(f"{title}: signal at initialization", fontsize=11)
        ax.text(1, 2e-9, "zeros: std = 0 (drawn at 1e-9)", fontsize=8, color="C0")
        ax.grid(alpha=0.3)

        ax = axes[1, col]
        for k, init in enumerate(INITS):
            acc = np.array([r["test_accuracy"] for r in runs[net][init]])
            epochs = np.arange(1, acc.shape[1] + 1)
            ax.plot(epochs, acc.mean(axis=0), marker="o", ms=3, color=f"C{k}", label=init)
            ax.fill_between(epochs, acc.min(axis=0), acc.max(axis=0), color=f"C{k}", alpha=0.2)
        ax.axhline(config["target"], color="0.3", ls="--", lw=1)
        ax.text(1, config["target"] + 0.015, f"target {config['target']:.2f}", fontsize=8)
        ax.text(1, 0.13, "at chance (0.1): lines that never leave it", fontsize=8, color="0.3")
        ax.set_ylim(0, 1)
        ax.set_xticks(epochs)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"test accuracy (mean; band: min-max of {config['seeds']} seeds)")
        ax.set_title(f"{title}: learning", fontsize=11)
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(INITS), fontsize=9, frameon=False)
    fig.suptitle(
        f"Weight initialization on Fashion-MNIST ({config['n_train']} train / "
        f"{config['n_test']} test images, SGD lr {config['lr']} momentum 0.9, "
        f"batch {config['batch']}, zero biases)"
    )
    fig.tight_layout(rect=(0, 0.035, 1, 1))
    save_figure(args, fig, "initialization")


def main(argv=None) -> dict:
    args = parse_args("initialization", __doc__.splitlines()[0], argv)
    if args.quick:
        config = dict(n_train=800, n_test=400, epochs=3, seeds=2, batch=32, lr=0.01, target=0.65)
        deep, shallow = [64] * 4, [64, 32]
    else:
        config = dict(n_train=10000, n_test=2000, epochs=8, seeds=3, batch=64, lr=0.01, target=0.8)
        deep, shallow = [256] * 6, [256, 128]
    # two deep nets (the lesson), and the seed's own shallow 784-256-128-10 for its claims
    config["nets"] = {
        "deep relu": ("relu", deep),
        "deep tanh": ("tanh", deep),
        "shallow relu": ("relu", shallow),
    }
    data = fashion_mnist(config["n_train"], config["n_test"], seed=args.seed, flat=True)
    x_probe = data[1][0][:1000]

    stds, runs, summary = {}, {}, {}
    started = time.perf_counter()
    for net, (act, hidden) in config["nets"].items():
        stds[net], runs[net], summary[net] = {}, {}, {}
        for init in INITS:
            model = build(init, act, hidden, args.seed)
            stds[net][init] = hidden_stds(model, x_probe)
            runs[net][init] = []
            for s in range(config["seeds"]):
                seed = args.seed + s
                model = build(init, act, hidden, seed)
                runs[net][init].append(
                    train(
                        model,
                        data,
                        config["epochs"],
                        config["batch"],
                        config["lr"],
                        seed,
                        config["target"],
                    )
                )
            summary[net][init] = summarize(runs[net][init], config["target"])
            s = summary[net][init]
            print(
                f"{net:12s} {init:26s} final {s['final_accuracy_mean']:.3f} "
                f"+- {s['final_accuracy_std']:.3f}  to target: {s['epochs_to_target_mean']} epochs",
                file=sys.stderr,
            )
    results = {
        "config": config,
        "total_seconds": round(time.perf_counter() - started, 1),
        "hidden_std_at_init": stds,
        "summary": summary,
        "runs": runs,
        "seed_claims": {
            k: dict(zip(("accuracy", "time", "stability"), v)) for k, v in SEED_CLAIMS.items()
        },
    }
    draw(args, results)
    return finish(args, results, table(results))


def table(results: dict) -> str:
    """The measured table, one row per net and initialization, the seed's claims beside."""
    config, summary = results["config"], results["summary"]

    def cell(v, fmt):
        return "never" if v is None else format(v, fmt)

    rows = []
    for net, (act, hidden) in config["nets"].items():
        for init in INITS:
            s = summary[net][init]
            claim = SEED_CLAIMS.get(init, ("-", "-", "-"))
            rows.append(
                {
                    "net": label(act, hidden),
                    "init": init,
                    "std last hidden @init": results["hidden_std_at_init"][net][init][-1],
                    "final acc (mean)": s["final_accuracy_mean"],
                    "spread (max-min)": s["final_accuracy_max"] - s["final_accuracy_min"],
                    f"epochs to {config['target']:.2f}": cell(s["epochs_to_target_mean"], ".1f"),
                    "s to target": cell(s["seconds_to_target_mean"], ".1f"),
                    "seeds reaching": s["seeds_reaching_target"],
                    "seed claims (acc, time, stability)": ", ".join(claim),
                }
            )
    return markdown_table(rows)


if __name__ == "__main__":
    main()
