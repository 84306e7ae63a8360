"""Optimizers and learning-rate schedules (PyTorch's ``torch.optim`` API).

>>> import nerve
>>> from nerve import optim
>>> w = nerve.tensor([3.0], requires_grad=True)
>>> opt = optim.Adam([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> w._data.round(2)  # Adam moves about lr per step
array([2.7], dtype=float32)
"""

from nerve.optim import lr_scheduler
from nerve.optim.adadelta import Adadelta
from nerve.optim.adagrad import Adagrad
from nerve.optim.adam import Adam
from nerve.optim.adamax import Adamax
from nerve.optim.adamw import AdamW
from nerve.optim.lbfgs import LBFGS
from nerve.optim.lion import Lion
from nerve.optim.nadam import NAdam
from nerve.optim.optimizer import Optimizer
from nerve.optim.rmsprop import RMSprop
from nerve.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "LBFGS",
    "Adamax",
    "Lion",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
]
