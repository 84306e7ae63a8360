"""Samples for the fused recurrent sequence ops; torch's twin is the same cell math in a loop."""

from __future__ import annotations

import numpy as np

from op_db import Sample, randn

T, N, H = 4, 3, 2


def _torch_lstm(m, xw, h, c, w):
    outs = []
    for t in range(xw.shape[0]):
        i, f, g, o = (xw[t] + h @ w.T).chunk(4, dim=-1)
        c = m.sigmoid(f) * c + m.sigmoid(i) * m.tanh(g)
        h = m.sigmoid(o) * m.tanh(c)
        outs.append(h)
    return m.stack(outs), h, c


def _torch_gru(m, xw, h, w, b):
    outs = []
    hidden = h.shape[-1]
    for t in range(xw.shape[0]):
        hw = h @ w.T + b
        r = m.sigmoid(xw[t, :, :hidden] + hw[:, :hidden])
        z = m.sigmoid(xw[t, :, hidden : 2 * hidden] + hw[:, hidden : 2 * hidden])
        n = m.tanh(xw[t, :, 2 * hidden :] + r * hw[:, 2 * hidden :])
        h = (1 - z) * n + z * h
        outs.append(h)
    return m.stack(outs), h


def _torch_rnn(act):
    def run(m, xw, h, w):
        outs = []
        for t in range(xw.shape[0]):
            h = act(m, xw[t] + h @ w.T)
            outs.append(h)
        return m.stack(outs), h

    return run


SAMPLES = {
    "lstm_sequence": [
        Sample(
            lambda m, xw, h, c, w: m.F.lstm_sequence(xw, h, c, w),
            (randn(T, N, 4 * H), randn(N, H), randn(N, H), 0.5 * randn(4 * H, H)),
            torch_fn=_torch_lstm,
        ),
        Sample(  # one step, batch of one
            lambda m, xw, h, c, w: m.F.lstm_sequence(xw, h, c, w),
            (randn(1, 1, 8, seed=3), randn(1, 2, seed=4), randn(1, 2, seed=5), randn(8, 2)),
            torch_fn=_torch_lstm,
            desc="one-step",
        ),
    ],
    "gru_sequence": [
        Sample(
            lambda m, xw, h, w, b: m.F.gru_sequence(xw, h, w, b),
            (randn(T, N, 3 * H), randn(N, H), 0.5 * randn(3 * H, H), randn(3 * H)),
            torch_fn=_torch_gru,
        )
    ],
    "rnn_sequence": [
        Sample(
            lambda m, xw, h, w: m.F.rnn_sequence(xw, h, w),
            (randn(T, N, H), randn(N, H), 0.5 * randn(H, H)),
            torch_fn=_torch_rnn(lambda m, a: m.tanh(a)),
        ),
        Sample(
            lambda m, xw, h, w: m.F.rnn_sequence(xw, h, w, "relu"),
            (np.abs(randn(T, N, H)) + 0.2, np.abs(randn(N, H)), 0.3 * np.abs(randn(H, H))),
            torch_fn=_torch_rnn(lambda m, a: m.relu(a)),
            desc="relu",
        ),
    ],
}
