"""nerve.losses equal Keras 3's losses: per-sample values, reductions, sample weights, gradients."""

import numpy as np
import pytest

import nerve
from nerve import losses
from nerve.testing import assert_close

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside Keras

rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 4)).astype(np.float32)
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)).astype(np.float32)
LABELS = rng.integers(0, 4, 6)
ONE_HOT = np.eye(4, dtype=np.float32)[LABELS]
BIN_PROBS = rng.uniform(0.05, 0.95, (6, 3)).astype(np.float32)
BIN_TRUE = rng.integers(0, 2, (6, 3)).astype(np.float32)
REG_TRUE = rng.standard_normal((6, 3)).astype(np.float32)
REG_PRED = rng.standard_normal((6, 3)).astype(np.float32)
POS = rng.uniform(0.1, 2.0, (6, 3)).astype(np.float32)

CASES = [
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, LABELS, LOGITS),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, ONE_HOT, PROBS),
    ("BinaryCrossentropy", {}, BIN_TRUE, BIN_PROBS),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BIN_TRUE, REG_PRED),
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("Huber", {"delta": 0.5}, REG_TRUE, REG_PRED),
    ("LogCosh", {}, REG_TRUE, REG_PRED),
    ("Poisson", {}, POS, POS[::-1].copy()),
    ("KLDivergence", {}, PROBS, PROBS[::-1].copy()),
    ("CosineSimilarity", {}, REG_TRUE, REG_PRED),
    ("Hinge", {}, BIN_TRUE, REG_PRED),
    ("SquaredHinge", {}, BIN_TRUE, REG_PRED),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
    ("MeanAbsolutePercentageError", {}, REG_TRUE, REG_PRED),
    ("MeanSquaredLogarithmicError", {}, POS, POS[::-1].copy()),
    ("BinaryFocalCrossentropy", {}, BIN_TRUE, BIN_PROBS),
    (
        "BinaryFocalCrossentropy",
        {"apply_class_balancing": True, "from_logits": True, "label_smoothing": 0.1},
        BIN_TRUE,
        REG_PRED,
    ),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "gamma": 1.5}, ONE_HOT, LOGITS),
]


@pytest.mark.parametrize("name,kwargs,y_true,y_pred", CASES, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_matches_keras(keras, torch, name, kwargs, y_true, y_pred, weighted):
    sw = rng.uniform(0.5, 2.0, len(y_pred)).astype(np.float32) if weighted else None
    ours = getattr(losses, name)(**kwargs)
    theirs = getattr(keras.losses, name)(**kwargs)
    pred_n = nerve.tensor(y_pred, requires_grad=True)
    pred_t = torch.tensor(y_pred, requires_grad=True)
    value_n = ours(y_true, pred_n, sample_weight=sw)
    value_t = theirs(
        torch.tensor(y_true), pred_t, sample_weight=None if sw is None else torch.tensor(sw)
    )
    assert_close(value_n, value_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    value_n.backward()
    value_t.backward()
    assert_close(pred_n.grad, pred_t.grad.numpy(), rtol=1e-4, atol=1e-6)
    per_sample = getattr(losses, name)(reduction="none", **kwargs)(y_true, pred_n)
    assert per_sample.shape == (len(y_pred),)


def test_softmax_output_with_crossentropy_stays_finite():
    probs = nerve.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], requires_grad=True)
    loss = losses.sparse_categorical_crossentropy(np.array([1, 0]), probs).mean()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(-np.log(1e-7), rel=1e-3)
    loss.backward()
    assert np.all(np.isfinite(probs.grad._data))


def test_string_aliases():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert isinstance(losses.get("Huber"), losses.Huber)
    with pytest.raises(ValueError, match="unknown loss 'msee'"):
        losses.get("msee")


def test_labels_out_of_range_are_named():
    with pytest.raises(ValueError, match=r"label 7 is out of range for 4 classes"):
        losses.sparse_categorical_crossentropy(np.array([0, 7]), nerve.randn(2, 4))
    with pytest.raises(ValueError, match=r"label 4 is out of range"):
        losses.sparse_categorical_crossentropy(
            np.array([0, 4]), nerve.randn(2, 4), from_logits=True
        )


def test_shape_mismatch_is_named():
    with pytest.raises(
        ValueError, match=r"y_true has shape \(4, 3\) but y_pred has shape \(4, 2\)"
    ):
        losses.mean_squared_error(np.zeros((4, 3)), nerve.zeros(4, 2))
    with pytest.raises(ValueError, match=r"expected labels of shape \(4,\)"):
        losses.sparse_categorical_crossentropy(np.zeros((4, 10)), nerve.zeros(4, 10))


def test_config_round_trip():
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    again = losses.CategoricalCrossentropy.from_config(loss.get_config())
    x, y = nerve.randn(3, 4), np.eye(4)[[0, 1, 3]]
    assert_close(loss(y, x), again(y, x))
    with pytest.raises(TypeError, match="unexpected argument"):
        losses.MeanSquaredError(delta=1.0)
