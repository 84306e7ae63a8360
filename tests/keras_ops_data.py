"""Inputs shared by the keras.ops tests (test_keras_ops.py, test_keras_ops_gradients.py)."""

import numpy as np

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((3, 4)).astype(np.float32)
C = rng.standard_normal((2, 3, 4)).astype(np.float32)
M = rng.standard_normal((4, 5)).astype(np.float32)
V = rng.standard_normal(4).astype(np.float32)
P = (np.abs(A) + 0.5).astype(np.float32)  # positive
U = rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32)  # in (0, 1)
I = np.array([[3, -1, 2, 7], [0, 5, -4, 1], [2, 2, 9, 4]], np.int32)
J = np.array([[1, 2, 3, 2], [3, 1, 1, 5], [2, 4, 2, 1]], np.int32)
L = np.array([2, 0, 3], np.int32)  # labels for 4 classes
S = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]], np.float32)
NAN = np.array([1.0, np.nan, np.inf, -np.inf, -2.0], np.float32)
SQ = rng.standard_normal((4, 4)).astype(np.float32)
S64 = S.astype(np.float64)
X1 = rng.standard_normal((2, 7, 4)).astype(np.float32)  # (batch, steps, channels)
K1 = rng.standard_normal((3, 4, 5)).astype(np.float32)
K1G = rng.standard_normal((3, 2, 6)).astype(np.float32)  # 2 groups
X2 = rng.standard_normal((2, 7, 6, 4)).astype(np.float32)  # (batch, height, width, channels)
K2 = rng.standard_normal((3, 2, 4, 5)).astype(np.float32)
K2G = rng.standard_normal((3, 3, 2, 6)).astype(np.float32)  # 2 groups
KD = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
Q = rng.standard_normal((2, 5, 2, 4)).astype(np.float32)  # (batch, length, heads, features)
KV = rng.standard_normal((2, 6, 2, 4)).astype(np.float32)
KV2 = rng.standard_normal((2, 6, 2, 3)).astype(np.float32)
MASK = rng.uniform(size=(2, 1, 5, 6)) > 0.3
MASK[0, 0, 1] = False  # one query with every key masked
BIAS = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
AN = A.copy()
AN[0, 1] = AN[2, 3] = np.nan  # NaNs for the nan* reductions
AN[1] = np.nan  # one row all NaN
