"""Samples and error cases for nerve.nn.functional.conv and nerve.nn.functional.pooling.

Sizes stay small: the float64 gradcheck takes the full Jacobian up to 256 input elements.
Max-pooling inputs are permutations scaled by 0.1 (no ties, and no winner changes under the
gradcheck's 1e-6 steps), so the gradient is well defined.
"""

from __future__ import annotations

import numpy as np

from op_db import ErrorSample, Sample, randn


def distinct(*shape, seed=0):
    """Values 0.1 apart in random order: max pooling without ties."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.1 - n * 0.05


def _with_indices(m, x, **kw):
    # Adds the int64 indices to the output so that the torch test compares them too.
    out, idx = m.F.max_pool2d(x, return_indices=True, **kw)
    return out + idx


def _with_indices_1d(m, x, **kw):
    out, idx = m.F.max_pool1d(x, return_indices=True, **kw)
    return out + idx


# ----------------------------------------------------------------------------- conv
CONV2D = [
    Sample(
        lambda m, x, w, b: m.F.conv2d(x, w, b),
        (randn(2, 2, 5, 4, seed=1), randn(3, 2, 3, 3, seed=2), randn(3, seed=3)),
        desc="bias",
    ),
    Sample(
        lambda m, x, w: m.F.conv2d(x, w, stride=2, padding=1),
        (randn(2, 2, 6, 5, seed=4), randn(3, 2, 3, 3, seed=5)),
        desc="stride2-pad1-nobias",
    ),
    Sample(
        lambda m, x, w, b: m.F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
        (randn(1, 2, 7, 5, seed=6), randn(3, 2, 3, 2, seed=7), randn(3, seed=8)),
        desc="mixed-stride-dilation-batch1",
    ),
    Sample(
        lambda m, x, w: m.F.conv2d(x, w, stride=3, dilation=2),
        (randn(2, 2, 9, 8, seed=9), randn(2, 2, 2, 2, seed=10)),
        desc="stride3-dilation2",
    ),
    Sample(
        lambda m, x, w, b: m.F.conv2d(x, w, b, padding=1, groups=2),
        (randn(2, 4, 5, 5, seed=11), randn(4, 2, 3, 3, seed=12), randn(4, seed=13)),
        desc="groups2",
    ),
    Sample(
        lambda m, x, w, b: m.F.conv2d(x, w, b, stride=2, padding=1, groups=3),
        (randn(2, 3, 5, 6, seed=14), randn(6, 1, 3, 3, seed=15), randn(6, seed=16)),
        desc="depthwise-multiplier2",
    ),
    Sample(
        lambda m, x, w: m.F.conv2d(x, w, padding="same"),
        (randn(1, 2, 5, 6, seed=17), randn(3, 2, 4, 2, seed=18)),
        desc="same-even-kernel",
    ),
    Sample(
        lambda m, x, w: m.F.conv2d(x, w, padding="same", dilation=(1, 2)),
        (randn(2, 2, 5, 5, seed=19), randn(2, 2, 2, 3, seed=20)),
        desc="same-dilated",
    ),
    Sample(
        lambda m, x, w: m.F.conv2d(x, w, padding="valid"),
        (randn(2, 5, 5, seed=21), randn(3, 2, 2, 2, seed=22)),
        desc="valid-unbatched",
    ),
    Sample(
        lambda m, x, w: m.F.conv2d(x.transpose(2, 3), w, padding=(0, 1)),
        (randn(2, 2, 6, 4, seed=23), randn(2, 2, 3, 3, seed=24)),
        desc="noncontiguous-input",
    ),
    Sample(
        lambda m, x, w1, w2: m.F.conv2d(m.F.relu(m.F.conv2d(x, w1, padding=1)), w2, stride=2),
        (randn(2, 1, 6, 6, seed=25), randn(3, 1, 3, 3, seed=26), randn(2, 3, 3, 3, seed=27)),
        desc="chained",
    ),
    Sample(
        lambda m, x, w, b: m.F.conv1d(x, w, b, stride=2, padding=1),
        (randn(2, 3, 9, seed=28), randn(4, 3, 3, seed=29), randn(4, seed=30)),
        desc="conv1d",
    ),
    Sample(
        lambda m, x, w: m.F.conv1d(x, w, padding="same", dilation=2, groups=2),
        (randn(2, 4, 8, seed=31), randn(4, 2, 4, seed=32)),
        desc="conv1d-same-groups",
    ),
    Sample(
        lambda m, x, w: m.F.conv1d(x, w),
        (randn(3, 7, seed=33), randn(2, 3, 7, seed=34)),
        desc="conv1d-unbatched-full-kernel",
    ),
]

CONV_TRANSPOSE2D = [
    Sample(
        lambda m, x, w, b: m.F.conv_transpose2d(x, w, b, stride=2, output_padding=1),
        (randn(2, 3, 3, 4, seed=40), randn(3, 2, 3, 3, seed=41), randn(2, seed=42)),
        desc="stride2-output-padding",
    ),
    Sample(
        lambda m, x, w: m.F.conv_transpose2d(
            x, w, stride=(2, 3), padding=1, output_padding=(1, 2), dilation=(1, 2)
        ),
        (randn(1, 2, 3, 3, seed=43), randn(2, 3, 3, 2, seed=44)),
        desc="padding-dilation-batch1",
    ),
    Sample(
        lambda m, x, w, b: m.F.conv_transpose2d(x, w, b, stride=2, groups=2),
        (randn(2, 4, 3, 3, seed=45), randn(4, 1, 2, 2, seed=46), randn(2, seed=47)),
        desc="groups2",
    ),
    Sample(
        lambda m, x, w: m.F.conv_transpose2d(x, w, padding=1, dilation=2, output_padding=1),
        (randn(2, 4, 3, seed=48), randn(2, 3, 3, 2, seed=49)),
        desc="unbatched-dilation-output-padding",
    ),
    Sample(
        lambda m, x, w, b: m.F.conv_transpose1d(x, w, b, stride=3, padding=1, output_padding=2),
        (randn(2, 3, 5, seed=50), randn(3, 2, 3, seed=51), randn(2, seed=52)),
        desc="conv_transpose1d",
    ),
]

# ----------------------------------------------------------------------------- pooling
MAX_POOL2D = [
    Sample(lambda m, x: m.F.max_pool2d(x, 2), (distinct(2, 2, 6, 6, seed=60),), desc="k2"),
    Sample(
        lambda m, x: m.F.max_pool2d(x, 3, stride=2, padding=1),
        (distinct(2, 2, 7, 6, seed=61),),
        desc="k3-s2-pad1",
    ),
    Sample(
        lambda m, x: m.F.max_pool2d(x, 3, stride=1),
        (distinct(1, 2, 5, 6, seed=62),),
        desc="overlapping",
    ),
    Sample(
        lambda m, x: m.F.max_pool2d(x, 3, stride=2, ceil_mode=True),
        (distinct(2, 2, 6, 7, seed=63),),
        desc="ceil-mode",
    ),
    Sample(
        lambda m, x: m.F.max_pool2d(
            x, (2, 3), stride=(1, 2), padding=1, dilation=(2, 1), ceil_mode=True
        ),
        (distinct(2, 2, 6, 7, seed=64),),
        desc="dilation-padding-ceil",
    ),
    Sample(
        lambda m, x: _with_indices(m, x, kernel_size=3, stride=2, padding=1, ceil_mode=True),
        (distinct(2, 2, 6, 5, seed=65),),
        desc="return-indices",
    ),
    Sample(
        lambda m, x: m.F.max_pool2d(x, 2, stride=1),
        (distinct(3, 4, 5, seed=66),),
        desc="unbatched",
    ),
    Sample(
        lambda m, x, w: m.F.max_pool2d(m.F.conv2d(x, w), 2),
        (randn(2, 1, 7, 7, seed=67), randn(3, 1, 2, 2, seed=68)),
        desc="after-conv",
    ),
    Sample(
        lambda m, x: m.F.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True),
        (distinct(2, 3, 8, seed=69),),
        desc="max_pool1d",
    ),
    Sample(
        lambda m, x: _with_indices_1d(m, x, kernel_size=2, dilation=2),
        (distinct(3, 9, seed=70),),
        desc="max_pool1d-indices-unbatched",
    ),
]

AVG_POOL2D = [
    Sample(lambda m, x: m.F.avg_pool2d(x, 2), (randn(2, 2, 6, 5, seed=80),), desc="k2-odd"),
    Sample(
        lambda m, x: m.F.avg_pool2d(x, 3, stride=2, padding=1),
        (randn(2, 2, 7, 6, seed=81),),
        desc="k3-s2-pad1",
    ),
    Sample(
        lambda m, x: m.F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        (randn(2, 2, 7, 6, seed=82),),
        desc="exclude-pad",
    ),
    Sample(
        lambda m, x: m.F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        (randn(2, 2, 6, 6, seed=83),),
        desc="ceil-mode",
    ),
    Sample(
        lambda m, x: m.F.avg_pool2d(
            x, (3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True, count_include_pad=False
        ),
        (randn(1, 2, 8, 5, seed=84),),
        desc="ceil-exclude-pad",
    ),
    Sample(
        lambda m, x: m.F.avg_pool2d(x, 3, stride=1, divisor_override=4),
        (randn(2, 2, 5, 5, seed=85),),
        desc="overlapping-divisor-override",
    ),
    Sample(
        lambda m, x: m.F.avg_pool2d(x, 2, stride=1),
        (randn(3, 4, 5, seed=86),),
        desc="unbatched",
    ),
    Sample(
        lambda m, x: m.F.avg_pool1d(x, 4, stride=3, padding=2, ceil_mode=True),
        (randn(2, 3, 9, seed=87),),
        desc="avg_pool1d",
    ),
]

ADAPTIVE_AVG_POOL2D = [
    Sample(
        lambda m, x: m.F.adaptive_avg_pool2d(x, 3),
        (randn(2, 2, 7, 6, seed=90),),
        desc="not-dividing",
    ),
    Sample(
        lambda m, x: m.F.adaptive_avg_pool2d(x, (4, None)),
        (randn(2, 2, 5, 3, seed=91),),
        desc="none-entry",
    ),
    Sample(
        lambda m, x: m.F.adaptive_avg_pool2d(x, (5, 7)),
        (randn(2, 2, 3, 4, seed=92),),
        desc="upsampling",
    ),
    Sample(
        lambda m, x: m.F.adaptive_avg_pool2d(x, 1),
        (randn(2, 3, 4, 5, seed=93),),
        desc="global",
    ),
    Sample(
        lambda m, x, w: m.F.adaptive_avg_pool2d(m.F.conv2d(x, w), (2, 3)),
        (randn(2, 1, 6, 7, seed=94), randn(2, 1, 2, 2, seed=95)),
        desc="after-conv",
    ),
    Sample(
        lambda m, x: m.F.adaptive_avg_pool2d(x, (2, 3)),
        (randn(2, 5, 7, seed=96),),
        desc="unbatched",
    ),
    Sample(
        lambda m, x: m.F.adaptive_avg_pool1d(x, 3),
        (randn(2, 3, 7, seed=97),),
        desc="adaptive_avg_pool1d",
    ),
]

SAMPLES = {
    "conv2d": CONV2D,
    "conv_transpose2d": CONV_TRANSPOSE2D,
    "max_pool2d": MAX_POOL2D,
    "avg_pool2d": AVG_POOL2D,
    "adaptive_avg_pool2d": ADAPTIVE_AVG_POOL2D,
}

# ----------------------------------------------------------------------------- errors
X4 = np.zeros((1, 3, 5, 5))
ERRORS = [
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w),
        (X4, np.zeros((8, 4, 3, 3))),
        ValueError,
        r"conv2d: input has 3 channels but weight expects 4 \(weight shape \(8, 4, 3, 3\), "
        r"groups=1\)",
        desc="conv2d-channels",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w, groups=3),
        (X4, np.zeros((4, 1, 3, 3))),
        ValueError,
        r"conv2d: out_channels 4 .* not divisible by groups=3",
        desc="conv2d-groups",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w, padding=1),
        (np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 5, 5))),
        ValueError,
        r"conv2d: kernel size \(5, 5\) .* larger than the padded input \(4, 4\)",
        desc="conv2d-kernel-too-large",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w, padding="full"),
        (X4, np.zeros((2, 3, 3, 3))),
        ValueError,
        r"conv2d: padding must be 'same', 'valid', an int or a tuple of 2 ints, got 'full'",
        desc="conv2d-padding-string",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w, stride=2, padding="same"),
        (X4, np.zeros((2, 3, 3, 3))),
        ValueError,
        r"conv2d: padding='same' is not supported for strided convolutions",
        desc="conv2d-same-strided",
    ),
    ErrorSample(
        lambda m, x, w, b: m.F.conv2d(x, w, b),
        (X4, np.zeros((2, 3, 3, 3)), np.zeros(3)),
        ValueError,
        r"conv2d: bias must have shape \(2,\), got \(3,\)",
        desc="conv2d-bias",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w),
        (np.zeros((3, 5)), np.zeros((2, 3, 3, 3))),
        ValueError,
        r"conv2d: expected a 3-d \(unbatched\) or 4-d \(batched\) input, got shape \(3, 5\)",
        desc="conv2d-ndim",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv2d(x, w, stride=0),
        (X4, np.zeros((2, 3, 3, 3))),
        ValueError,
        r"conv2d: stride must be >= 1",
        desc="conv2d-stride",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv1d(x, w),
        (np.zeros((2, 3, 8)), np.zeros((4, 2, 3))),
        ValueError,
        r"conv1d: input has 3 channels but weight expects 2",
        desc="conv1d-channels",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv_transpose2d(x, w),
        (X4, np.zeros((4, 2, 3, 3))),
        ValueError,
        r"conv_transpose2d: input has 3 channels but weight expects 4",
        desc="conv_transpose2d-channels",
    ),
    ErrorSample(
        lambda m, x, w: m.F.conv_transpose2d(x, w, stride=2, output_padding=2),
        (X4, np.zeros((3, 2, 3, 3))),
        ValueError,
        r"conv_transpose2d: output_padding \(2, 2\) must be smaller than the stride",
        desc="conv_transpose2d-output-padding",
    ),
    ErrorSample(
        lambda m, x: m.F.max_pool2d(x, 3),
        (np.zeros((1, 1, 2, 2)),),
        ValueError,
        r"max_pool2d: kernel size \(3, 3\) .* larger than the padded input",
        desc="max_pool2d-kernel-too-large",
    ),
    ErrorSample(
        lambda m, x: m.F.max_pool2d(x, 3, padding=2),
        (X4,),
        ValueError,
        r"max_pool2d: padding \(2, 2\) must be at most half the kernel size \(3, 3\)",
        desc="max_pool2d-padding",
    ),
    ErrorSample(
        lambda m, x: m.F.avg_pool2d(x, 2, divisor_override=0),
        (X4,),
        ValueError,
        r"avg_pool2d: divisor_override must be a nonzero int",
        desc="avg_pool2d-divisor",
    ),
    ErrorSample(
        lambda m, x: m.F.avg_pool1d(x, 2),
        (X4,),
        ValueError,
        r"avg_pool1d: expected a 2-d \(unbatched\) or 3-d \(batched\) input",
        desc="avg_pool1d-ndim",
    ),
    ErrorSample(
        lambda m, x: m.F.adaptive_avg_pool2d(x, (0, 2)),
        (X4,),
        ValueError,
        r"adaptive_avg_pool2d: output_size entries must be positive ints or None",
        desc="adaptive_avg_pool2d-size",
    ),
]
