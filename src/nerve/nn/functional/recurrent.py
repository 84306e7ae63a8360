"""Recurrent sequence ops: a whole layer-direction of RNN/LSTM/GRU as one fused Function.

The input projection for every time step (x W_ih^T + b) is one large matmul done by the
caller (``linear`` over (T*N, I)); these ops take it precomputed as ``xw`` of shape (T, N, G*H).
Each step inside is one fused cell: a single (N, H) x (H, G*H) matmul for all gates, then the
gate math in place. Backward is hand-written backpropagation through time over the saved gates,
so a 28-step LSTM is two Functions in the graph, not hundreds of tiny ops.

``batch_sizes`` (torch's PackedSequence layout: the rows are sorted by length, longest first, and
step t has ``batch_sizes[t]`` live rows, a prefix) makes the rows past it keep their state at that
step: the state is not advanced by padding, so h_T (and c_T) hold each row's own last step.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor, is_array, to_host

__all__ = ["gru_sequence", "lstm_sequence", "rnn_sequence"]


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """In-place logistic 1 / (1 + exp(-x)); exp overflows to inf below x = -88 (sigmoid 0,
    exactly), so callers run it under np.errstate(over="ignore")."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1
    return np.divide(1, x, out=x)


@register("lstm_sequence")
class LSTMSequence(Function):
    """Gates in torch's order (input, forget, cell, output); biases already in ``xw``."""

    def forward(self, xw, h0, c0, w_hh, batch_sizes=None):
        steps, batch, four_h = xw.shape
        hidden = four_h // 4
        cell_gate = slice(2 * hidden, 3 * hidden)
        xp = array_module_of(xw)
        out = xp.empty((steps, batch, hidden), dtype=xw.dtype)
        gates = xp.empty((steps, batch, four_h), dtype=xw.dtype)  # activated i, f, g, o
        cells = xp.empty((steps + 1, batch, hidden), dtype=xw.dtype)
        tanh_c = xp.empty((steps, batch, hidden), dtype=xw.dtype)
        i_g = xp.empty((batch, hidden), dtype=xw.dtype)
        cells[0] = c0
        # All four gates go through one logistic over the contiguous (N, 4H) block, the cell
        # gate as tanh(x) = 2 sigmoid(2x) - 1: NumPy's exp costs half its tanh, and one call
        # over the block replaces six over strided slices. The matmul with -W writes
        # -(pre-activation), the argument sigmoid(x) = 1 / (1 + exp(-x)) needs.
        neg_w_t = np.negative(w_hh.T)
        h = h0
        with np.errstate(over="ignore"):  # exp(-x) = inf below x = -88: sigmoid is 0, exactly
            for t in range(steps):
                a = gates[t]
                np.matmul(h, neg_w_t, out=a)
                a -= xw[t]
                a[:, cell_gate] *= 2
                np.exp(a, out=a)
                a += 1
                np.divide(1, a, out=a)  # measured 1.6x faster than np.reciprocal
                a[:, cell_gate] *= 2
                a[:, cell_gate] -= 1
                i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
                c = cells[t + 1]
                np.multiply(f, cells[t], out=c)
                np.multiply(i, g, out=i_g)
                c += i_g
                np.tanh(c, out=tanh_c[t])
                np.multiply(o, tanh_c[t], out=out[t])
                if batch_sizes is not None and batch_sizes[t] < batch:
                    n = batch_sizes[t]  # rows past their length keep their states
                    c[n:] = cells[t][n:]
                    out[t][n:] = h[n:]
                h = out[t]
        self.batch_sizes = batch_sizes
        self.gates, self.cells, self.tanh_c, self.out = gates, cells, tanh_c, out
        self.h0, self.w_hh = h0, w_hh
        return out, out[-1].copy(), cells[-1].copy()

    def backward(self, g_out, g_h, g_c):
        gates, cells, tanh_c, out, w_hh = self.gates, self.cells, self.tanh_c, self.out, self.w_hh
        steps, batch, four_h = gates.shape
        hidden = four_h // 4
        dt = gates.dtype
        xp = array_module_of(gates)
        d_xw = np.empty_like(gates)
        upstream = xp.empty((batch, four_h), dt)  # the gradient arriving at each activation
        u_i, u_f, u_g, u_o = (upstream[:, k * hidden : (k + 1) * hidden] for k in range(4))
        through_o = xp.empty((batch, hidden), dt)
        dh = xp.zeros((batch, hidden), dt) if g_h is None else g_h.astype(dt, copy=True)
        dc = xp.zeros((batch, hidden), dt) if g_c is None else g_c.astype(dt, copy=True)
        sizes = self.batch_sizes
        for t in range(steps - 1, -1, -1):
            if g_out is not None:
                dh += g_out[t]
            n = batch if sizes is None else sizes[t]
            if n < batch:  # carried rows pass their gradients straight to the previous step
                dh_keep, dc_keep = dh[n:].copy(), dc[n:].copy()
            a, d, tc = gates[t], d_xw[t], tanh_c[t]
            i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            # d holds the activations' derivatives: s (1 - s) for the logistic gates over the
            # whole block, then 1 - g^2 for the cell gate; one product applies the upstream.
            np.subtract(1, a, out=d)
            d *= a
            d_g = d[:, 2 * hidden : 3 * hidden]
            np.multiply(g, g, out=d_g)
            np.subtract(1, d_g, out=d_g)
            np.multiply(tc, tc, out=through_o)
            np.subtract(1, through_o, out=through_o)
            through_o *= o
            through_o *= dh
            dc += through_o
            np.multiply(dh, tc, out=u_o)
            np.multiply(dc, g, out=u_i)
            np.multiply(dc, cells[t], out=u_f)
            np.multiply(dc, i, out=u_g)
            d *= upstream
            dc *= f
            if n < batch:
                d[n:] = 0
            np.matmul(d, w_hh, out=dh)
            if n < batch:
                dh[n:] = dh_keep
                dc[n:] = dc_keep
        need_xw, need_h0, need_c0, need_w = self.needs_input_grad
        d_w = None
        if need_w:
            h_prev = np.concatenate([self.h0[None], out[:-1]]).reshape(-1, hidden)
            d_w = d_xw.reshape(-1, four_h).T @ h_prev
        return (
            d_xw if need_xw else None,
            dh if need_h0 else None,
            dc if need_c0 else None,
            d_w,
        )


@register("gru_sequence")
class GRUSequence(Function):
    """Gates in torch's order (reset, update, new); n = tanh(xw_n + r * (h W_hn^T + b_hn))."""

    def forward(self, xw, h0, w_hh, b_hh, batch_sizes=None):
        steps, batch, three_h = xw.shape
        hidden = three_h // 3
        dt = xw.dtype
        xp = array_module_of(xw)
        out = xp.empty((steps, batch, hidden), dtype=dt)
        rz = xp.empty((steps, batch, 2 * hidden), dtype=dt)
        n_gate = xp.empty((steps, batch, hidden), dtype=dt)
        hn = xp.empty((steps, batch, hidden), dtype=dt)  # h W_hn^T + b_hn, read by backward
        w_t = w_hh.T
        h = h0
        with np.errstate(over="ignore"):  # see _sigmoid_
            for t in range(steps):
                hw = h @ w_t
                hw += b_hh
                r_z = rz[t]
                np.add(xw[t, :, : 2 * hidden], hw[:, : 2 * hidden], out=r_z)
                _sigmoid_(r_z)
                hn[t] = hw[:, 2 * hidden :]
                n = n_gate[t]
                np.multiply(r_z[:, :hidden], hn[t], out=n)
                n += xw[t, :, 2 * hidden :]
                np.tanh(n, out=n)
                z = r_z[:, hidden:]
                # h' = (1 - z) * n + z * h = n + z * (h - n)
                np.subtract(h, n, out=out[t])
                out[t] *= z
                out[t] += n
                if batch_sizes is not None and batch_sizes[t] < batch:
                    out[t][batch_sizes[t] :] = h[batch_sizes[t] :]  # past its length: kept
                h = out[t]
        self.batch_sizes = batch_sizes
        self.rz, self.n_gate, self.hn, self.out, self.h0, self.w_hh = rz, n_gate, hn, out, h0, w_hh
        return out, out[-1].copy()

    def backward(self, g_out, g_h):
        rz, n_gate, hn, out, w_hh = self.rz, self.n_gate, self.hn, self.out, self.w_hh
        steps, batch, hidden = out.shape
        dt = out.dtype
        xp = array_module_of(out)
        d_xw = xp.empty((steps, batch, 3 * hidden), dtype=dt)
        d_hw = xp.empty((steps, batch, 3 * hidden), dtype=dt)  # grads of h W_hh^T + b_hh
        dh = xp.zeros((batch, hidden), dt) if g_h is None else g_h.astype(dt, copy=True)
        sizes = self.batch_sizes
        for t in range(steps - 1, -1, -1):
            if g_out is not None:
                dh += g_out[t]
            live = batch if sizes is None else sizes[t]
            h_prev = self.h0 if t == 0 else out[t - 1]
            r, z = rz[t, :, :hidden], rz[t, :, hidden:]
            n = n_gate[t]
            dn = dh * (1 - z)
            dz = dh * (h_prev - n)
            dn_pre = dn * (1 - n * n)
            dr = dn_pre * hn[t]
            d = d_xw[t]
            np.multiply(dr, r * (1 - r), out=d[:, :hidden])
            np.multiply(dz, z * (1 - z), out=d[:, hidden : 2 * hidden])
            d[:, 2 * hidden :] = dn_pre
            dhw = d_hw[t]
            dhw[:, : 2 * hidden] = d[:, : 2 * hidden]
            np.multiply(dn_pre, r, out=dhw[:, 2 * hidden :])
            if live < batch:  # carried rows: no gate gradients, dh passes through unchanged
                d[live:] = 0
                dhw[live:] = 0
                z = z.copy()
                z[live:] = 1
            dh = dh * z + dhw @ w_hh
        need_xw, need_h0, need_w, need_b = self.needs_input_grad
        d_w = d_b = None
        if need_w:
            h_prev_all = np.concatenate([self.h0[None], out[:-1]]).reshape(-1, hidden)
            d_w = d_hw.reshape(-1, 3 * hidden).T @ h_prev_all
        if need_b:
            d_b = d_hw.sum(axis=(0, 1))
        return d_xw if need_xw else None, dh if need_h0 else None, d_w, d_b


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
