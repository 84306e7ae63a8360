"""The nn layers, one file per family."""

from nerve.nn.modules.activation import (
    ELU,
    GELU,
    SELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from nerve.nn.modules.attention import MultiheadAttention
from nerve.nn.modules.container import (
    Flatten,
    Identity,
    ModuleDict,
    ModuleList,
    Sequential,
    Unflatten,
)
from nerve.nn.modules.conv import Conv1d, Conv2d, ConvTranspose2d
from nerve.nn.modules.dropout import Dropout
from nerve.nn.modules.embedding import Embedding
from nerve.nn.modules.linear import Bilinear, Linear
from nerve.nn.modules.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from nerve.nn.modules.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from nerve.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from nerve.nn.modules.rnn import GRU, LSTM, RNN
from nerve.nn.modules.transformer import (
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
