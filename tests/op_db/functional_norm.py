"""Samples and error cases for nerve.nn.functional.normalization.

batch_norm's inputs are (x, running_mean, running_var, weight, bias): only x, weight and bias get
gradients (``grad=``); the running statistics are buffers. That they are updated in place exactly
as torch does is checked in tests/test_functional_norm_stats.py.
"""

from __future__ import annotations

# registers "sync_batch_norm" (a process of its own is a world of one: plain training batch norm)
from nerve.distributed.sync_batchnorm import SyncBatchNormFunction
from nerve.nn.functional.normalization import keras_batch_norm
from op_db import ErrorSample, Sample, positive, rand, randn

N, C = 6, 4
X2 = randn(N, C, seed=101) * 1.5 + 0.5
X4 = randn(3, C, 3, 3, seed=102) + 1.0
X3 = randn(3, C, 5, seed=103)
# The same kinds of input laid out differently in memory: batch norm reads them in place
# (a conv's output is an (N, C, H, W) view of (C, H, W, N) memory; Keras tensors are NHWC).
X4_CHWN = randn(C, 3, 3, 3, seed=117) - 0.5
X4_NHWC = randn(3, 3, 3, C, seed=118) * 2.0
X2_CN = randn(C, N, seed=119)
RM = rand(C, seed=104)
RV = positive(C, low=0.5, high=2.0, seed=105)
W = rand(C, low=0.5, high=1.5, seed=106)
B = rand(C, seed=107)

LN_X = randn(3, 4, 5, seed=108)
LN_W1, LN_B1 = rand(5, low=0.5, high=1.5, seed=109), rand(5, seed=110)
LN_W2, LN_B2 = rand(4, 5, low=0.5, high=1.5, seed=111), rand(4, 5, seed=112)

GX = randn(2, 6, 3, 3, seed=113)
GW, GB = rand(6, low=0.5, high=1.5, seed=114), rand(6, seed=115)
GX3 = randn(3, 6, 4, seed=116)


def _bn(training, affine=True, permute=None):
    """batch_norm of x, or of ``x.permute(*permute)`` (a view of x's memory in another order)."""

    def view(x):
        return x if permute is None else x.permute(*permute)

    if affine:
        return lambda m, x, rm, rv, w, b: m.F.batch_norm(view(x), rm, rv, w, b, training=training)
    return lambda m, x, rm, rv: m.F.batch_norm(view(x), rm, rv, training=training)


def _sync_bn(affine=False, permute=None, momentum=0.1, eps=1e-5):
    """SyncBatchNormFunction (x, weight, bias, running buffers) on batch_norm's inputs."""

    def view(x):
        return x if permute is None else x.permute(*permute)

    def run(m, x, rm, rv, w=None, b=None):
        return SyncBatchNormFunction.apply(
            view(x), w, b, rm._data, rv._data, momentum=momentum, eps=eps
        )

    if affine:
        return run
    return lambda m, x, rm, rv: run(m, x, rm, rv)


SAMPLES = {
    "batch_norm": [
        Sample(_bn(True), (X2, RM, RV, W, B), grad=(0, 3, 4), desc="2d-train-affine"),
        Sample(_bn(False), (X2, RM, RV, W, B), grad=(0, 3, 4), desc="2d-eval-affine"),
        Sample(_bn(True, False), (X2, RM, RV), grad=(0,), desc="2d-train"),
        Sample(_bn(True), (X4, RM, RV, W, B), grad=(0, 3, 4), desc="4d-train-affine"),
        Sample(_bn(False), (X4, RM, RV, W, B), grad=(0, 3, 4), desc="4d-eval-affine"),
        Sample(_bn(True, False), (X4, RM, RV), grad=(0,), desc="4d-train"),
        Sample(_bn(False, False), (X4, RM, RV), grad=(0,), desc="4d-eval"),
        Sample(
            _bn(True, permute=(3, 0, 1, 2)),
            (X4_CHWN, RM, RV, W, B),
            grad=(0, 3, 4),
            desc="4d-train-batch-last-memory",
        ),
        Sample(
            _bn(False, permute=(0, 3, 1, 2)),
            (X4_NHWC, RM, RV, W, B),
            grad=(0, 3, 4),
            desc="4d-eval-channels-last-memory",
        ),
        Sample(
            _bn(True, False, permute=(0, 3, 1, 2)),
            (X4_NHWC, RM, RV),
            grad=(0,),
            desc="4d-train-channels-last-memory",
        ),
        Sample(
            _bn(True, permute=(1, 0)),
            (X2_CN, RM, RV, W, B),
            grad=(0, 3, 4),
            desc="2d-train-transposed-memory",
        ),
        Sample(
            lambda m, x, w: m.F.batch_norm(x, None, None, w, training=True, eps=1e-3),
            (X3, W),
            desc="3d-train-no-running-weight-only",
        ),
        # Keras BatchNormalization's training step: batch_norm with Keras's moving-statistics
        # update inside the op (its outputs and gradients are torch's training batch norm; the
        # update itself is checked against Keras in tests/test_compile_keras_bn.py)
        Sample(
            lambda m, x, rm, rv, w, b: keras_batch_norm(x, rm, rv, w, b, 0.99, 1e-3),
            (X4, RM, RV, W, B),
            grad=(0, 3, 4),
            torch_fn=lambda m, x, rm, rv, w, b: m.F.batch_norm(
                x, rm, rv, w, b, training=True, eps=1e-3
            ),
            desc="4d-train-keras-moving-statistics",
        ),
        Sample(
            lambda m, x, rm, rv, b: m.F.batch_norm(x, rm, rv, bias=b, training=True, momentum=0.3),
            (X3, RM, RV, B),
            grad=(0, 3),
            desc="3d-train-bias-only",
        ),
        Sample(
            lambda m, x, rm, rv, w, b: m.F.instance_norm(x, rm, rv, w, b, use_input_stats=False),
            (X3, RM, RV, W, B),
            grad=(0, 3, 4),
            desc="instance_norm-running-stats",
        ),
    ],
    "layer_norm": [
        Sample(lambda m, x, w, b: m.F.layer_norm(x, (5,), w, b), (LN_X, LN_W1, LN_B1), desc="1d"),
        Sample(lambda m, x, w, b: m.F.layer_norm(x, (4, 5), w, b), (LN_X, LN_W2, LN_B2), desc="2d"),
        Sample(lambda m, x: m.F.layer_norm(x, [4, 5]), (LN_X,), desc="2d-no-affine"),
        Sample(
            lambda m, x, w: m.F.layer_norm(x, 5, w, eps=1e-3),
            (LN_X, LN_W1),
            torch_fn=lambda m, x, w: m.F.layer_norm(x, (5,), w, eps=1e-3),
            desc="int-shape",
        ),
        Sample(lambda m, x, b: m.F.layer_norm(x, (5,), bias=b), (LN_X[0], LN_B1), desc="bias"),
    ],
    "group_norm": [
        Sample(lambda m, x, w, b: m.F.group_norm(x, 3, w, b), (GX, GW, GB), desc="3-groups"),
        Sample(lambda m, x, w, b: m.F.group_norm(x, 2, w, b), (GX, GW, GB), desc="2-groups"),
        Sample(lambda m, x: m.F.group_norm(x, 1), (GX,), desc="1-group"),
        Sample(lambda m, x, w: m.F.group_norm(x, 6, w, eps=1e-3), (GX3, GW), desc="6-groups"),
        Sample(
            lambda m, x, w, b: m.F.instance_norm(x, weight=w, bias=b),
            (GX, GW, GB),
            desc="instance_norm",
        ),
        Sample(
            lambda m, x, rm, rv: m.F.instance_norm(x, rm, rv, momentum=0.2),
            (GX3, rand(6, seed=117), positive(6, seed=118)),
            grad=(0,),
            desc="instance_norm-updates-running",
        ),
    ],
    "sync_batch_norm": [
        Sample(
            _sync_bn(affine=True),
            (X2, RM, RV, W, B),
            grad=(0, 3, 4),
            torch_fn=_bn(True),
            desc="2d-affine",
        ),
        Sample(
            _sync_bn(affine=True, momentum=0.3, eps=1e-3),
            (X4, RM, RV, W, B),
            grad=(0, 3, 4),
            torch_fn=lambda m, x, rm, rv, w, b: m.F.batch_norm(
                x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3
            ),
            desc="4d-affine",
        ),
        Sample(_sync_bn(), (X3, RM, RV), grad=(0,), torch_fn=_bn(True, False), desc="3d"),
        Sample(
            _sync_bn(affine=True, permute=(0, 3, 1, 2)),
            (X4_NHWC, RM, RV, W, B),
            grad=(0, 3, 4),
            torch_fn=_bn(True, permute=(0, 3, 1, 2)),
            desc="4d-affine-channels-last-memory",
        ),
    ],
}


ERRORS = [
    ErrorSample(
        lambda m, x, rm, rv: SyncBatchNormFunction.apply(
            x, None, None, rm._data, rv._data, 0.1, 1e-5
        ),
        (randn(1, C, seed=4), RM, RV),
        ValueError,
        r"SyncBatchNorm: expected more than 1 value per channel when training over all ranks, "
        r"got input of shape \(1, 4\)",
        desc="sync_batch_norm-one-value",
    ),
    ErrorSample(
        lambda m, x, rm, rv: m.F.batch_norm(x, rm, rv, training=True),
        (X4, rand(5, seed=1), positive(5, seed=2)),
        ValueError,
        r"batch_norm: input of shape \(3, 4, 3, 3\) has C=4 channels but running_mean has "
        r"shape \(5,\)",
        desc="batch_norm-running-channels",
    ),
    ErrorSample(
        lambda m, x, rm, rv, w: m.F.batch_norm(x, rm, rv, w),
        (X2, RM, RV, rand(3, seed=3)),
        ValueError,
        r"batch_norm: input of shape \(6, 4\) has C=4 channels, so weight must have shape "
        r"\(4,\), got \(3,\)",
        desc="batch_norm-weight-channels",
    ),
    ErrorSample(
        lambda m, x: m.F.batch_norm(x, None, None),
        (X2,),
        ValueError,
        r"batch_norm: eval mode .* needs running_mean and running_var",
        desc="batch_norm-eval-without-stats",
    ),
    ErrorSample(
        lambda m, x: m.F.batch_norm(x, None, None, training=True),
        (randn(1, 3, seed=4),),
        ValueError,
        r"batch_norm: expected more than 1 value per channel when training.*\(1, 3\)",
        desc="batch_norm-one-value",
    ),
    ErrorSample(
        lambda m, x: m.F.layer_norm(x, (5,)),
        (randn(3, 4, seed=5),),
        ValueError,
        r"layer_norm: normalized_shape \(5,\) must match the trailing dims of the input, "
        r"got input of shape \(3, 4\)",
        desc="layer_norm-shape",
    ),
    ErrorSample(
        lambda m, x, w: m.F.layer_norm(x, (4, 5), w),
        (LN_X, LN_W1),
        ValueError,
        r"layer_norm: .* weight must have shape \(4, 5\), got \(5,\)",
        desc="layer_norm-weight",
    ),
    ErrorSample(
        lambda m, x: m.F.group_norm(x, 4),
        (GX,),
        ValueError,
        r"group_norm: num_groups=4 must divide the C=6 channels of input of shape \(2, 6, 3, 3\)",
        desc="group_norm-groups",
    ),
    ErrorSample(
        lambda m, x: m.F.instance_norm(x),
        (X2,),
        ValueError,
        r"instance_norm: input must be \(N, C, \*\) with a spatial dim, got shape \(6, 4\)",
        desc="instance_norm-2d",
    ),
    ErrorSample(
        lambda m, x: m.F.batch_norm(x.long(), None, None, training=True),
        (X2,),
        TypeError,
        r"batch_norm needs a floating-point input",
        desc="batch_norm-int",
    ),
]
