"""The fast kernels of conv2d and max_pool2d (issue 21) against torch and against the generic
paths: 2x2/stride-2 max pooling (ties, NaN, odd sizes, memory layouts), the blocked weight
gradient of convolutions with few weights, and the batch-1 convolution over flat rows."""

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve.nn.functional import pooling


def _layouts(x):
    """x as (N, C, H, W) in three memory layouts: contiguous, channels-last, batch-last."""
    yield x
    yield np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    yield np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


@pytest.mark.parametrize("shape", [(3, 4, 8, 8), (2, 3, 7, 9), (1, 2, 2, 2), (1, 1, 3, 3)])
def test_max_pool_2x2_matches_torch_with_ties_and_nan(torch, shape):
    rng = np.random.default_rng(0)
    base = rng.integers(-2, 3, size=shape).astype(np.float32)  # many ties
    base.flat[5 % base.size] = np.nan
    if base.size > 20:
        base.flat[17] = np.nan
        base.flat[16] = np.nan  # two NaNs, maybe in one window: the last wins (torch)
    g = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(np.float32)
    xt = torch.tensor(base, requires_grad=True)
    yt, it = torch.nn.functional.max_pool2d(xt, 2, return_indices=True)
    yt.backward(torch.tensor(g))
    for data in _layouts(base):
        x = nerve.tensor(data, requires_grad=True)
        y, idx = F.max_pool2d(x, 2, return_indices=True)
        y.backward(nerve.tensor(g))
        np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
        np.testing.assert_array_equal(idx.numpy(), it.numpy())
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
        with nerve.no_grad():
            np.testing.assert_array_equal(F.max_pool2d(nerve.tensor(data), 2).numpy(), y.numpy())


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation", [(2, 2, 1, 1), (3, 1, 1, 1), (3, 2, 1, 2), (2, 1, 1, 1)]
)
def test_max_pool_windows_of_minus_inf_point_inside_as_torch(
    torch, kernel, stride, padding, dilation
):
    # An all -inf window ties with the -inf padding: torch's index is the first cell inside the
    # input, and the gradient goes there (it used to go to the padding, and was lost).
    base = np.full((1, 2, 5, 6), -np.inf, np.float32)
    base[0, 1, 2:4, 1:4] = np.arange(6, dtype=np.float32).reshape(2, 3)  # some finite windows
    xt = torch.tensor(base, requires_grad=True)
    args = (kernel, stride, padding, dilation)
    yt, it = torch.nn.functional.max_pool2d(xt, *args, return_indices=True)
    yt.sum().backward()
    x = nerve.tensor(base, requires_grad=True)
    y, idx = F.max_pool2d(x, *args, return_indices=True)
    y.sum().backward()
    np.testing.assert_array_equal(idx.numpy(), it.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_max_pool_2x2_takes_the_pairs_path(monkeypatch):
    calls = []
    real = pooling._max_pairs

    def spy(*args, **kwargs):
        calls.append(kwargs.get("argmax", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(pooling, "_max_pairs", spy)
    x = nerve.tensor(np.ones((2, 3, 6, 6), np.float32), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    with nerve.no_grad():
        F.max_pool2d(x, 2)
    F.max_pool2d(x, 3)  # another geometry: the generic loop
    F.max_pool2d(x, 2, padding=1)
    assert calls == [True, False]


def test_max_pool_tiled_backward_leaves_no_stale_memory():
    # The tiled backward skips the zero fill: every element must still be written.
    rng = np.random.default_rng(1)
    for kernel in (2, 3, (1, 1)):
        x = nerve.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
        F.max_pool2d(x, kernel).sum().backward()
        grad = x.grad.numpy()
        assert np.isfinite(grad).all()
        k = (kernel, kernel) if isinstance(kernel, int) else kernel
        assert grad.sum() == pytest.approx(2 * 3 * (6 // k[0]) * (6 // k[1]))


@pytest.mark.parametrize(
    "n, c, o, size, kwargs",
    [
        (16, 1, 8, 20, {}),  # K = 9: bias in the GEMM; OW*N = 288: blocked weight gradient
        (2, 1, 8, 20, {}),  # bias in the GEMM, weight gradient unblocked (OW*N small)
        (4, 3, 40, 12, {"padding": 1}),  # K = 27 < O: bias folded, the (O, K) @ (K, M) order
        (16, 8, 4, 12, {"stride": 2}),  # K = 72 >= O: separate bias add, (M, K) @ (K, O) order
        (3, 4, 6, 9, {"groups": 2, "dilation": 2}),  # groups: never folded
    ],
)
@pytest.mark.parametrize("bias_grad", [True, False])
def test_conv2d_fast_paths_match_torch(torch, n, c, o, size, kwargs, bias_grad):
    rng = np.random.default_rng(2)
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal((o, c // groups, 3, 3)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    xn, wn = nerve.tensor(x, requires_grad=True), nerve.tensor(w, requires_grad=True)
    bn = nerve.tensor(b, requires_grad=bias_grad)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=bias_grad)
    yn = F.conv2d(xn, wn, bn, **kwargs)
    yt = torch.nn.functional.conv2d(xt, wt, bt, **kwargs)
    g = rng.standard_normal(yt.shape).astype(np.float32)
    yn.backward(nerve.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(yn.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-4)
    for a, t in ((xn, xt), (wn, wt)) + (((bn, bt),) if bias_grad else ()):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)
        assert a.grad.dtype == np.float32 and a.grad.shape == a.shape
    if not bias_grad:
        assert bn.grad is None


def test_conv2d_bias_fold_is_taken_for_few_rows_only(monkeypatch):
    from nerve.nn.functional import conv

    seen = []
    real = conv._im2col

    def spy(*args, **kwargs):
        seen.append(kwargs.get("ones", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(conv, "_im2col", spy)
    x = nerve.tensor(np.ones((2, 1, 6, 6), np.float32))
    F.conv2d(x, nerve.ones(4, 1, 3, 3), nerve.ones(4))  # K = 9
    F.conv2d(x, nerve.ones(4, 1, 3, 3))  # no bias
    F.conv2d(nerve.ones(2, 8, 6, 6), nerve.ones(4, 8, 3, 3), nerve.ones(4))  # K = 72
    assert seen == [True, False, False]


@pytest.mark.parametrize("n", [1, 16])  # 16: OW*N = 288, the blocked weight gradient
@pytest.mark.parametrize("row_blocks", [False, True])  # as with one BLAS thread
def test_conv2d_gradcheck_through_the_fast_paths(monkeypatch, n, row_blocks):
    from nerve.nn.functional import conv_kernels
    from nerve.primitives import threads
    from nerve.testing import gradcheck

    if row_blocks:
        monkeypatch.setattr(threads, "blas_single_threaded", lambda: True)
        monkeypatch.setattr(conv_kernels, "_ROWS_BYTES", 1)

    rng = np.random.default_rng(3)
    x = nerve.tensor(rng.standard_normal((n, 1, 20, 20)), requires_grad=True)  # float64
    w = nerve.tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    b = nerve.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b), x, w, b)


@pytest.fixture
def two_threads():
    from nerve.primitives import threads

    before = threads.get_num_threads()
    threads.set_num_threads(2)
    yield threads
    threads.set_num_threads(before)
    threads.shutdown()


@pytest.mark.parametrize("channels", [1, 6])  # one channel: split by output rows
def test_conv2d_im2col_and_col2im_split_bit_for_bit(two_threads, monkeypatch, channels):
    from nerve.nn.functional import conv_kernels

    taken = []
    real = two_threads.parallel_rows

    def spy(fn, arrays, min_size):
        done = real(fn, arrays, min_size)
        taken.append(done)
        return done

    monkeypatch.setattr(two_threads, "parallel_rows", spy)
    monkeypatch.setattr(conv_kernels, "_IM2COL_SPLIT", 0)
    monkeypatch.setattr(conv_kernels, "_COL2IM_SPLIT", 0)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, channels, 9, 8)).astype(np.float32)
    w = rng.standard_normal((4, channels, 3, 3)).astype(np.float32)
    g = rng.standard_normal((5, 4, 5, 4)).astype(np.float32)

    def run():
        xt, wt = nerve.tensor(x, requires_grad=True), nerve.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, stride=2, padding=1)
        y.backward(nerve.tensor(g))
        return [a.copy() for a in (y.numpy(), xt.grad.numpy(), wt.grad.numpy())]

    split = run()
    # im2col forward, im2col again for the weight gradient, col2im (more than one channel)
    assert taken == [True, True] + ([True] if channels > 1 else [False])
    two_threads.set_num_threads(1)
    for a, b in zip(split, run(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("block_bytes", [1, 3000])  # one output row per block; a few rows
@pytest.mark.parametrize(
    "c, bias, kwargs",
    [
        (1, True, {}),  # bias in the GEMM (the ones row of every block)
        (8, True, {"stride": 2, "padding": 1}),  # bias added per block
        (3, False, {"dilation": 2}),
    ],
)
def test_conv2d_forward_by_row_blocks_matches_torch(
    torch, monkeypatch, block_bytes, c, bias, kwargs
):
    from nerve.nn.functional import conv, conv_kernels
    from nerve.primitives import threads

    calls = []
    real = conv._gemm_by_rows

    def spy(*args):
        out = real(*args)
        calls.append(out is not None)
        return out

    grads = []
    real_grads = conv._grads_by_rows

    def grads_spy(*args):
        out = real_grads(*args)
        grads.append(out is not None)
        return out

    monkeypatch.setattr(conv, "_gemm_by_rows", spy)
    monkeypatch.setattr(conv, "_grads_by_rows", grads_spy)
    monkeypatch.setattr(conv_kernels, "_ROWS_BYTES", block_bytes)
    monkeypatch.setattr(threads, "blas_single_threaded", lambda: True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, c, 11, 10)).astype(np.float32)
    w = rng.standard_normal((5, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32) if bias else None
    ins = [x, w] + ([] if b is None else [b])
    for wanted in ([True, True, True], [True, False, False], [False, True, True]):
        ours = [nerve.tensor(a, requires_grad=r) for a, r in zip(ins, wanted)]
        theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(ins, wanted)]
        y = F.conv2d(*ours, **kwargs)
        expected = torch.nn.functional.conv2d(*theirs, **kwargs)
        np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-4)
        g = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(nerve.tensor(g))  # blocks again, from the saved padded input
        expected.backward(torch.tensor(g))
        for a, t in zip(ours, theirs):
            if t.requires_grad:
                np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)
    assert calls == [True] * 3 and grads == [True] * 3
    monkeypatch.setattr(threads, "blas_single_threaded", lambda: False)  # several BLAS threads
    F.conv2d(*[nerve.tensor(a) for a in ins], **kwargs)
    assert calls == [True] * 3 + [False]
