"""Keras-style callbacks: hooks into ``Model.fit``, ``evaluate`` and ``predict``.

One file per callback. History and the progress bar (ProgbarLogger) are ordinary callbacks that
the loop adds itself. A callback reaches the model only through Keras's interface
(``stop_training``, ``optimizer``, ``get_weights``/``set_weights``, ``save_weights``/``save``).

>>> from nerve import callbacks
>>> cbs = [callbacks.EarlyStopping(patience=3, restore_best_weights=True),
...        callbacks.ReduceLROnPlateau(factor=0.5, patience=2)]
"""

from nerve.callbacks.base import Callback, CallbackList, get_learning_rate, set_learning_rate
from nerve.callbacks.csv_logger import CSVLogger
from nerve.callbacks.doctor import Doctor
from nerve.callbacks.early_stopping import EarlyStopping
from nerve.callbacks.history import History
from nerve.callbacks.lambda_callback import LambdaCallback
from nerve.callbacks.learning_rate_scheduler import LearningRateScheduler
from nerve.callbacks.model_checkpoint import ModelCheckpoint
from nerve.callbacks.monitor_callback import MonitorCallback
from nerve.callbacks.optuna_pruning import OptunaPruning
from nerve.callbacks.progbar import Progbar, ProgbarLogger
from nerve.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from nerve.callbacks.tensorboard import TensorBoard
from nerve.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "Doctor",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "OptunaPruning",
    "Progbar",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
    "get_learning_rate",
    "set_learning_rate",
]
