"""Samples for the shape ops: reshape (flatten, squeeze, unsqueeze), permute (transpose, movedim),
expand, repeat (tile), cat, stack, split (chunk, unbind), pad, flip, roll."""

import numpy as np

from op_db import ErrorSample, Sample, rand

S = Sample


def _to_copy(m, x):
    """torch's ``_to_copy`` to ``x``'s own device: the op behind ``x.to(device)`` (a copy with a
    graph node), which ``Tensor.to`` reaches only across devices."""
    if m.__name__ == "torch":
        return m.ops.aten._to_copy(x)
    from nerve.autograd.device_copy import ToCopy

    return ToCopy.apply(x, dest=x.device)


SAMPLES = {
    "to_copy": [
        S(lambda m, x: _to_copy(m, x) * x, (rand(3, 4),)),
        S(lambda m, x: _to_copy(m, x.transpose(0, 1)), (rand(3, 4),), desc="non-contiguous"),
        S(lambda m, x: _to_copy(m, x).sum(), (rand(),), desc="0d"),
    ],
    "reshape": [
        S(lambda m, x: x.reshape(3, 4), (rand(2, 6),)),
        S(lambda m, x: m.reshape(x, (-1,)), (rand(2, 3, 4),), desc="minus-one"),
        S(lambda m, x: x.reshape(2, 1, 3, 1), (rand(6),), desc="size-1-dims"),
        S(lambda m, x: x.transpose(0, 1).reshape(-1), (rand(3, 4),), desc="non-contiguous"),
        S(lambda m, x: x.reshape(5, 0), (rand(0, 5),), desc="empty"),
        S(lambda m, x: x.reshape(1, 1), (rand(),), desc="0d"),
        S(lambda m, x: x.view(4, 3) * x.view_as(x.view(4, 3)), (rand(3, 4),), desc="view"),
        S(lambda m, x: x.flatten(), (rand(2, 3, 4),), desc="flatten"),
        S(lambda m, x: x.flatten(1), (rand(2, 3, 4),), desc="flatten-1"),
        S(lambda m, x: m.flatten(x, -3, -2), (rand(2, 3, 4),), desc="flatten-neg"),
        S(lambda m, x: x.flatten(), (rand(),), desc="flatten-0d"),
        S(lambda m, x: x.mT.flatten(0, 1), (rand(3, 4),), desc="flatten-non-contiguous"),
        S(lambda m, x: x.squeeze(), (rand(2, 1, 3, 1),), desc="squeeze-all"),
        S(lambda m, x: x.squeeze(1), (rand(2, 1, 3),), desc="squeeze-1"),
        S(lambda m, x: x.squeeze(0), (rand(2, 1, 3),), desc="squeeze-non-1-noop"),
        S(lambda m, x: m.squeeze(x, (1, -1)), (rand(2, 1, 3, 1),), desc="squeeze-tuple"),
        S(lambda m, x: x.squeeze(), (rand(),), desc="squeeze-0d"),
        S(lambda m, x: x.unsqueeze(0), (rand(2, 3),), desc="unsqueeze-0"),
        S(lambda m, x: x.unsqueeze(-1), (rand(2, 3),), desc="unsqueeze-neg"),
        S(lambda m, x: m.unsqueeze(x, 1), (rand(0, 3),), desc="unsqueeze-empty"),
    ],
    "permute": [
        S(lambda m, x: x.permute(2, 0, 1), (rand(2, 3, 4),)),
        S(lambda m, x: m.permute(x, (1, 0, -1)), (rand(2, 3, 4),), desc="tuple-neg"),
        S(lambda m, x: x.permute(1, 0), (rand(0, 3),), desc="empty"),
        S(lambda m, x: x.transpose(0, 2), (rand(2, 3, 4),), desc="transpose"),
        S(lambda m, x: x.transpose(-1, -2).transpose(0, 1), (rand(2, 3, 4),), desc="twice"),
        S(lambda m, x: m.transpose(x, 0, 0), (rand(3),), desc="transpose-1d"),
        S(lambda m, x: x.T, (rand(3, 4),), desc="T"),
        S(lambda m, x: x.mT, (rand(2, 3, 4),), desc="mT"),
        S(lambda m, x: m.swapaxes(x, 0, -1), (rand(2, 3, 1),), desc="swapaxes"),
        S(lambda m, x: m.movedim(x, 0, -1), (rand(2, 3, 4),), desc="movedim"),
        S(lambda m, x: m.movedim(x, (0, 1), (2, 0)), (rand(2, 3, 4),), desc="movedim-tuple"),
    ],
    "expand": [
        S(lambda m, x: x.expand(2, -1, 4), (rand(3, 1),)),
        S(lambda m, x: m.broadcast_to(x, (2, 3)), (rand(3),), desc="broadcast_to"),
        S(lambda m, x, y: x.expand_as(y) * y, (rand(1, 4), rand(3, 4)), desc="expand_as"),
        S(lambda m, x: x.expand(0, 3), (rand(1, 3),), desc="to-empty"),
        S(lambda m, x: x.expand(2, 3), (rand(2, 3),), desc="same"),
        S(lambda m, x: x.expand(4), (rand(),), desc="0d"),
        S(lambda m, x: x.T.expand(2, 3, 4), (rand(1, 3),), desc="non-contiguous"),
    ],
    "repeat": [
        S(lambda m, x: x.repeat(2, 3), (rand(2, 3),)),
        S(lambda m, x: x.repeat(2, 1, 2), (rand(2, 3),), desc="new-leading"),
        S(lambda m, x: x.repeat(1, 0), (rand(2, 3),), desc="zero"),
        S(lambda m, x: x.repeat(3), (rand(),), desc="0d"),
        S(lambda m, x: x.mT.repeat(2, 1), (rand(2, 3),), desc="non-contiguous"),
        S(lambda m, x: x.tile((2,)), (rand(2, 3),), desc="tile-short"),
        S(lambda m, x: m.tile(x, (2, 1, 2)), (rand(2, 3),), desc="tile-long"),
    ],
    "cat": [
        S(lambda m, x, y: m.cat([x, y]), (rand(2, 3), rand(4, 3))),
        S(
            lambda m, x, y, z: m.cat((x, y, z), dim=-1),
            (rand(2, 1), rand(2, 3), rand(2, 2)),
            desc="three-neg-dim",
        ),
        S(lambda m, x, y: m.cat([x, y], 1), (rand(2, 0), rand(2, 3)), desc="empty-part"),
        S(lambda m, x, e: m.cat([x, e]), (rand(2, 3), rand(0)), desc="legacy-empty-1d"),
        S(
            lambda m, x, i: m.cat([x, i]),
            (rand(2, 3), np.arange(3).reshape(1, 3)),
            desc="promote-int",
        ),
        S(lambda m, x, y: m.cat([x.mT, y]), (rand(3, 2), rand(1, 3)), desc="non-contiguous"),
        S(lambda m, x: m.cat([x, x, x], 1), (rand(2, 2),), desc="same-input"),
        S(
            lambda m, x, y: m.concatenate([x, y], axis=1),
            (rand(2, 1), rand(2, 2)),
            desc="concatenate",
        ),
        S(lambda m, x, y: m.concat([x, y]), (rand(1, 1), rand(2, 1)), desc="concat"),
    ],
    "stack": [
        S(lambda m, x, y: m.stack([x, y]), (rand(2, 3), rand(2, 3))),
        S(lambda m, x, y: m.stack((x, y), dim=-1), (rand(2, 3), rand(2, 3)), desc="last"),
        S(lambda m, x, y, z: m.stack([x, y, z], 1), (rand(2), rand(2), rand(2)), desc="middle"),
        S(lambda m, x, y: m.stack([x, y]), (rand(), rand()), desc="0d"),
        S(lambda m, x: m.stack([x]), (rand(0, 2),), desc="one-empty"),
        S(lambda m, x, i: m.stack([x, i]), (rand(3), np.arange(3)), desc="promote-int"),
        S(lambda m, x: m.stack([x.mT, x.mT], 1), (rand(2, 3),), desc="non-contiguous"),
    ],
    "split": [
        S(lambda m, x: x.split(2), (rand(5, 3),)),
        S(lambda m, x: x.split([1, 4], dim=1), (rand(2, 5),), desc="sections"),
        S(lambda m, x: m.split(x, 2, -1), (rand(2, 4),), desc="neg-dim"),
        S(lambda m, x: x.split([0, 2, 1]), (rand(3, 2),), desc="empty-section"),
        S(lambda m, x: x.split(2)[0] * 2, (rand(5, 3),), desc="partly-used"),
        S(lambda m, x: x.split(2)[1:], (rand(5, 3),), desc="first-unused"),
        S(lambda m, x: x.split(2), (rand(0, 3),), desc="empty"),
        S(lambda m, x: x.mT.split(1), (rand(2, 3),), desc="non-contiguous"),
        S(lambda m, x: x.chunk(3), (rand(7, 2),), desc="chunk"),
        S(lambda m, x: x.chunk(4, 1), (rand(2, 6),), desc="chunk-fewer"),
        S(lambda m, x: m.chunk(x, 3, -1), (rand(2, 0),), desc="chunk-empty"),
        S(lambda m, x: m.unbind(x, 1), (rand(2, 3),), desc="unbind"),
        S(lambda m, x: m.unbind(x)[2], (rand(3, 2),), desc="unbind-one-used"),
    ],
    "pad": [
        S(lambda m, x: m.F.pad(x, (1, 2)), (rand(2, 3),)),
        S(lambda m, x: m.F.pad(x, (1, 1, 2, 0)), (rand(2, 3, 4),), desc="two-dims"),
        S(lambda m, x: m.F.pad(x, (-1, 2, 0, -1)), (rand(3, 4),), desc="negative-crops"),
        S(lambda m, x: m.F.pad(x, (1, 1), value=1.5), (rand(2, 2),), desc="value"),
        S(lambda m, x: m.F.pad(x, (1, 1, 0, 0, 1, 0)), (rand(2, 3, 4),), desc="three-dims"),
        S(lambda m, x: m.F.pad(x, (1, 1)), (rand(2, 0),), desc="empty"),
        S(lambda m, x: m.F.pad(x.mT, (1, 0, 0, 2)), (rand(2, 3),), desc="non-contiguous"),
        S(lambda m, x: m.F.pad(x, (2, 1), mode="reflect"), (rand(2, 3, 5),), desc="reflect"),
        S(
            lambda m, x: m.F.pad(x, (2, 3, 1, 2), mode="reflect"),
            (rand(1, 2, 4, 5),),
            desc="reflect-2d",
        ),
        S(
            lambda m, x: m.F.pad(x, (1, 2, 2, 1), mode="replicate"),
            (rand(2, 3, 4, 5),),
            desc="replicate",
        ),
        S(
            lambda m, x: m.F.pad(x, (-1, 2), mode="replicate"),
            (rand(2, 3, 4),),
            desc="replicate-crop",
        ),
        S(lambda m, x: m.F.pad(x, (4, 1), mode="circular"), (rand(1, 3, 4),), desc="circular"),
        S(
            lambda m, x: m.F.pad(x, (1, 2, 3, 0), mode="circular"),
            (rand(1, 2, 3, 4),),
            desc="circular-2d",
        ),
    ],
    "flip": [
        S(lambda m, x: x.flip(0), (rand(3, 4),)),
        S(lambda m, x: x.flip((0, 2)), (rand(2, 3, 4),), desc="two"),
        S(lambda m, x: m.flip(x, [-1]), (rand(2, 3),), desc="neg"),
        S(lambda m, x: m.flip(x, (0,)), (rand(0, 3),), desc="empty"),
        S(lambda m, x: x.mT.flip(1), (rand(2, 3),), desc="non-contiguous"),
    ],
    "roll": [
        S(lambda m, x: x.roll(1), (rand(3, 4),)),
        S(lambda m, x: x.roll(-2, 1), (rand(3, 4),), desc="dim"),
        S(lambda m, x: m.roll(x, (1, 5), (0, -1)), (rand(3, 4),), desc="tuple-wraps"),
        S(lambda m, x: x.roll(2, 0), (rand(0, 2),), desc="empty"),
        S(lambda m, x: x.mT.roll(1, 0), (rand(2, 3),), desc="non-contiguous"),
    ],
}

E = ErrorSample

ERRORS = [
    E(
        lambda m, x, y: m.cat([x, y]),
        (rand(2, 3), rand(2, 4)),
        ValueError,
        r"cat: .*tensor 1 has shape \(2, 4\) but tensor 0 has shape \(2, 3\)",
        desc="cat-mismatch",
    ),
    E(
        lambda m, x, y: m.cat([x, y]),
        (rand(2, 3), rand(3)),
        ValueError,
        r"cat: .*\(3,\)",
        desc="cat-ndim",
    ),
    E(lambda m, x: m.cat(x), (rand(2, 3),), TypeError, "cat: expected a list", desc="cat-tensor"),
    E(lambda m, x: m.cat([x]), (rand(),), ValueError, "zero-dimensional", desc="cat-0d"),
    E(
        lambda m, x, y: m.stack([x, y]),
        (rand(2, 3), rand(3, 2)),
        ValueError,
        r"stack: .*tensor 1 has shape \(3, 2\)",
        desc="stack-mismatch",
    ),
    E(
        lambda m, x: x.reshape(5, 3),
        (rand(3, 4),),
        ValueError,
        r"reshape: cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into shape \(5, 3\)",
        desc="reshape-size",
    ),
    E(lambda m, x: x.flatten(1, 0), (rand(2, 3),), ValueError, "start_dim", desc="flatten-order"),
    E(lambda m, x: x.permute(0, 0), (rand(2, 3),), ValueError, "permute: dims", desc="permute"),
    E(lambda m, x: x.permute(0), (rand(2, 3),), ValueError, "permute: dims", desc="permute-len"),
    E(
        lambda m, x: x.unsqueeze(3),
        (rand(2, 3),),
        IndexError,
        "unsqueeze: dim 3",
        desc="unsqueeze-range",
    ),
    E(
        lambda m, x: x.expand(2, 4),
        (rand(2, 3),),
        ValueError,
        r"expand: the expanded size 4 must match the existing size 3",
        desc="expand",
    ),
    E(
        lambda m, x: x.expand(-1, 2, 3),
        (rand(2, 3),),
        ValueError,
        "new leading",
        desc="expand-leading",
    ),
    E(
        lambda m, x: x.repeat(2),
        (rand(2, 3),),
        ValueError,
        "repeat: 1 repeats",
        desc="repeat-short",
    ),
    E(lambda m, x: x.split([1, 1]), (rand(3, 2),), ValueError, "add up to 3", desc="split-sum"),
    E(lambda m, x: x.split(0), (rand(3, 2),), ValueError, "split_size", desc="split-zero"),
    E(
        lambda m, x: x.chunk(0),
        (rand(3, 2),),
        ValueError,
        "chunks must be positive",
        desc="chunk-zero",
    ),
    E(lambda m, x: m.F.pad(x, (1, 2, 3)), (rand(2, 3),), ValueError, "odd", desc="pad-odd"),
    E(
        lambda m, x: m.F.pad(x, (1, 1, 1, 1, 1, 1)),
        (rand(2, 3),),
        ValueError,
        "only 2 dims",
        desc="pad-too-long",
    ),
    E(
        lambda m, x: m.F.pad(x, (3, 0), mode="reflect"),
        (rand(2, 3),),
        ValueError,
        "smaller than the size 3",
        desc="pad-reflect",
    ),
    E(
        lambda m, x: m.F.pad(x, (1, 0), mode="wrap"),
        (rand(2, 3),),
        ValueError,
        "unknown mode",
        desc="pad-mode",
    ),
    E(lambda m, x: x.flip((0, 0)), (rand(2, 3),), ValueError, "twice", desc="flip-twice"),
    E(lambda m, x: x.roll((1, 2), 0), (rand(2, 3),), ValueError, "same length", desc="roll-len"),
]
