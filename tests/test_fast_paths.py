"""The hot-path shortcuts agree with the slow paths they skip, and never skip an error.

- Function.apply under no_grad builds no graph and computes what the recording path computes.
- conv and max-pool check their geometry once per argument set (a cache): the cached result
  equals the uncached one, and bad arguments still raise after good ones were cached.
- nn.Linear calls its op directly when the input is an ordinary tensor of its dtype; anything
  else still gets F.linear's errors.
- Dropout draws its mask, and inference max-pooling its running max, in the input's memory
  order, so a channels-first view stays one.
- ReLU on large dense arrays takes its maximum against a block of zeros (in any memory order).
"""

import numpy as np
import pytest

import nerve
import nerve.nn as nn
import nerve.nn.functional as F
from nerve.nn.functional.conv import _conv_params, _plain
from nerve.nn.functional.pooling import _max_pool_params

RNG = np.random.default_rng(0)


def _x(*shape):
    return nerve.tensor(RNG.normal(size=shape).astype(np.float32))


# ----------------------------------------------------------------------------- no_grad apply
@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w: F.conv2d(x, w, padding=1),
        lambda x, w: F.max_pool2d(F.relu(x), 2, return_indices=True)[1],  # a tuple output
        lambda x, w: (x * 2.0 - 1.0).sum(dim=(2, 3)),
    ],
)
def test_no_grad_apply_equals_the_recording_path_and_builds_no_graph(fn):
    x = nerve.tensor(RNG.normal(size=(2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = nerve.tensor(RNG.normal(size=(4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    recorded = fn(x, w)
    with nerve.no_grad():
        inferred = fn(x, w)
    np.testing.assert_array_equal(inferred.numpy(), recorded.numpy())
    assert inferred.grad_fn is None and not inferred.requires_grad


# ----------------------------------------------------------------------------- geometry caches
def test_plain_accepts_only_cache_safe_values():
    assert _plain(1, (1, 2), "same", None)
    assert not _plain(True)  # True == 1 would share 1's cache entry
    assert not _plain([1, 1])  # unhashable and mutable
    assert not _plain((1, np.int64(2)))
    assert not _plain(1.0)


def test_conv_cache_gives_the_uncached_answer_and_keeps_its_errors():
    x, w = _x(2, 4, 7, 7), _x(6, 2, 3, 3)
    args = ("conv2d", 2, x.shape, w.shape, None, (2, 1), 1, 1, 2)
    assert _conv_params(*args) == _conv_params.__wrapped__(*args)
    good = F.conv2d(x, w, stride=(2, 1), padding=1, groups=2)
    listed = F.conv2d(x, w, stride=[2, 1], padding=[1, 1], groups=2)  # lists skip the cache
    np.testing.assert_array_equal(good.numpy(), listed.numpy())
    F.conv2d(x, w, stride=1, padding=1, groups=2)  # stride=1 is now cached
    with pytest.raises(TypeError, match="conv2d: stride"):
        F.conv2d(x, w, stride=True, padding=1, groups=2)
    with pytest.raises(ValueError, match="conv2d: input has 4 channels but weight expects 6"):
        F.conv2d(x, w, padding=1, groups=3)
    for _ in range(2):  # an error is not cached as a result
        with pytest.raises(ValueError, match="larger than the padded input"):
            F.conv2d(_x(1, 4, 2, 2), w, groups=2)


def test_max_pool_cache_gives_the_uncached_answer_and_keeps_its_errors():
    x = _x(2, 3, 9, 8)
    args = ("max_pool2d", 2, x.shape, 3, 2, 1, 1, True)
    assert _max_pool_params(*args) == _max_pool_params.__wrapped__(*args)
    np.testing.assert_array_equal(
        F.max_pool2d(x, 3, 2, 1, ceil_mode=True).numpy(),
        F.max_pool2d(x, [3, 3], [2, 2], [1, 1], ceil_mode=True).numpy(),
    )
    F.max_pool2d(x, 2)
    with pytest.raises(TypeError, match="max_pool2d: kernel_size"):
        F.max_pool2d(x, True)
    with pytest.raises(ValueError, match="padding .* must be at most half the kernel size"):
        F.max_pool2d(x, 2, padding=2)


# ----------------------------------------------------------------------------- nn.Linear
def test_linear_module_fast_path_equals_f_linear_and_keeps_its_errors():
    layer = nn.Linear(5, 3)
    x = _x(4, 2, 5)
    np.testing.assert_array_equal(layer(x).numpy(), F.linear(x, layer.weight, layer.bias).numpy())
    np.testing.assert_allclose(  # a plain array takes the checked path
        layer(x.numpy()).numpy(), layer(x).numpy()
    )
    with pytest.raises(TypeError, match="linear: input, weight and bias need one floating dtype"):
        layer(nerve.from_numpy(np.ones((2, 5), np.float64)))
    with pytest.raises(ValueError, match=r"Linear\(in_features=5, out_features=3\)"):
        layer(_x(2, 4))


# ----------------------------------------------------------------------------- dropout layout
def test_dropout_keeps_a_channels_first_view_and_its_gradient_is_the_mask():
    base = RNG.normal(size=(8, 6, 5, 4)).astype(np.float32)  # (C, H, W, N) memory
    x = nerve.tensor(base, requires_grad=True)
    view = x.permute(3, 0, 1, 2)  # (N, C, H, W), as a conv hands it on
    out = F.dropout(view, 0.5, training=True)
    assert out._data.transpose(1, 2, 3, 0).flags.c_contiguous  # the layout survived
    kept = out.numpy() != 0
    np.testing.assert_allclose(out.numpy()[kept], 2 * view.numpy()[kept])
    assert 0.4 < kept.mean() < 0.6
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy().transpose(3, 0, 1, 2), 2.0 * kept)


# ----------------------------------------------------------------------------- max-pool layout
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool_inference_keeps_the_input_layout_and_equals_the_training_path(
    kernel, stride, padding
):
    base = RNG.normal(size=(5, 9, 7, 4)).astype(np.float32)  # (C, H, W, N) memory
    view = nerve.tensor(base, requires_grad=True).permute(3, 0, 1, 2)
    recorded = F.max_pool2d(view, kernel, stride, padding)
    with nerve.no_grad():
        inferred = F.max_pool2d(view, kernel, stride, padding)
    assert inferred._data.transpose(1, 2, 3, 0).flags.c_contiguous  # no transposing copy
    np.testing.assert_array_equal(inferred.numpy(), recorded.numpy())


# ----------------------------------------------------------------------------- relu blocks
@pytest.mark.parametrize("size", [4096, 4097, 65536 * 2 + 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_relu_against_a_zeros_block_equals_the_scalar_maximum(size, dtype, layout):
    flat = RNG.normal(size=size).astype(dtype)
    flat[:3] = [np.nan, np.inf, -np.inf]
    if layout == "contiguous":
        x = flat
    elif layout == "transposed":  # dense, not C-contiguous: runs over its memory in order
        x = flat[: size - size % 2].reshape(2, -1).T
    else:  # not dense: the plain maximum
        x = flat[::2]
    t = nerve.from_numpy(x).requires_grad_()  # keeps the dtype and the memory layout
    out = F.relu(t)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), np.maximum(x, 0))
    assert out._data.strides == np.empty_like(x).strides  # the input's memory order
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), (x > 0).astype(dtype))
