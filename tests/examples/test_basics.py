"""The gallery's first lessons in quick mode: activations, an MLP from scratch, initialization.

Each test runs one example through ``run_example`` (``--quick`` into a temporary folder) and
checks that it measured what its lesson says, with stated margins, and wrote its pictures.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

CHANCE = 0.1  # ten classes in digits and Fashion-MNIST


def _pictures(out, *names):
    for name in names:
        path = out / f"{name}.png"
        assert path.is_file() and path.stat().st_size > 1000, f"{path} missing or empty"


def test_activations(run_example):
    pytest.importorskip("sklearn")
    results, out = run_example("activations")
    shapes = results["activations"]
    assert len(shapes) >= 20
    # derivatives by autograd, at known points
    assert shapes["sigmoid"]["derivative"]["0.0"] == pytest.approx(0.25, abs=1e-6)
    assert shapes["sigmoid"]["max_derivative"] == pytest.approx(0.25, abs=1e-6)
    assert results["sigmoid_autograd_vs_seed_formula_max_abs_diff"] < 1e-6
    assert shapes["tanh"]["derivative"]["0.0"] == pytest.approx(1.0, abs=1e-6)
    assert shapes["relu"]["derivative"]["-1.0"] == 0.0
    assert shapes["relu"]["derivative"]["1.0"] == 1.0
    assert shapes["leaky_relu(0.2)"]["derivative"]["-1.0"] == pytest.approx(0.2, abs=1e-6)
    assert shapes["elu"]["derivative"]["-1.0"] == pytest.approx(0.36787944, abs=1e-6)
    assert shapes["silu (swish)"]["value"]["1.0"] == pytest.approx(0.7310586, abs=1e-6)
    # away from kinks, nerve's autograd and torch's agree to float32 rounding
    for name, row in shapes.items():
        if "max_abs_diff_derivative_vs_torch" in row:
            assert row["max_abs_diff_value_vs_torch"] < 1e-5, name
            assert row["max_abs_diff_derivative_vs_torch"] < 1e-5, name
    # the same MLP learned with ReLU, barely moved with sigmoid: vanishing gradient
    trained = results["training"]["per_activation"]
    relu = trained["relu"]
    assert relu["test_accuracy"] > CHANCE + 0.6
    assert relu["loss_last_epoch"] < 0.5 * relu["loss_first_epoch"]
    assert trained["sigmoid"]["grad_norm_first_over_last_at_init"] < 0.1
    assert relu["grad_norm_first_over_last_at_init"] > 0.5
    assert trained["leaky_relu(0.2)"]["dead_units_percent"] == 0.0
    _pictures(out, "activations", "activations_training")


def test_from_scratch(run_example):
    pytest.importorskip("sklearn")
    results, out = run_example("from_scratch")
    check = results["gradient_check"]
    # the hand-written chain rule is autograd's gradient, to rounding
    assert check["float32"]["max_abs_diff"] < 1e-6
    assert check["float64"]["max_abs_diff"] < 1e-12
    runs = results["runs"]
    assert set(runs) == {"by hand (SGD)", "nn + optim.SGD", "nn + optim.Adam"}
    for name, run in runs.items():
        assert run["loss"][-1] < 0.5 * run["loss"][0], name
        assert run["test_accuracy"][-1] > CHANCE + 0.7, name
    # same start, same batches, same rule: nn + optim.SGD retraces the hand-written run
    same = results["hand_vs_nn_sgd"]
    assert same["max_abs_step_loss_diff_first_100_steps"] < 1e-5
    assert same["max_abs_epoch_loss_diff"] < 1e-3
    _pictures(out, "from_scratch")


def _have_fashion_mnist() -> bool:
    """Fashion-MNIST is on disk where nerve.datasets looks (this test must not download)."""
    from nerve.datasets import fashion_mnist

    places = [Path(fashion_mnist.DEBIAN_DIR), Path.home() / ".cache/nerve/datasets/fashion-mnist"]
    if os.environ.get("NERVE_DATA"):
        places.append(Path(os.environ["NERVE_DATA"]) / "fashion-mnist")
    return any(p.is_dir() and any(p.iterdir()) for p in places)


def test_initialization(run_example):
    if not _have_fashion_mnist():
        pytest.skip("Fashion-MNIST is not installed (make fashion-mnist)")
    results, out = run_example("initialization")
    summary, stds = results["summary"], results["hidden_std_at_init"]
    assert set(summary) == {"deep relu", "deep tanh", "shallow relu"}
    for net, (_, hidden) in results["config"]["nets"].items():
        # zeros: every hidden unit stays 0 and gets no gradient, so the net predicts one class
        assert stds[net]["zeros"] == [0.0] * len(hidden), net
        assert summary[net]["zeros"]["final_accuracy_max"] < CHANCE + 0.1, net
        # a scaled initialization learns
        assert summary[net]["He (kaiming) normal"]["final_accuracy_mean"] > CHANCE + 0.4, net
    # small random values shrink the signal layer after layer; He keeps its scale
    small = stds["deep relu"]["small random N(0, 0.01^2)"]
    he = stds["deep relu"]["He (kaiming) normal"]
    assert small[-1] < 1e-3 * small[0]
    assert 0.2 < he[-1] / he[0] < 5
    for net, by_init in results["runs"].items():
        for init, seeds in by_init.items():
            assert len(seeds) == results["config"]["seeds"], (net, init)
            assert len(seeds[0]["test_accuracy"]) == results["config"]["epochs"], (net, init)
    _pictures(out, "initialization")
