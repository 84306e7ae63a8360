"""ONNX converters (or NOT_EXPORTABLE reasons) for the layers the Keras door adds: upsampling,
padding, cropping, resizing, masking, unit normalization, 3-d global pooling and the training
noise layers (the identity at inference).

Resampling is exported as nerve computes it: 'nearest' is a Gather of the source rows, the
smooth interpolations a MatMul with the same (in, out) weight matrix per axis, so the ONNX model
gives nerve's numbers whatever the runtime's Resize conventions.
"""

from __future__ import annotations

import numpy as np

from nerve import layers
from nerve.layers.resizing import crop_box, nearest_indices, resize_weights
from nerve.onnx.emit import transpose
from nerve.onnx.registry import NOT_EXPORTABLE, Call, converter


def _reduce(g, op: str, x: str, axes, keepdims: bool) -> str:
    """A Reduce* node; opset 18 moved ``axes`` from an attribute to an input."""
    axes = [int(a) for a in axes]
    if g.opset >= 18:
        return g.op(op, [x, g.ints(axes)], keepdims=int(keepdims))
    return g.op(op, [x], axes=axes, keepdims=int(keepdims))


def _slice(g, x: str, axes, starts, ends) -> str:
    return g.op("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes)])


def _pad(g, x: str, widths, value: float = 0.0) -> str:
    """Pad with ``widths`` = one (before, after) pair per axis of ``x``."""
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    return g.op("Pad", [x, g.ints(pads), g.scalar(value)], mode="constant")


def _spatial_axes(m, ndim: int) -> list:
    rank = ndim - 2
    first = 1 if m.data_format == "channels_last" else 2
    return list(range(first, first + rank))


def resize_axis(g, x: str, ndim: int, axis: int, n_in: int, n_out: int, interpolation, aa=False):
    """``x`` resampled along ``axis`` from n_in to n_out, as nerve.layers.resizing does."""
    if n_in == n_out:
        return x
    if interpolation == "nearest":
        return g.op("Gather", [x, g.ints(nearest_indices(n_in, n_out))], axis=int(axis))
    w = resize_weights(n_in, n_out, interpolation, aa).T.astype(np.float32)  # (in, out)
    order = [a for a in range(ndim) if a != axis] + [axis]
    y = g.op("MatMul", [transpose(g, x, order), g.const(w, "resize.weight")])
    return transpose(g, y, np.argsort(order))


def _resize_images(g, x: str, shape: tuple, h_axis: int, size: tuple, interpolation, aa=False):
    y = resize_axis(g, x, len(shape), h_axis, shape[h_axis], size[0], interpolation, aa)
    return resize_axis(g, y, len(shape), h_axis + 1, shape[h_axis + 1], size[1], interpolation, aa)


NOT_EXPORTABLE.update(
    {
        layers.CategoryEncoding: "CategoryEncoding turns integer ids into encodings in the input "
        "pipeline; export the model that takes its output",
        layers.Discretization: "Discretization buckets raw numbers in the input pipeline; export "
        "the model that takes its output",
    }
)


# ----------------------------------------------------------------------------- inference identity
@converter(
    layers.SpatialDropout1D,
    layers.SpatialDropout2D,
    layers.SpatialDropout3D,
    layers.GaussianNoise,
    layers.GaussianDropout,
    layers.AlphaDropout,
    layers.ActivityRegularization,
    layers.RandomContrast,
    layers.RandomBrightness,
    layers.RandomCrop,
)
def _identity(g, c: Call):
    # noise, penalties and augmentation act only while training (Keras 3's RandomCrop too)
    return c.x.name


# ----------------------------------------------------------------------------- reshaping
@converter(layers.UpSampling1D, layers.UpSampling2D, layers.UpSampling3D)
def _upsampling(g, c: Call):
    m, shape = c.module, c.x.shape
    y = c.x.name
    for axis, factor in zip(_spatial_axes(m, len(shape)), m.size):
        y = resize_axis(g, y, len(shape), axis, shape[axis], shape[axis] * factor, m.interpolation)
    return y


@converter(layers.ZeroPadding1D, layers.ZeroPadding2D, layers.ZeroPadding3D)
def _zero_padding(g, c: Call):
    m = c.module
    widths = [(0, 0)] * c.x.ndim
    for axis, pair in zip(_spatial_axes(m, c.x.ndim), m.padding):
        widths[axis] = pair
    return _pad(g, c.x.name, widths)


@converter(layers.Cropping1D, layers.Cropping2D, layers.Cropping3D)
def _cropping(g, c: Call):
    m = c.module
    axes = _spatial_axes(m, c.x.ndim)
    starts = [lo for lo, _ in m.cropping]
    ends = [c.x.shape[a] - hi for a, (_, hi) in zip(axes, m.cropping)]
    return _slice(g, c.x.name, axes, starts, ends)


# ----------------------------------------------------------------------------- resizing
def _image_axes(m, ndim: int) -> int:
    return ndim - 3 if m.data_format == "channels_last" else ndim - 2


@converter(layers.Resizing)
def _resizing(g, c: Call):
    m, shape = c.module, c.x.shape
    if c.x.a.dtype.kind != "f":
        raise c.fail("integer images are rounded back to their dtype; export float images")
    h_axis = _image_axes(m, len(shape))
    h, w = shape[h_axis], shape[h_axis + 1]
    x = c.x.name
    if m.crop_to_aspect_ratio:
        top, left, ch, cw = crop_box(h, w, m.height, m.width)
        x = _slice(g, x, [h_axis, h_axis + 1], [top, left], [top + ch, left + cw])
        h, w = ch, cw
    elif m.pad_to_aspect_ratio:
        pad_h = max(h, int(float(w * m.height) / m.width))
        pad_w = max(w, int(float(h * m.width) / m.height))
        top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
        widths = [(0, 0)] * len(shape)
        widths[h_axis], widths[h_axis + 1] = (top, top), (left, left)
        x = _pad(g, x, widths, m.fill_value)
        h, w = h + 2 * top, w + 2 * left
    grown = list(shape)
    grown[h_axis], grown[h_axis + 1] = h, w
    size = (m.height, m.width)
    return _resize_images(g, x, tuple(grown), h_axis, size, m.interpolation, m.antialias)


@converter(layers.CenterCrop)
def _center_crop(g, c: Call):
    m, shape = c.module, c.x.shape
    x = c.x.name
    if c.x.a.dtype.kind != "f":
        x = g.op("Cast", [x], to=g.onnx.TensorProto.FLOAT)
    h_axis = _image_axes(m, len(shape))
    h, w = shape[h_axis], shape[h_axis + 1]
    if h >= m.height and w >= m.width:
        top, left = (h - m.height) // 2, (w - m.width) // 2
        return _slice(g, x, [h_axis, h_axis + 1], [top, left], [top + m.height, left + m.width])
    top, left, ch, cw = crop_box(h, w, m.height, m.width)
    x = _slice(g, x, [h_axis, h_axis + 1], [top, left], [top + ch, left + cw])
    grown = list(shape)
    grown[h_axis], grown[h_axis + 1] = ch, cw
    return _resize_images(g, x, tuple(grown), h_axis, (m.height, m.width), "bilinear")


# ----------------------------------------------------------------------------- the rest
@converter(layers.GlobalMaxPooling3D, layers.GlobalAveragePooling3D)
def _global_pool_3d(g, c: Call):
    m = c.module
    op = "ReduceMax" if m._max else "ReduceMean"
    return _reduce(g, op, c.x.name, m._axes(), m.keepdims)


@converter(layers.Masking)
def _masking(g, c: Call):
    # x * any(x != mask_value, -1): ReduceMax of the 0/1 "differs" flags over the last axis
    x = c.x.name
    differs = g.op("Not", [g.op("Equal", [x, g.scalar(c.module.mask_value)])])
    keep = _reduce(g, "ReduceMax", g.op("Cast", [differs], to=g.onnx.TensorProto.FLOAT), [-1], True)
    return g.op("Mul", [x, keep], name=c.prefix)


@converter(layers.UnitNormalization)
def _unit_normalization(g, c: Call):
    axis = c.module.axis
    axes = axis if isinstance(axis, list) else [axis]
    squares = _reduce(g, "ReduceSumSquare", c.x.name, axes, True)
    norm = g.op("Sqrt", [g.op("Max", [squares, g.scalar(1e-24)])])
    return g.op("Div", [c.x.name, norm], name=c.prefix)
