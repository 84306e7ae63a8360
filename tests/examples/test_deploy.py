"""The deployment and analysis examples (quantization, onnx_serving, search, nas, explain) in
quick mode: each learns above chance by a stated margin, reports what it compares and writes its
pictures."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

CHANCE = 0.10  # ten Fashion-MNIST classes


def _pngs_written(results, out):
    assert results["figures"], "no figure listed"
    for name in results["figures"]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 1000, f"{name} missing or empty"


def _learned(results):
    losses = results["epoch_loss"]
    assert losses[-1] < losses[0], losses


def test_quantization_shrinks_files_4x_and_keeps_accuracy(run_example):
    pytest.importorskip("onnxruntime")
    results, out = run_example("quantization")
    _learned(results)
    rows = {r["variant"]: r for r in results["rows"]}
    assert list(rows) == [
        "nerve fp32",
        "nerve int8",
        "onnxruntime fp32",
        "onnxruntime int8 static",
        "onnxruntime int8 dynamic",
    ]
    fp32 = rows["nerve fp32"]
    # 384 images, 2 epochs: well above chance
    assert fp32["accuracy"] > CHANCE + 0.25
    # the same float32 model in onnxruntime predicts the same classes
    assert rows["onnxruntime fp32"]["agreement"] >= 0.99
    assert abs(rows["onnxruntime fp32"]["size_kb"] - fp32["size_kb"]) < 0.05 * fp32["size_kb"]
    for name in ("nerve int8", "onnxruntime int8 static", "onnxruntime int8 dynamic"):
        row = rows[name]
        assert row["size_ratio"] > 3.0, (name, row["size_ratio"])  # int8 weights: ~4x smaller
        assert abs(row["accuracy_drop_points"]) < 3.0, (name, row)
        assert row["agreement"] > 0.9, (name, row)
    for row in rows.values():
        assert row["batch1_ms"] > 0 and row["batch256_ms"] > 0
        assert (out / row["file"]).is_file()
    # the seed's recipe overflows int8 and breaks the model; read as uint8 it works
    seed = {r["variant"]: r for r in results["seed_recipe"]}
    broken = seed["seed recipe as written (int8 cast)"]["accuracy"]
    fixed = seed["seed recipe, uint8"]["accuracy"]
    assert broken < fp32["accuracy"] - 0.2
    assert abs(fixed - fp32["accuracy"]) < 0.03
    assert 0.1 < results["seed_recipe_wrapped_fraction"] < 0.9
    _pngs_written(results, out)


def test_onnx_serving_matches_nerve_and_serves(run_example):
    pytest.importorskip("onnxruntime")
    results, out = run_example("onnx_serving")
    _learned(results)
    assert results["nerve_accuracy"] > CHANCE + 0.25
    assert results["max_abs_diff"] < 1e-4 * max(1.0, results["max_abs_logit"])
    assert results["max_abs_diff_batch1"] < 1e-4 * max(1.0, results["max_abs_logit"])
    assert results["class_agreement"] == 1.0
    assert results["onnx_accuracy"] == results["nerve_accuracy"]
    assert results["opset_11"].startswith("refused"), results["opset_11"]
    assert (out / "cnn.onnx").stat().st_size > 1000
    served = results["served"]
    assert len(served) == 8
    assert all(0.1 <= s["probability"] <= 1.0 for s in served)
    assert sum(s["predicted"] == s["label"] for s in served) >= 3
    assert [r["batch"] for r in results["latency"]] == [1, 8, 64, 256]
    for row in results["latency"]:
        assert row["nerve_ms"] > 0 and row["ort_optimized_ms"] > 0
    _pngs_written(results, out)


def test_search_three_tuners_find_models_above_chance(run_example):
    pytest.importorskip("optuna")
    results, out = run_example("search")
    summary = {r["tuner"]: r for r in results["summary"]}
    assert list(summary) == ["RandomSearch", "BayesianOptimization", "Hyperband"]
    assert summary["RandomSearch"]["trials"] == 3
    assert summary["BayesianOptimization"]["trials"] == 3
    assert summary["Hyperband"]["trials"] == 5  # max_epochs=2, factor=2: 5 trials
    for name, row in summary.items():
        # 500 images, 1-2 epochs per trial: the best of a few trials is far above chance
        assert row["best_val_accuracy"] > CHANCE + 0.3, (name, row)
        assert row["test_accuracy"] > CHANCE + 0.3, (name, row)
        assert row["epochs_trained"] >= row["trials"]
    for row in results["trials"]:
        assert 32 <= row["units"] <= 512 and row["units"] % 32 == 0
        assert row["learning_rate"] in (1e-2, 1e-3, 1e-4)
        assert 0.0 <= row["dropout"] <= 0.5
    # Hyperband trains its better models on: some trials resume a parent's checkpoint
    assert any(r["promoted_from"] for r in results["trials"] if r["tuner"] == "Hyperband")
    _pngs_written(results, out)


def test_nas_random_architectures_and_best_summary(run_example):
    pytest.importorskip("optuna")
    results, out = run_example("nas")
    rows = results["trials"]
    assert len(rows) == 4
    for row in rows:
        assert row["kind"] in ("dense", "conv")
        assert len(row["widths"].split("-")) == row["depth"]
        assert row["activation"] in ("relu", "elu", "swish")
        assert row["params"] > 0
    best = results["best"]
    # 400 images, 2 epochs: the best architecture is well above chance
    assert best["val_accuracy"] > CHANCE + 0.3
    assert best["test_accuracy"] > CHANCE + 0.25
    assert best["val_accuracy"] == max(r["val_accuracy"] for r in rows)
    assert f"{best['params']:,}" in results["best_summary"]
    assert sum(r["trials"] for r in results["by_depth"]) == len(rows)
    _pngs_written(results, out)


def test_explain_attributions_beat_random_deletion(run_example):
    results, out = run_example("explain")
    _learned(results)
    assert results["test_accuracy"] > CHANCE + 0.25
    rows = {r["method"]: r for r in results["deletion"]}
    assert list(rows) == [
        "Saliency",
        "InputXGradient",
        "IntegratedGradients",
        "DeepLift",
        "GuidedBackprop",
        "Occlusion",
        "DeepExplainer",
        "random",
    ]
    # removing the 20% of pixels a method ranks highest hurts the predicted class far more
    # than removing 20% at random
    chance_level = rows["random"]["p@20%"]
    for name, row in rows.items():
        if name != "random":
            assert row["p@20%"] < chance_level - 0.05, (name, row, chance_level)
            assert row["drop@5%"] > rows["random"]["drop@5%"], (name, row)
    # DeepLift is exactly complete on a ReLU network; IG (8 steps in quick mode) nearly so
    assert results["completeness_error"]["DeepLift"] < 1e-3
    assert results["completeness_error"]["IntegratedGradients"] < 0.3
    _pngs_written(results, out)
