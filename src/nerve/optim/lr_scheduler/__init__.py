"""Learning-rate schedules (PyTorch's ``torch.optim.lr_scheduler`` API), one family per file."""

from nerve.optim.lr_scheduler.base import LRScheduler
from nerve.optim.lr_scheduler.constant import ConstantLR, PolynomialLR
from nerve.optim.lr_scheduler.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from nerve.optim.lr_scheduler.cyclic import CyclicLR
from nerve.optim.lr_scheduler.decay import ExponentialLR, LambdaLR, LinearLR, MultiStepLR, StepLR
from nerve.optim.lr_scheduler.one_cycle import OneCycleLR
from nerve.optim.lr_scheduler.plateau import ReduceLROnPlateau
from nerve.optim.lr_scheduler.sequential import ChainedScheduler, SequentialLR

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
