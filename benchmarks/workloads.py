"""The workloads: the same models, written once against either framework's ``nn``.

nerve's PyTorch door mirrors torch's names, so each model below is built by one function that
takes the framework's ``nn`` module, and one training step serves both sides. A workload's
``build(side, data)`` returns ``step(i)``: one training step (or inference call, or fit epoch)
on batch ``i`` that returns the loss (or None).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from benchmarks.data import Data

BATCH = 128
TRAIN_BATCHES = 32  # distinct training batches, cycled; 4096 images
TEST_IMAGES = 1024
FIT_BATCHES = 16  # batches in one fit epoch
LR = 1e-3


def framework(name: str) -> SimpleNamespace:
    """nerve or torch as one namespace: nn, optim, tensor (zero-copy), no_grad, seed."""
    if name not in ("nerve", "torch"):
        raise ValueError(f"framework: expected 'nerve' or 'torch', got {name!r}")
    mod = importlib.import_module(name)
    nn = importlib.import_module(f"{name}.nn")
    optim = importlib.import_module(f"{name}.optim")
    return SimpleNamespace(
        name=name, mod=mod, nn=nn, optim=optim, tensor=mod.from_numpy, no_grad=mod.no_grad
    )


# ----------------------------------------------------------------------------- models
def mlp(nn):
    """784-256-128-10 with ReLU."""
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )


def cnn(nn, batch_norm: bool = False):
    """Two conv-ReLU-maxpool blocks and two Linear layers; BatchNorm2d after each conv and
    Dropout before the last Linear when ``batch_norm``."""

    def bn(c):
        return [nn.BatchNorm2d(c)] if batch_norm else []

    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        *bn(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        *bn(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1600, 128),
        nn.ReLU(),
        *([nn.Dropout(0.5)] if batch_norm else []),
        nn.Linear(128, 10),
    )


def lstm(nn):
    """LSTM(28 -> 128) over the 28 rows of an image; the last hidden state -> Linear(10)."""

    class RowLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    return RowLSTM()


def transformer(nn):
    """Linear(28, 64) row embedding, 2 encoder layers (4 heads, feed-forward 128), mean-pooled
    over the rows -> Linear(10). Dropout is torch's default 0.1 on both sides."""

    class RowTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(28, 64)
            layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            return self.head(self.encoder(self.embed(x)).mean(dim=1))

    return RowTransformer()


# ----------------------------------------------------------------------------- steps
def _train(model_fn: Callable, shape: tuple) -> Callable:
    def build(side: str, data: Data) -> Callable[[int], float]:
        fw = framework(side)
        fw.mod.manual_seed(0)
        model = model_fn(fw.nn)
        model.train()
        opt = fw.optim.Adam(model.parameters(), lr=LR)
        loss_fn = fw.nn.CrossEntropyLoss()
        batches = [
            (fw.tensor(x.reshape((len(x), *shape))), fw.tensor(y))
            for x, y in data.batches(BATCH, TRAIN_BATCHES)
        ]

        def step(i: int) -> float:
            x, y = batches[i % len(batches)]
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        return step

    return build


def _infer(model_fn: Callable, shape: tuple, batch: int) -> Callable:
    def build(side: str, data: Data) -> Callable[[int], None]:
        fw = framework(side)
        fw.mod.manual_seed(0)
        model = model_fn(fw.nn)
        model.eval()
        count = max(1, min(64, len(data.test_x) // batch))
        inputs = [
            fw.tensor(
                np.ascontiguousarray(data.test_x[k * batch : (k + 1) * batch]).reshape(
                    (batch, *shape)
                )
            )
            for k in range(count)
        ]

        def step(i: int) -> None:
            with fw.no_grad():
                model(inputs[i % count])

        return step

    return build


def _keras_mlp():
    from nerve import layers, models

    return models.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ]
    )


def _fit(side: str, data: Data) -> Callable[[int], float]:
    """``fit``: one epoch of Model.fit over FIT_BATCHES batches; ``manual``: nerve's own loop
    doing forward, loss, zero_grad, backward, step (and reading the loss) on the same batches."""
    import nerve
    from nerve import losses, optimizers

    nerve.manual_seed(0)
    x = data.train_x[: FIT_BATCHES * BATCH].reshape(-1, 784)
    y = data.train_y[: FIT_BATCHES * BATCH]
    model = _keras_mlp()
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    if side == "fit":
        model.compile(optimizer=optimizers.Adam(LR), loss=loss_fn)

        def fit_epoch(i: int) -> float:
            history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
            return history.history["loss"][-1]

        return fit_epoch
    if side != "manual":
        raise ValueError(f"fit workload: side must be 'fit' or 'manual', got {side!r}")
    opt = optimizers.Adam(LR)
    opt.build(model.trainable_weights)

    def manual_epoch(i: int) -> float:
        model.train()
        total = 0.0
        for k in range(FIT_BATCHES):
            xb = nerve.from_numpy(x[k * BATCH : (k + 1) * BATCH])
            yb = nerve.from_numpy(y[k * BATCH : (k + 1) * BATCH])
            loss = loss_fn(yb, model(xb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        return total / FIT_BATCHES

    return manual_epoch


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Plan:
    """Warm-up calls per side, then ``blocks`` rounds of ``steps`` timed calls per side."""

    warmup: int
    blocks: int
    steps: int


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    kind: str  # "train", "infer" or "fit"
    target: float  # the ratio to stay at or under
    build: Callable[[str, Data], Callable[[int], float | None]]
    full: Plan
    quick: Plan
    per_call: int = 1  # training steps one call makes (fit: a whole epoch)

    def sides(self, with_torch: bool) -> tuple[str, ...]:
        if self.kind == "fit":
            return ("fit", "manual")
        return ("nerve", "torch") if with_torch else ("nerve",)


_IMG = (1, 28, 28)

WORKLOADS = [
    Workload("mlp", "MLP 784-256-128-10 train step", "train", 1.0,
             _train(mlp, (784,)), Plan(3, 15, 20), Plan(1, 2, 1)),
    Workload("cnn", "CNN train step", "train", 1.5,
             _train(cnn, _IMG), Plan(2, 15, 4), Plan(0, 2, 1)),
    Workload("cnn_bn", "CNN + BatchNorm + Dropout train step", "train", 1.5,
             _train(lambda nn: cnn(nn, batch_norm=True), _IMG), Plan(2, 15, 4), Plan(0, 2, 1)),
    Workload("lstm", "LSTM(28->128) over rows, train step", "train", 1.5,
             _train(lstm, (28, 28)), Plan(2, 15, 8), Plan(0, 2, 1)),
    Workload("transformer", "Transformer encoder (64, 4 heads, 2 layers), train step", "train",
             1.5, _train(transformer, (28, 28)), Plan(2, 15, 6), Plan(0, 2, 1)),
    Workload("infer_mlp_b1", "MLP inference, batch 1", "infer", 0.5,
             _infer(mlp, (784,), 1), Plan(20, 15, 200), Plan(2, 2, 5)),
    Workload("infer_mlp_b1024", "MLP inference, batch 1024", "infer", 1.0,
             _infer(mlp, (784,), 1024), Plan(3, 15, 10), Plan(0, 2, 1)),
    Workload("infer_cnn_b1", "CNN inference, batch 1", "infer", 0.5,
             _infer(cnn, _IMG, 1), Plan(10, 15, 100), Plan(1, 2, 3)),
    Workload("infer_cnn_b1024", "CNN inference, batch 1024", "infer", 1.0,
             _infer(cnn, _IMG, 1024), Plan(1, 15, 2), Plan(0, 2, 1)),
    Workload("fit", "Keras-style fit vs nerve's manual loop (MLP, 16 batches/epoch)", "fit",
             1.05, _fit, Plan(1, 21, 1), Plan(0, 2, 1), per_call=FIT_BATCHES),
]  # fmt: skip

BY_NAME = {w.name: w for w in WORKLOADS}

# Multiply-adds of the MLP's three matmuls, x2 for FLOPs, x3 for forward + both backward matmuls.
MLP_TRAIN_FLOPS = 3 * 2 * BATCH * (784 * 256 + 256 * 128 + 128 * 10)

# Workloads kept in their own files; they build on the names above.
from benchmarks.workloads_doctor import DOCTOR  # noqa: E402
from benchmarks.workloads_explain import IG  # noqa: E402

WORKLOADS += [IG, DOCTOR]
BY_NAME.update((w.name, w) for w in (IG, DOCTOR))
