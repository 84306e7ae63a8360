"""Keras-style layers on nn.Module: lazily built, Keras names, arguments and defaults."""

from nerve.layers.activation import *  # noqa: F403
from nerve.layers.attention import *  # noqa: F403
from nerve.layers.base import InputSpec, Layer
from nerve.layers.conv import *  # noqa: F403
from nerve.layers.conv_depthwise import *  # noqa: F403
from nerve.layers.core import *  # noqa: F403
from nerve.layers.embedding import *  # noqa: F403
from nerve.layers.encoding import *  # noqa: F403
from nerve.layers.input_layer import Input, InputLayer, KerasTensor
from nerve.layers.masking import *  # noqa: F403
from nerve.layers.merge import *  # noqa: F403
from nerve.layers.normalization import *  # noqa: F403
from nerve.layers.pooling import *  # noqa: F403
from nerve.layers.preprocessing import *  # noqa: F403
from nerve.layers.recurrent import *  # noqa: F403
from nerve.layers.regularization import *  # noqa: F403
from nerve.layers.reshaping import *  # noqa: F403
from nerve.layers.resizing import *  # noqa: F403
from nerve.layers.unit_normalization import *  # noqa: F403
