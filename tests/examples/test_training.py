"""The training-technique examples (regularization, optimizers, residual) in quick mode: each
learns, reports every method it compares and writes its pictures."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

CHANCE = 0.10  # ten Fashion-MNIST classes


def _pngs_written(results, out):
    for name in results["figures"]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 1000, f"{name} missing or empty"


def test_regularization_learns_and_regularizers_shrink_the_gap(run_example):
    results, out = run_example("regularization")
    rows = {r["method"]: r for r in results["methods"]}
    assert set(rows) == {
        "none",
        "L2 0.01",
        "L2 0.001",
        "dropout",
        "batch norm",
        "augmentation",
        "early stopping",
        "seed recipe",
    }
    for name, row in rows.items():
        history = results["history"][name]
        assert len(history["val_accuracy"]) == row["epochs"] >= 1
        assert history["loss"][-1] < history["loss"][0], name
        # 300 training images, 6 epochs: every method is well above chance.
        assert row["val_acc"] > CHANCE + 0.35, (name, row["val_acc"])
        assert row["gap"] == pytest.approx(row["train_acc"] - row["val_acc"])
    # Even in a few epochs the unregularized MLP fits its training set better than it
    # generalizes, and augmentation (the strongest regularizer here) narrows that gap.
    assert rows["none"]["gap"] > 0.05
    assert rows["augmentation"]["gap"] < rows["none"]["gap"]
    _pngs_written(results, out)
    assert results["figures"] == ["regularization.png", "regularization_val_loss.png"]


def test_optimizers_all_start_equal_and_adaptive_ones_learn_fastest(run_example):
    results, out = run_example("optimizers")
    rows = {r["optimizer"]: r for r in results["optimizers"]}
    assert list(rows) == [
        "SGD",
        "SGD+momentum",
        "Nesterov",
        "RMSprop",
        "Adam",
        "AdamW",
        "AdamW+cosine",
        "AdamW+cosine+clip",
    ]
    first_losses = {name: c["loss"][0] for name, c in results["curves"].items()}
    # One starting state_dict and the same first batch: the first loss is the same for all.
    assert max(first_losses.values()) - min(first_losses.values()) < 1e-5
    for name, row in rows.items():
        curve = results["curves"][name]
        assert row["train_loss"] < curve["loss"][0], name  # last epoch below the first step
        assert row["time_s"] > 0 and row["cpu_s"] > 0
    for name in ("SGD+momentum", "RMSprop", "Adam", "AdamW", "AdamW+cosine", "AdamW+cosine+clip"):
        assert rows[name]["test_acc"] > CHANCE + 0.4, (name, rows[name]["test_acc"])
    # Plain SGD at lr 0.01 is the slowest start; momentum speeds it up.
    assert rows["SGD"]["train_loss"] > rows["SGD+momentum"]["train_loss"]
    assert rows["Adam"]["train_loss"] < rows["SGD"]["train_loss"]
    # The cosine schedule ends near zero: its learning rate only falls.
    lrs = results["curves"]["AdamW+cosine+clip"]["lr"]
    assert lrs[0] == pytest.approx(1e-3) and all(b < a for a, b in zip(lrs, lrs[1:]))
    assert lrs == results["curves"]["AdamW+cosine"]["lr"]
    assert 0 <= rows["AdamW+cosine+clip"]["clipped"] <= 1 and "clipped" not in rows["AdamW"]
    _pngs_written(results, out)


def test_residual_deep_net_trains_and_reports_gradients(run_example):
    results, out = run_example("residual")
    rows = {r["model"]: r for r in results["models"]}
    assert list(rows) == ["shallow plain", "deep plain", "deep residual"]
    blocks = results["blocks"]
    assert (
        rows["deep plain"]["conv_layers"] == rows["deep residual"]["conv_layers"] == 1 + 2 * blocks
    )
    assert rows["deep plain"]["params"] == rows["deep residual"]["params"]
    for name, row in rows.items():
        assert row["last_epoch_loss"] < row["first_epoch_loss"], name
        assert len(results["curves"][name]["grad_norms"]) == row["conv_layers"]
    assert rows["deep residual"]["test_acc"] > CHANCE + 0.2
    # The shortcut carries the gradient down: the first conv layer gets more of it.
    assert rows["deep residual"]["grad_first_conv"] > rows["deep plain"]["grad_first_conv"]
    _pngs_written(results, out)
