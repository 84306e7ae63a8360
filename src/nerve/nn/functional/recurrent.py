"""Recurrent sequence ops: a whole layer-direction of RNN/LSTM/GRU as one fused Function.

The input projection for every time step (x W_ih^T + b) is one large matmul done by the
caller (``linear`` over (T*N, I)); these ops take it precomputed as ``xw`` of shape (T, N, G*H).
Each step inside is one fused cell: a single (N, H) x (H, G*H) matmul for all gates, then the
gate math in place. Backward is hand-written backpropagation through time over the saved gates,
so a 28-step LSTM is two Functions in the graph, not hundreds of tiny ops.

``batch_sizes`` (torch's PackedSequence layout: the rows are sorted by length, longest first, and
step t has ``batch_sizes[t]`` live rows, a prefix) makes the rows past it keep their state at that
step: the state is not advanced by padding, so h_T (and c_T) hold each row's own last step.

With ``nerve.set_num_threads(n > 1)`` and NumPy arrays, LSTM and GRU run their recurrences (the
forward, and the backward up to the weight gradient) as n blocks of batch rows on n threads.
Rows never mix, so a block computes what the whole batch would for its rows, and OpenBLAS
mostly gives a row the same sums whatever the number of rows it multiplies: measured bit for
bit the one-thread result at the benchmark's shape and at hidden sizes 16 to 256 (batch 33 to
512), but not everywhere: at hidden 50 or 67, and for some GRU shapes, OpenBLAS's small-product
kernels round some rows differently (up to ~4e-6 apart), so the split is "close", not bitwise,
in general. A call that finds the pool busy runs unsplit with BLAS's own threads, which can
round differently too (as any GEMM at 1 vs 2 BLAS threads).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives import threads
from nerve.primitives.activation import sigmoid_out
from nerve.primitives.common import as_tensor, is_array, to_host

__all__ = ["gru_sequence", "lstm_sequence", "rnn_sequence"]


# Batch rows of a recurrence never meet until the weight gradient (one GEMM over all rows,
# after the loop), so with nerve.set_num_threads(n > 1) a whole forward or backward runs as n
# row blocks on the pool of nerve.primitives.threads: one hand-off per call, not per op. Each
# NumPy call of a block gives up the GIL and takes it back; per call's fixed costs, a block's
# CPU time measured 55-65% of the unsplit call's down to a (N, G*H) step block of 16K elements
# (LSTM N=32 or 64, H=128 or 64) but 73% at 8K, where the GIL waits take the rest.
SPLIT_MIN_STEP = 16384
# and at least this many rows per block: blocks of 1-3 rows (a batch of 2-5 with a large hidden
# size) made OpenBLAS round some sums differently from the whole batch (a reviewer's sweep)
SPLIT_MIN_ROWS = 16


def _block_sizes(sizes, r0: int, r1: int):
    """Per-step live rows of the block [r0, r1) from the whole batch's ``sizes`` (or None)."""
    if sizes is None:
        return None
    return tuple(min(max(n - r0, 0), r1 - r0) for n in sizes)


def _on_row_blocks(rows, batch: int, step_size: int, *arrays) -> bool:
    """Run ``rows(r0, r1)`` over the pool's row blocks with OpenBLAS on one thread per caller.

    Two callers in OpenBLAS's threaded GEMM at once queue on its server (28 GEMMs of 64 x 128 x
    512 on each of two threads measured 3.6 to 440 ms on the shared 2-core machine, against
    2.9 to 8 ms with one BLAS thread each), so the blocks run with OpenBLAS on one thread; its
    count comes back before the weight gradient's GEMM. Returns False (nothing run) when the
    split is off, a step's gate block has fewer than ``SPLIT_MIN_STEP`` elements
    (``step_size``), an array is not a NumPy ndarray or the pool is busy.
    """
    n = threads.get_num_threads()
    if n < 2 or step_size < SPLIT_MIN_STEP or batch < SPLIT_MIN_ROWS * n:
        return False
    for a in arrays:
        if a is not None and type(a) is not np.ndarray:
            return False
    with threads.single_blas_thread():
        return threads.parallel_blocks(rows, batch)


@register("lstm_sequence")
class LSTMSequence(Function):
    """Gates in torch's order (input, forget, cell, output); biases already in ``xw``."""

    def forward(self, xw, h0, c0, w_hh, batch_sizes=None):
        steps, batch, four_h = xw.shape
        hidden = four_h // 4
        xp = array_module_of(xw)
        # h0 and the outputs in one buffer: the weight gradient's h_{t-1} is then a view
        states = xp.empty((steps + 1, batch, hidden), dtype=xw.dtype)
        states[0] = h0
        out = states[1:]
        gates = xp.empty((steps, batch, four_h), dtype=xw.dtype)  # activated i, f, g, o
        cells = xp.empty((steps + 1, batch, hidden), dtype=xw.dtype)
        tanh_c = xp.empty((steps, batch, hidden), dtype=xw.dtype)
        # The matmul with -W writes -(pre-activation), the argument sigmoid(x) = 1 / (1 +
        # exp(-x)) needs; written out C-contiguous because OpenBLAS's h @ W^T from a plain
        # (H, 4H) array measured 12-16% faster than from the transposed view.
        neg_w_t = xp.negative(xp.ascontiguousarray(w_hh.T))
        arrays = (xw, h0, c0, out, gates, cells, tanh_c)

        def rows(r0, r1):
            _lstm_forward_rows(
                *(a[r0:r1] if a.ndim == 2 else a[:, r0:r1] for a in arrays),
                neg_w_t,
                _block_sizes(batch_sizes, r0, r1),
            )

        if not _on_row_blocks(rows, batch, batch * four_h, xw, h0, c0, w_hh):
            rows(0, batch)
        self.batch_sizes = batch_sizes
        self.gates, self.cells, self.tanh_c, self.states = gates, cells, tanh_c, states
        self.w_hh = w_hh
        return out, out[-1].copy(), cells[-1].copy()

    def backward(self, g_out, g_h, g_c):
        gates, states, w_hh = self.gates, self.states, self.w_hh
        steps, batch, four_h = gates.shape
        hidden = four_h // 4
        dt = gates.dtype
        xp = array_module_of(gates)
        d_xw = xp.empty_like(gates)
        dh = xp.zeros((batch, hidden), dt) if g_h is None else g_h.astype(dt, copy=True)
        dc = xp.zeros((batch, hidden), dt) if g_c is None else g_c.astype(dt, copy=True)
        arrays = (gates, self.cells, self.tanh_c, d_xw, dh, dc)
        sizes = self.batch_sizes

        def rows(r0, r1):
            _lstm_backward_rows(
                None if g_out is None else g_out[:, r0:r1],
                *(a[r0:r1] if a.ndim == 2 else a[:, r0:r1] for a in arrays),
                w_hh,
                _block_sizes(sizes, r0, r1),
            )

        if not _on_row_blocks(rows, batch, batch * four_h, gates, w_hh, g_out, g_h, g_c):
            rows(0, batch)
        need_xw, need_h0, need_c0, need_w = self.needs_input_grad
        d_w = None
        if need_w:  # the one sum over rows: one GEMM over all of them, after the split
            d_w = d_xw.reshape(-1, four_h).T @ states[:-1].reshape(-1, hidden)
        return (
            d_xw if need_xw else None,
            dh if need_h0 else None,
            dc if need_c0 else None,
            d_w,
        )


def _lstm_forward_rows(xw, h0, c0, out, gates, cells, tanh_c, neg_w_t, sizes):
    """The LSTM recurrence over one block of batch rows, written into ``out``, ``gates``,
    ``cells`` and ``tanh_c`` (views of those rows); ``sizes``: live rows per step, or None."""
    steps, batch, four_h = xw.shape
    hidden = four_h // 4
    i_g = array_module_of(xw).empty((batch, hidden), dtype=xw.dtype)
    cells[0] = c0
    h = h0
    # Every step's views made at once (list() of an array is one C loop): the loop below is
    # mostly NumPy calls, each of which gives the GIL to the other block's thread.
    i_t, f_t, g_t, o_t = (list(gates[..., k * hidden : (k + 1) * hidden]) for k in range(4))
    gates_t, xw_t, c_t, tc_t, out_t = list(gates), list(xw), list(cells), list(tanh_c), list(out)
    # All four gates go through one logistic over the contiguous (N, 4H) block, the cell gate
    # as tanh(x) = 2 sigmoid(2x) - 1: NumPy's exp costs half its tanh, and one call over the
    # block replaces six over strided slices.
    with np.errstate(over="ignore"):  # exp(-x) = inf below x = -88: sigmoid is 0, exactly
        for t in range(steps):
            a, g, c = gates_t[t], g_t[t], c_t[t + 1]
            np.matmul(h, neg_w_t, out=a)
            a -= xw_t[t]
            g *= 2
            np.exp(a, out=a)
            a += 1
            np.divide(1, a, out=a)  # measured 1.6x faster than np.reciprocal
            g *= 2
            g -= 1
            np.multiply(f_t[t], c_t[t], out=c)
            np.multiply(i_t[t], g, out=i_g)
            c += i_g
            np.tanh(c, out=tc_t[t])
            np.multiply(o_t[t], tc_t[t], out=out_t[t])
            if sizes is not None and sizes[t] < batch:
                n = sizes[t]  # rows past their length keep their states
                c[n:] = c_t[t][n:]
                out_t[t][n:] = h[n:]
            h = out_t[t]


def _lstm_backward_rows(g_out, gates, cells, tanh_c, d_xw, dh, dc, w_hh, sizes):
    """Backpropagation through time over one block of batch rows: ``d_xw`` gets the gates'
    pre-activation gradients, ``dh`` and ``dc`` (in: from after the last step) end as the
    gradients of h0 and c0."""
    steps, batch, four_h = gates.shape
    hidden = four_h // 4
    xp = array_module_of(gates)
    dt = gates.dtype
    upstream = xp.empty((batch, four_h), dt)  # the gradient arriving at each activation
    u_i, u_f, u_g, u_o = (upstream[:, k * hidden : (k + 1) * hidden] for k in range(4))
    through_o = xp.empty((batch, hidden), dt)
    # as in _lstm_forward_rows: every step's views at once
    i_t, f_t, g_t, o_t = (list(gates[..., k * hidden : (k + 1) * hidden]) for k in range(4))
    gates_t, d_t, c_t, tc_t = list(gates), list(d_xw), list(cells), list(tanh_c)
    dg_t = list(d_xw[..., 2 * hidden : 3 * hidden])
    g_out_t = None if g_out is None else list(g_out)
    for t in range(steps - 1, -1, -1):
        if g_out_t is not None:
            dh += g_out_t[t]
        n = batch if sizes is None else sizes[t]
        if n < batch:  # carried rows pass their gradients straight to the previous step
            dh_keep, dc_keep = dh[n:].copy(), dc[n:].copy()
        a, d, tc, g, d_g = gates_t[t], d_t[t], tc_t[t], g_t[t], dg_t[t]
        # d holds the activations' derivatives: s (1 - s) for the logistic gates over the
        # whole block, then 1 - g^2 for the cell gate; one product applies the upstream.
        np.subtract(1, a, out=d)
        d *= a
        np.multiply(g, g, out=d_g)
        np.subtract(1, d_g, out=d_g)
        np.multiply(tc, tc, out=through_o)
        np.subtract(1, through_o, out=through_o)
        through_o *= o_t[t]
        through_o *= dh
        dc += through_o
        np.multiply(dh, tc, out=u_o)
        np.multiply(dc, g, out=u_i)
        np.multiply(dc, c_t[t], out=u_f)
        np.multiply(dc, i_t[t], out=u_g)
        d *= upstream
        dc *= f_t[t]
        if n < batch:
            d[n:] = 0
        np.matmul(d, w_hh, out=dh)
        if n < batch:
            dh[n:] = dh_keep
            dc[n:] = dc_keep


@register("gru_sequence")
class GRUSequence(Function):
    """Gates in torch's order (reset, update, new); n = tanh(xw_n + r * (h W_hn^T + b_hn))."""

    def forward(self, xw, h0, w_hh, b_hh, batch_sizes=None):
        steps, batch, three_h = xw.shape
        hidden = three_h // 3
        dt = xw.dtype
        xp = array_module_of(xw)
        states = xp.empty((steps + 1, batch, hidden), dtype=dt)  # h0, then the outputs
        states[0] = h0
        out = states[1:]
        rz = xp.empty((steps, batch, 2 * hidden), dtype=dt)
        n_gate = xp.empty((steps, batch, hidden), dtype=dt)
        hn = xp.empty((steps, batch, hidden), dtype=dt)  # h W_hn^T + b_hn, read by backward
        arrays = (xw, h0, out, rz, n_gate, hn)
        w_t = xp.ascontiguousarray(w_hh.T)  # see LSTMSequence: the plain layout's GEMM is faster

        def rows(r0, r1):
            _gru_forward_rows(
                *(a[r0:r1] if a.ndim == 2 else a[:, r0:r1] for a in arrays),
                w_t,
                b_hh,
                _block_sizes(batch_sizes, r0, r1),
            )

        if not _on_row_blocks(rows, batch, batch * three_h, xw, h0, w_hh, b_hh):
            rows(0, batch)
        self.batch_sizes = batch_sizes
        self.rz, self.n_gate, self.hn, self.states, self.w_hh = rz, n_gate, hn, states, w_hh
        return out, out[-1].copy()

    def backward(self, g_out, g_h):
        states, w_hh = self.states, self.w_hh
        steps, batch, hidden = states.shape
        steps -= 1
        dt = states.dtype
        xp = array_module_of(states)
        d_xw = xp.empty((steps, batch, 3 * hidden), dtype=dt)
        d_hw = xp.empty((steps, batch, 3 * hidden), dtype=dt)  # grads of h W_hh^T + b_hh
        dh = xp.zeros((batch, hidden), dt) if g_h is None else g_h.astype(dt, copy=True)
        arrays = (states, self.rz, self.n_gate, self.hn, d_xw, d_hw, dh)
        sizes = self.batch_sizes

        def rows(r0, r1):
            _gru_backward_rows(
                None if g_out is None else g_out[:, r0:r1],
                *(a[r0:r1] if a.ndim == 2 else a[:, r0:r1] for a in arrays),
                w_hh,
                _block_sizes(sizes, r0, r1),
            )

        if not _on_row_blocks(rows, batch, batch * 3 * hidden, states, w_hh, g_out, g_h):
            rows(0, batch)
        need_xw, need_h0, need_w, need_b = self.needs_input_grad
        d_w = d_b = None
        if need_w:  # sums over rows: after the split
            d_w = d_hw.reshape(-1, 3 * hidden).T @ states[:-1].reshape(-1, hidden)
        if need_b:
            d_b = d_hw.sum(axis=(0, 1))
        return d_xw if need_xw else None, dh if need_h0 else None, d_w, d_b


def _gru_forward_rows(xw, h0, out, rz, n_gate, hn, w_t, b_hh, sizes):
    """The GRU recurrence over one block of batch rows (all arrays are views of those rows)."""
    steps, batch, three_h = xw.shape
    hidden = three_h // 3
    hw = array_module_of(xw).empty((batch, three_h), dtype=xw.dtype)  # h W_hh^T + b_hh
    hw_rz, hw_n = hw[:, : 2 * hidden], hw[:, 2 * hidden :]
    # every step's views at once, as in _lstm_forward_rows
    xw_rz, xw_n = list(xw[..., : 2 * hidden]), list(xw[..., 2 * hidden :])
    r_t, z_t = list(rz[..., :hidden]), list(rz[..., hidden:])
    rz_t, n_t, hn_t, out_t = list(rz), list(n_gate), list(hn), list(out)
    h = h0
    with np.errstate(over="ignore"):  # exp(-x) = inf below x = -88: sigmoid 0, exactly
        for t in range(steps):
            np.matmul(h, w_t, out=hw)
            hw += b_hh
            np.add(xw_rz[t], hw_rz, out=rz_t[t])
            sigmoid_out(rz_t[t], rz_t[t])  # the sigmoid op's own kernel, in place
            np.copyto(hn_t[t], hw_n)
            n, o = n_t[t], out_t[t]
            np.multiply(r_t[t], hn_t[t], out=n)
            n += xw_n[t]
            np.tanh(n, out=n)
            # h' = (1 - z) * n + z * h = n + z * (h - n)
            np.subtract(h, n, out=o)
            o *= z_t[t]
            o += n
            if sizes is not None and sizes[t] < batch:
                o[sizes[t] :] = h[sizes[t] :]  # past its length: kept
            h = o


def _gru_backward_rows(g_out, states, rz, n_gate, hn, d_xw, d_hw, dh, w_hh, sizes):
    """Backpropagation through time over one block of batch rows (``states``: h0, then the
    outputs); ``dh`` (in: from after the last step) ends as the gradient of h0."""
    steps, batch, hidden = n_gate.shape
    xp = array_module_of(n_gate)
    one_minus_z, dn, dz, tmp = (xp.empty((batch, hidden), n_gate.dtype) for _ in range(4))
    # every step's views at once, as in _lstm_forward_rows
    r_t, z_t = list(rz[..., :hidden]), list(rz[..., hidden:])
    n_t, hn_t, h_t, d_t, dhw_t = list(n_gate), list(hn), list(states), list(d_xw), list(d_hw)
    dr_t, dz_t = list(d_xw[..., :hidden]), list(d_xw[..., hidden : 2 * hidden])
    drz_t, dn_pre_t = list(d_xw[..., : 2 * hidden]), list(d_xw[..., 2 * hidden :])
    dhw_rz_t, dhw_n_t = list(d_hw[..., : 2 * hidden]), list(d_hw[..., 2 * hidden :])
    g_out_t = None if g_out is None else list(g_out)
    for t in range(steps - 1, -1, -1):
        if g_out_t is not None:
            dh += g_out_t[t]
        live = batch if sizes is None else sizes[t]
        r, z, n, dn_pre = r_t[t], z_t[t], n_t[t], dn_pre_t[t]
        np.subtract(1, z, out=one_minus_z)
        np.multiply(dh, one_minus_z, out=dn)
        np.subtract(h_t[t], n, out=dz)
        dz *= dh
        np.multiply(n, n, out=tmp)
        np.subtract(1, tmp, out=tmp)
        np.multiply(dn, tmp, out=dn_pre)  # the new gate's pre-activation gradient
        np.multiply(dn_pre, hn_t[t], out=dn)  # through r * (h W_hn^T + b_hn): dr
        np.subtract(1, r, out=tmp)
        tmp *= r
        np.multiply(dn, tmp, out=dr_t[t])
        np.multiply(z, one_minus_z, out=tmp)
        np.multiply(dz, tmp, out=dz_t[t])
        np.copyto(dhw_rz_t[t], drz_t[t])
        np.multiply(dn_pre, r, out=dhw_n_t[t])
        if live < batch:  # carried rows: no gate gradients, dh passes through unchanged
            d_t[t][live:] = 0
            dhw_t[t][live:] = 0
            z = z.copy()
            z[live:] = 1
        np.matmul(dhw_t[t], w_hh, out=tmp)
        dh *= z
        dh += tmp


@register("rnn_sequence")
class RNNSequence(Function):
    """Elman RNN: h' = act(xw + h W_hh^T), act tanh or relu; biases already in ``xw``."""

    def forward(self, xw, h0, w_hh, nonlinearity, batch_sizes=None):
        steps, batch, hidden = xw.shape
        out = np.empty_like(xw)
        w_t = w_hh.T
        h = h0
        relu = nonlinearity == "relu"
        for t in range(steps):
            a = out[t]
            np.matmul(h, w_t, out=a)
            a += xw[t]
            if relu:
                np.maximum(a, 0, out=a)
            else:
                np.tanh(a, out=a)
            if batch_sizes is not None and batch_sizes[t] < batch:
                a[batch_sizes[t] :] = h[batch_sizes[t] :]  # past its length: kept
            h = a
        self.batch_sizes = batch_sizes
        self.out, self.h0, self.w_hh, self.relu = out, h0, w_hh, relu
        return out, out[-1].copy()

    def backward(self, g_out, g_h):
        out, w_hh = self.out, self.w_hh
        steps, batch, hidden = out.shape
        xp = array_module_of(out)
        d_xw = np.empty_like(out)
        dh = xp.zeros((batch, hidden), out.dtype) if g_h is None else g_h.astype(out.dtype)
        sizes = self.batch_sizes
        for t in range(steps - 1, -1, -1):
            if g_out is not None:
                dh = dh + g_out[t]
            y = out[t]
            d = d_xw[t]
            if self.relu:
                np.multiply(dh, y > 0, out=d)
            else:
                np.multiply(dh, 1 - y * y, out=d)
            live = batch if sizes is None else sizes[t]
            if live < batch:  # carried rows: dh passes through unchanged
                d[live:] = 0
                keep = dh[live:]
                dh = d @ w_hh
                dh[live:] = keep
            else:
                dh = d @ w_hh
        need_xw, need_h0, need_w = self.needs_input_grad
        d_w = None
        if need_w:
            h_prev = np.concatenate([self.h0[None], out[:-1]]).reshape(-1, hidden)
            d_w = d_xw.reshape(-1, hidden).T @ h_prev
        return d_xw if need_xw else None, dh if need_h0 else None, d_w


def _check(op: str, xw, h0, gates: int, w_hh):
    if xw.ndim != 3 or h0.ndim != 2 or w_hh.ndim != 2:
        raise ValueError(
            f"{op}: expected xw (T, N, {gates}*H), h0 (N, H), w_hh ({gates}*H, H); got "
            f"{tuple(xw.shape)}, {tuple(h0.shape)}, {tuple(w_hh.shape)}"
        )
    hidden = h0.shape[1]
    if xw.shape[2] != gates * hidden or w_hh.shape != (gates * hidden, hidden):
        raise ValueError(
            f"{op}: hidden size {hidden} from h0 {tuple(h0.shape)} does not match xw "
            f"{tuple(xw.shape)} or w_hh {tuple(w_hh.shape)} ({gates} gates)"
        )
    if xw.shape[1] != h0.shape[0]:
        raise ValueError(f"{op}: batch of xw {tuple(xw.shape)} and h0 {tuple(h0.shape)} differ")


def _batch_sizes(op: str, batch_sizes, steps: int, batch: int):
    """``batch_sizes`` as a tuple of ints, checked: one per step, in [0, N], non-increasing."""
    if batch_sizes is None:
        return None
    raw = getattr(batch_sizes, "data", batch_sizes)
    raw = raw._data if isinstance(raw, Tensor) else raw
    sizes = to_host(raw) if is_array(raw) else np.asarray(raw)  # read on the host: step sizes
    if sizes.ndim != 1 or sizes.shape[0] != steps or sizes.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: batch_sizes must be {steps} integers (one per step), got {sizes!r}"
        )
    if sizes.size and (sizes.min() < 0 or sizes.max() > batch or np.any(np.diff(sizes) > 0)):
        raise ValueError(
            f"{op}: batch_sizes must be non-increasing and within [0, {batch}], got "
            f"{sizes.tolist()}"
        )
    return tuple(int(n) for n in sizes)


def lstm_sequence(xw, h0, c0, w_hh, batch_sizes=None):
    """Run an LSTM layer-direction over precomputed input projections.

    Args:
        xw: (T, N, 4H), x_t W_ih^T + b_ih + b_hh for every step.
        h0, c0: (N, H) initial states.
        w_hh: (4H, H) recurrent weights, gates ordered (i, f, g, o) as in torch.
        batch_sizes: optional, T non-increasing ints: only the first ``batch_sizes[t]`` rows
            advance at step t, the others keep their states (a PackedSequence's layout).

    Returns:
        (outputs (T, N, H), h_T (N, H), c_T (N, H))

    Raises:
        ValueError: the shapes do not fit together, or ``batch_sizes`` is malformed.
    """
    xw, h0, c0, w_hh = (as_tensor(t, "lstm_sequence") for t in (xw, h0, c0, w_hh))
    _check("lstm_sequence", xw, h0, 4, w_hh)
    sizes = _batch_sizes("lstm_sequence", batch_sizes, xw.shape[0], xw.shape[1])
    return LSTMSequence.apply(xw, h0, c0, w_hh, batch_sizes=sizes)


def gru_sequence(xw, h0, w_hh, b_hh, batch_sizes=None):
    """Run a GRU layer-direction; ``xw`` = x W_ih^T + b_ih, (T, N, 3H); returns (outputs, h_T).

    ``batch_sizes`` is as for :func:`lstm_sequence`.
    """
    xw, h0, w_hh, b_hh = (as_tensor(t, "gru_sequence") for t in (xw, h0, w_hh, b_hh))
    _check("gru_sequence", xw, h0, 3, w_hh)
    sizes = _batch_sizes("gru_sequence", batch_sizes, xw.shape[0], xw.shape[1])
    return GRUSequence.apply(xw, h0, w_hh, b_hh, batch_sizes=sizes)


def rnn_sequence(xw, h0, w_hh, nonlinearity: str = "tanh", batch_sizes=None):
    """Run an Elman RNN layer-direction; ``xw`` = x W_ih^T + b_ih + b_hh, (T, N, H).

    ``batch_sizes`` is as for :func:`lstm_sequence`.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(
            f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
        )
    xw, h0, w_hh = (as_tensor(t, "rnn_sequence") for t in (xw, h0, w_hh))
    _check("rnn_sequence", xw, h0, 1, w_hh)
    sizes = _batch_sizes("rnn_sequence", batch_sizes, xw.shape[0], xw.shape[1])
    return RNNSequence.apply(xw, h0, w_hh, nonlinearity=nonlinearity, batch_sizes=sizes)
