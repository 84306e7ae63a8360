"""Samples and error cases for unfold and fold (im2col / col2im), the ops the torch door added.

The other functionals added with them (activations, losses, distances, interpolate,
embedding_bag, pixel_shuffle) are compositions of registered ops; their torch parity, values
and gradients, is tested in tests/test_nn_torch_more.py.
"""

from __future__ import annotations

from op_db import ErrorSample, Sample, randn

UNFOLD_KW = {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}

SAMPLES = {
    "unfold": [
        Sample(lambda m, x: m.F.unfold(x, 2), (randn(2, 3, 4, 5, seed=301),), desc="k2"),
        Sample(
            lambda m, x: m.F.unfold(x, **UNFOLD_KW),
            (randn(1, 2, 6, 5, seed=302),),
            desc="dilated-padded-strided",
        ),
        Sample(
            lambda m, x: m.F.unfold(x, 3, stride=2), (randn(2, 5, 5, seed=303),), desc="unbatched"
        ),
    ],
    "fold": [
        Sample(lambda m, x: m.F.fold(x, (4, 5), 2), (randn(2, 12, 12, seed=304),), desc="k2"),
        Sample(
            lambda m, x: m.F.fold(x, (6, 5), **UNFOLD_KW),
            (randn(1, 12, 15, seed=305),),
            desc="dilated-padded-strided",
        ),
        Sample(
            lambda m, x: m.F.fold(x, (5, 5), 3, stride=2),
            (randn(18, 4, seed=306),),
            desc="unbatched",
        ),
    ],
}

ERRORS = [
    ErrorSample(
        lambda m, x: m.F.fold(x, (4, 4), 2),
        (randn(1, 4, 8, seed=1),),
        ValueError,
        r"fold: .*calculated number of sliding blocks 3 \* 3 = 9, but got 8",
        desc="fold-blocks",
    ),
    ErrorSample(
        lambda m, x: m.F.unfold(x, 2),
        (randn(4, 4, seed=2),),
        ValueError,
        r"unfold: expected a 3-d \(C, H, W\) or 4-d \(N, C, H, W\) input, got \(4, 4\)",
        desc="unfold-rank",
    ),
]
