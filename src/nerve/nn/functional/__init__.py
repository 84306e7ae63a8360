"""Fused neural-network ops with PyTorch's names, arguments, defaults and layouts (NCHW)."""

from nerve.nn.functional.activation import *  # noqa: F403
from nerve.nn.functional.attention import *  # noqa: F403
from nerve.nn.functional.conv import *  # noqa: F403
from nerve.nn.functional.distance import *  # noqa: F403
from nerve.nn.functional.dropout import *  # noqa: F403
from nerve.nn.functional.embedding import *  # noqa: F403
from nerve.nn.functional.embedding_bag import *  # noqa: F403
from nerve.nn.functional.fold import *  # noqa: F403
from nerve.nn.functional.linear import *  # noqa: F403
from nerve.nn.functional.loss import *  # noqa: F403
from nerve.nn.functional.loss_more import *  # noqa: F403
from nerve.nn.functional.normalization import *  # noqa: F403
from nerve.nn.functional.pooling import *  # noqa: F403
from nerve.nn.functional.recurrent import *  # noqa: F403
from nerve.nn.functional.sampling import *  # noqa: F403
from nerve.primitives.indexing import one_hot
from nerve.primitives.shape import pad
