"""scikit-learn estimators around nerve models: scikeras's and skorch's interfaces.

``KerasClassifier`` / ``KerasRegressor`` wrap a Keras-style model, given as a function that
builds it or as a model, with scikeras's parameter routing: ``model__units`` goes to the
building function, ``optimizer__learning_rate`` to the optimizer, ``loss__*`` to the loss,
``fit__*`` / ``predict__*`` to ``fit`` / ``predict``; ``epochs``, ``batch_size``, ``verbose``,
``callbacks``, ``validation_split``, ``shuffle``, ``class_weight`` are parameters of their own.
``NeuralNetClassifier`` / ``NeuralNetRegressor`` wrap an ``nn.Module`` as skorch does
(``module__*``, ``optimizer__*``, ``criterion__*``, ``lr``, ``max_epochs``, ``batch_size``).

All of them are ordinary estimators: ``get_params`` / ``set_params`` / ``clone``,
``fit`` / ``partial_fit`` / ``predict`` / ``predict_proba`` / ``score``, ``classes_`` and
``n_features_in_``; they work in Pipeline, GridSearchCV, cross_val_score and Optuna's
OptunaSearchCV. Needs scikit-learn: ``pip install 'nerve[tune]'``.
"""

from nerve.sklearn._base import INSTALL_HINT
from nerve.sklearn.keras_wrappers import KerasClassifier, KerasRegressor, mlp_model
from nerve.sklearn.neural_net import NeuralNetClassifier, NeuralNetRegressor, ValidSplit

__all__ = [
    "INSTALL_HINT",
    "KerasClassifier",
    "KerasRegressor",
    "NeuralNetClassifier",
    "NeuralNetRegressor",
    "ValidSplit",
    "mlp_model",
]
