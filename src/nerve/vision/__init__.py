"""torchvision's names for nerve's image data: ``datasets`` (MNIST, FashionMNIST) and
``transforms`` (per-sample, one random draw per call), thin over nerve.data and nerve.datasets.

Port a torchvision pipeline by changing its imports::

    from nerve.vision import datasets, transforms

>>> from nerve.vision import transforms
>>> transforms.ToTensor()
ToTensor()
"""

from nerve.vision import datasets, transforms

__all__ = ["datasets", "transforms"]
