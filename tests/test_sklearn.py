"""nerve.sklearn: scikeras-style KerasClassifier/KerasRegressor and skorch-style NeuralNet*."""

import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from nerve import layers, nn, optim  # noqa: E402
from nerve.sklearn import (  # noqa: E402
    KerasClassifier,
    KerasRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
    ValidSplit,
    mlp_model,
)

# Minibatch training on the weights is not the same as training on repeated rows, as for
# scikit-learn's own SGD-trained MLPs.
SAMPLE_WEIGHT = {
    "check_sample_weight_equivalence_on_dense_data": (
        "minibatch gradient descent: a sample weight of 2 is not the same as a repeated row"
    )
}


def keras_clf(**kw):
    params = dict(
        model=mlp_model,
        hidden_layer_sizes=(32,),
        epochs=40,
        verbose=0,
        optimizer="adam",
        optimizer__learning_rate=0.02,
        random_state=0,
    )
    params.update(kw)
    return KerasClassifier(**params)


class TwoLayer(nn.Module):
    """Lazily sized input, so one class serves any number of features."""

    def __init__(self, hidden=16, n_out=1, softmax=False):
        super().__init__()
        self.body = nn.Sequential(layers.Dense(hidden, activation="relu"), nn.Linear(hidden, n_out))
        self.softmax = nn.Softmax(dim=-1) if softmax else None

    def forward(self, x):
        out = self.body(x)
        return self.softmax(out) if self.softmax is not None else out


def _failures(results):
    return {r["check_name"]: repr(r["exception"])[:300] for r in results if r["status"] == "failed"}


def test_keras_classifier_passes_check_estimator():
    results = check_estimator(
        keras_clf(), expected_failed_checks=SAMPLE_WEIGHT, on_fail=None, on_skip=None
    )
    assert _failures(results) == {}


def test_keras_regressor_passes_check_estimator():
    est = KerasRegressor(
        model=mlp_model,
        hidden_layer_sizes=(32,),
        epochs=40,
        verbose=0,
        optimizer="adam",
        optimizer__learning_rate=0.02,
        random_state=0,
    )
    results = check_estimator(est, expected_failed_checks=SAMPLE_WEIGHT, on_fail=None, on_skip=None)
    assert _failures(results) == {}


def test_neural_net_regressor_passes_check_estimator():
    est = NeuralNetRegressor(
        TwoLayer,
        optimizer=optim.Adam,
        lr=0.01,
        max_epochs=30,
        batch_size=32,
        train_split=None,
        verbose=0,
        random_state=0,
    )
    # skorch's design: the module's output width is the user's, so a 5-target y cannot fit a
    # one-output module (2-D y is accepted without a warning, as skorch expects it).
    fixed_width = {"check_regressor_multioutput": "the module has one output unit"}
    assert (
        _failures(
            check_estimator(est, expected_failed_checks=fixed_width, on_fail=None, on_skip=None)
        )
        == {}
    )


def test_params_round_trip_through_get_params_and_clone():
    clf = keras_clf(model__dropout=0.1, fit__validation_split=0.0)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (32,) and params["model__dropout"] == 0.1
    assert params["optimizer__learning_rate"] == 0.02 and params["epochs"] == 40
    twin = clone(clf)
    assert twin.get_params() == params and twin is not clf
    twin.set_params(optimizer__learning_rate=0.5, epochs=3, hidden_layer_sizes=(8,))
    assert twin.optimizer__learning_rate == 0.5 and twin.hidden_layer_sizes == (8,)
    assert clf.optimizer__learning_rate == 0.02  # the original is untouched
    with pytest.raises(ValueError, match="Invalid parameter 'bogus' for estimator KerasClassifier"):
        twin.set_params(bogus=1)
    net = NeuralNetClassifier(TwoLayer, module__hidden=8, lr=0.1)
    assert clone(net).get_params()["module__hidden"] == 8


def test_routing_reaches_model_optimizer_and_fit():
    X, y = make_classification(120, 6, random_state=0)
    seen = {}

    def build(meta, units, compile_kwargs):
        seen.update(units=units, meta=meta, compile_kwargs=compile_kwargs)
        return mlp_model(meta, hidden_layer_sizes=(units,))

    clf = KerasClassifier(
        build,
        model__units=7,
        optimizer="sgd",
        optimizer__learning_rate=0.3,
        optimizer__momentum=0.5,
        epochs=2,
        fit__shuffle=False,
        verbose=0,
    )
    clf.fit(X, y)
    assert seen["units"] == 7 and seen["meta"]["n_features_in_"] == 6
    assert seen["meta"]["n_classes_"] == 2 and seen["meta"]["target_type_"] == "binary"
    opt = clf.model_.optimizer
    assert float(opt.learning_rate) == pytest.approx(0.3) and opt.momentum == 0.5
    assert len(clf.history_["loss"]) == 2
    assert clf.model_.layers[0].units == 7


def test_grid_search_finds_the_planted_parameter():
    # A learning rate of 1e-6 cannot learn in 30 epochs; 3e-2 can: the grid must pick it.
    X, y = make_classification(240, 8, n_informative=4, class_sep=2.0, random_state=1)
    grid = GridSearchCV(
        keras_clf(epochs=30),
        {"optimizer__learning_rate": [1e-6, 3e-2], "hidden_layer_sizes": [(16,)]},
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_["optimizer__learning_rate"] == 3e-2
    assert grid.best_score_ > 0.8
    scores = grid.cv_results_["mean_test_score"]
    assert scores.max() - scores.min() > 0.2


def test_pipeline_cross_val_and_randomized_search_with_string_labels():
    X, y = make_classification(150, 5, n_informative=3, n_classes=3, random_state=2)
    labels = np.array(["ant", "bee", "cat"])[y]
    pipe = make_pipeline(StandardScaler(), keras_clf(epochs=20))
    scores = cross_val_score(pipe, X, labels, cv=3)
    assert scores.mean() > 0.6
    pipe.fit(X, labels)
    assert set(pipe.predict(X)) <= {"ant", "bee", "cat"}
    assert pipe.predict_proba(X[:4]).shape == (4, 3)
    search = RandomizedSearchCV(
        keras_clf(epochs=10),
        {"hidden_layer_sizes": [(8,), (16,)], "epochs": [5, 10]},
        n_iter=2,
        cv=2,
        random_state=0,
    )
    search.fit(X, labels)
    assert search.best_estimator_.classes_.tolist() == ["ant", "bee", "cat"]


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore:OptunaSearchCV is experimental")
def test_optuna_search_cv_tunes_a_keras_classifier():
    optuna = pytest.importorskip("optuna")
    integration = pytest.importorskip("optuna_integration")
    X, y = make_classification(120, 6, random_state=3)
    search = integration.OptunaSearchCV(
        keras_clf(epochs=10),
        {
            "optimizer__learning_rate": optuna.distributions.FloatDistribution(
                1e-3, 1e-1, log=True
            ),
            "epochs": optuna.distributions.IntDistribution(5, 15),
        },
        n_trials=3,
        cv=2,
        random_state=0,
    )
    search.fit(X, y)
    assert len(search.trials_) == 3 and search.best_score_ > 0.5
    assert search.predict(X).shape == (120,)


def test_partial_fit_and_warm_start():
    X, y = make_classification(100, 4, random_state=4)
    clf = keras_clf(epochs=1)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    assert len(clf.history_["loss"]) == 3
    model = clf.model_
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.model_ is model and len(clf.history_["loss"]) == 4
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.model_ is not model


def test_keras_regressor_multi_output():
    X, y = make_regression(160, 4, n_targets=2, random_state=0)
    reg = KerasRegressor(
        mlp_model,
        hidden_layer_sizes=(32,),
        epochs=60,
        optimizer="adam",
        optimizer__learning_rate=0.02,
        verbose=0,
        random_state=0,
    )
    reg.fit(X, y / 100)
    assert reg.predict(X).shape == (160, 2) and reg.score(X, y / 100) > 0.8


def test_model_instance_is_copied_not_trained_in_place():
    from nerve import keras

    X, y = make_classification(80, 4, random_state=5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    before = [w.copy() for w in model.get_weights()]
    clf = KerasClassifier(model, loss="sparse_categorical_crossentropy", epochs=3, verbose=0)
    clf.fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert clf.predict(X).shape == (80,)
    with pytest.raises(ValueError, match="give model="):
        KerasClassifier().fit(X, y)


def test_neural_net_classifier_as_skorch():
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=6)
    net = NeuralNetClassifier(
        TwoLayer,
        module__hidden=32,
        module__n_out=3,
        module__softmax=True,
        max_epochs=25,
        lr=0.2,
        verbose=0,
        random_state=0,
    )
    net.fit(X, y)
    assert len(net.history) == 25 and {"train_loss", "valid_loss", "valid_acc"} <= set(
        net.history[-1]
    )
    assert net.history[-1]["train_loss"] < net.history[0]["train_loss"]
    assert net.score(X, y) > 0.7
    proba = net.predict_proba(X[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    # CrossEntropyLoss on logits: predict_proba applies the softmax ("auto").
    logits = NeuralNetClassifier(
        TwoLayer,
        criterion=nn.CrossEntropyLoss,
        optimizer=optim.Adam,
        module__n_out=3,
        lr=0.01,
        max_epochs=5,
        train_split=None,
        verbose=0,
        random_state=0,
    ).fit(X, y)
    assert np.allclose(logits.predict_proba(X[:5]).sum(1), 1, atol=1e-5)
    grid = GridSearchCV(
        NeuralNetClassifier(
            TwoLayer,
            module__n_out=3,
            module__softmax=True,
            max_epochs=15,
            verbose=0,
            random_state=0,
            train_split=ValidSplit(5),
        ),
        {"lr": [1e-5, 0.2]},
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_ == {"lr": 0.2}


def test_missing_sklearn_gives_install_hint(monkeypatch):
    for name in [m for m in sys.modules if m.startswith("nerve.sklearn")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn.base", None)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[tune\]'"):
        import nerve.sklearn  # noqa: F401
