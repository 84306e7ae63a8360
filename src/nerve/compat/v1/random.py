"""tf.random: the newer spellings of the random ops (tf.random.normal is tf.random_normal)."""

from nerve.compat.v1.creation import random_normal as normal
from nerve.compat.v1.creation import random_uniform as uniform
from nerve.compat.v1.creation import set_random_seed, truncated_normal

set_seed = set_random_seed

__all__ = ["normal", "set_random_seed", "set_seed", "truncated_normal", "uniform"]
