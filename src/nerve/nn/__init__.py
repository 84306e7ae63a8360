"""PyTorch-style neural-network API: Module, Parameter, the layers, init, functional."""

from nerve.nn import functional, init, utils
from nerve.nn.module import IncompatibleKeys, Module
from nerve.nn.modules import *  # noqa: F403
from nerve.nn.parameter import Parameter
