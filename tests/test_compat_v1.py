"""nerve.compat.v1: TensorFlow 1 graph-and-session programs with their imports changed.

The seed tutorial's program (its lines as written, `import nerve.compat.v1 as tf`) trains on
Fashion-MNIST; the graph gives the eager nerve code's loss and gradients; the optimizers follow
TensorFlow 1's formulas; errors name the node.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

import nerve
import nerve.compat.v1 as tf
import nerve.nn.functional as F

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


@pytest.fixture(scope="module")
def mnist():
    from nerve.compat.v1.examples.tutorials.mnist import input_data

    try:
        return input_data.read_data_sets(FASHION_DIR, one_hot=True, seed=0)
    except OSError:
        try:
            return input_data.read_data_sets(None, one_hot=True, dataset="fashion_mnist", seed=0)
        except OSError as exc:
            pytest.skip(f"Fashion-MNIST is not available: {exc}")


# ------------------------------------------------------------------------------- the seed
def _seed_program(mnist, stddev=None, steps=200):
    """The seed's TF1 code (imports changed); stddev=None keeps its N(0, 1) init."""

    def init(shape):
        return tf.random_normal(shape) if stddev is None else tf.random_normal(shape, stddev=stddev)

    x = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])
    w1 = tf.Variable(init([784, 500]))
    b1 = tf.Variable(tf.zeros([500]))
    hidden1 = tf.nn.sigmoid(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(init([500, 10]))
    b2 = tf.Variable(tf.zeros([10]))
    y_pred = tf.nn.softmax(tf.matmul(hidden1, w2) + b2)
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y * tf.log(y_pred), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    correct = tf.equal(tf.argmax(y_pred, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    # the share of hidden units whose sigmoid is flat (|pre-activation| > 5: slope < 0.007)
    saturated = tf.reduce_mean(tf.cast(tf.abs(tf.matmul(x, w1) + b1) > 5.0, tf.float32))
    test = {x: mnist.test.images[:2000], y: mnist.test.labels[:2000]}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sat = sess.run(saturated, feed_dict=test)
        for _ in range(steps):
            batch_x, batch_y = mnist.train.next_batch(100)
            sess.run(train_step, feed_dict={x: batch_x, y: batch_y})
        acc = sess.run(accuracy, feed_dict=test)
        loss = sess.run(cross_entropy, feed_dict=test)
    return float(sat), float(acc), float(loss)


def test_seed_program_learns_with_a_sane_init(mnist):
    sat, acc, loss = _seed_program(mnist, stddev=0.05, steps=150)
    assert sat < 0.05
    assert acc > 0.65, acc  # chance is 0.1
    assert loss < 1.0


def test_seed_program_n01_init_saturates_the_sigmoid(mnist):
    with np.errstate(all="ignore"):  # log(0) of a saturated softmax: -inf, then NaN
        sat, acc, loss = _seed_program(mnist, stddev=None, steps=60)
    assert sat > 0.5, sat  # most hidden units start flat
    assert acc < 0.4 or math.isnan(loss), (acc, loss)


# ------------------------------------------------------------------------------- eager parity
def test_graph_loss_and_gradients_equal_eager_nerve():
    rng = np.random.default_rng(1)
    xs = rng.random((8, 6), dtype=np.float32)
    ys = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    w1v = rng.standard_normal((6, 5)).astype(np.float32) * 0.5
    w2v = rng.standard_normal((5, 3)).astype(np.float32) * 0.5

    x = tf.placeholder(tf.float32, [None, 6])
    y = tf.placeholder(tf.float32, [None, 3])
    w1 = tf.Variable(w1v)
    b1 = tf.Variable(tf.zeros([5]))
    w2 = tf.Variable(w2v)
    h = tf.nn.sigmoid(tf.matmul(x, w1) + b1)
    y_pred = tf.nn.softmax(tf.matmul(h, w2))
    loss = tf.reduce_mean(-tf.reduce_sum(y * tf.log(y_pred), reduction_indices=[1]))
    grads = tf.gradients(loss, [w1, b1, w2])
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_loss, got_grads = sess.run([loss, grads], feed_dict={x: xs, y: ys})
        sess.run(step, feed_dict={x: xs, y: ys})
        after = sess.run([w1, b1, w2])

    W1 = nerve.tensor(w1v, requires_grad=True)
    B1 = nerve.zeros(5, requires_grad=True)
    W2 = nerve.tensor(w2v, requires_grad=True)
    p = nerve.softmax(nerve.sigmoid(nerve.tensor(xs) @ W1 + B1) @ W2, dim=-1)
    ref = (-(nerve.tensor(ys) * p.log()).sum(dim=1)).mean()
    ref.backward()
    assert got_loss.dtype == np.float32
    np.testing.assert_allclose(got_loss, ref.item(), rtol=1e-6)
    for g, t in zip(got_grads, (W1, B1, W2)):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-5, atol=1e-7)
    for a, t in zip(after, (W1, B1, W2)):
        np.testing.assert_allclose(a, t.detach().numpy() - 0.1 * t.grad.numpy(), rtol=1e-6)


def test_gradients_with_respect_to_placeholders_and_intermediate_nodes():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.name_scope("layer1"):
        w = tf.Variable(tf.ones([3, 2]), name="w")
        h = tf.matmul(x, w)
    assert (w.name, h.name) == ("layer1/w:0", "layer1/MatMul:0")
    y = tf.math.reduce_sum(tf.square(h))
    gx, gh, gw, none = tf.gradients(y, [x, h, w, tf.Variable(1.0)])
    assert none is None  # not connected to y
    xv = np.arange(6, dtype=np.float32).reshape(2, 3)
    hv = xv @ np.ones((3, 2), np.float32)
    sess = tf.InteractiveSession()  # the default session until closed
    try:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(gh.eval({x: xv}), 2 * hv)
        np.testing.assert_allclose(gx.eval({x: xv}), 2 * hv @ np.ones((2, 3)))
        np.testing.assert_allclose(gw.eval({x: xv}), xv.T @ (2 * hv))
    finally:
        sess.close()
    assert tf.get_default_session() is None


def test_cross_entropy_losses_match_nerve_functional():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 4)).astype(np.float32)
    k = rng.integers(0, 4, 5)
    logits = tf.constant(z)
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=np.eye(4, dtype=np.float32)[k], logits=logits
    )
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=k.astype(np.int32), logits=logits
    )
    sig = tf.nn.sigmoid_cross_entropy_with_logits(labels=np.ones((5, 4), np.float32), logits=logits)
    with tf.Session() as sess:
        a, b, c = sess.run([v2, sparse, sig])
    ref = F.cross_entropy(nerve.tensor(z), nerve.tensor(k), reduction="none").numpy()
    np.testing.assert_allclose(a, ref, rtol=1e-5)
    np.testing.assert_allclose(b, ref, rtol=1e-5)
    np.testing.assert_allclose(c, np.log1p(np.exp(-z)), rtol=1e-5)
    assert v2.shape.as_list() == [5] and sparse.shape.as_list() == [5]
    # v2 lets gradients into the labels (d/dlabels = -log_softmax); v1 stops them
    labels = tf.constant(np.eye(4, dtype=np.float32)[k])
    (g2,) = tf.gradients(
        tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=z), labels
    )
    v1 = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z)
    (g1,) = tf.gradients(v1, labels)
    with tf.Session() as sess:
        got2, got1 = sess.run([g2, g1])
    np.testing.assert_allclose(got2, -F.log_softmax(nerve.tensor(z), dim=-1).numpy(), rtol=1e-5)
    np.testing.assert_array_equal(got1, np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match="named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(labels, z)


def _reference_window_op(x, k, s, padding, reduce):
    # TensorFlow's SAME: ceil(size / s) outputs, the odd pixel of padding at the bottom/right
    n, h, w, _ = x.shape
    if padding == "SAME":
        th = max((math.ceil(h / s) - 1) * s + k[0] - h, 0)
        tw = max((math.ceil(w / s) - 1) * s + k[1] - w, 0)
        pads = ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0))
        x = np.pad(x, pads, constant_values=np.nan)
    rows = range(0, x.shape[1] - k[0] + 1, s)
    cols = range(0, x.shape[2] - k[1] + 1, s)
    return np.stack(
        [np.stack([reduce(x[:, i : i + k[0], j : j + k[1], :]) for j in cols], 1) for i in rows],
        1,
    )


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_and_pooling_follow_tf_nhwc_and_same_padding(padding, stride):
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((2, 7, 6, 3))
    wv = rng.standard_normal((3, 2, 3, 4))
    x, w = tf.constant(xv), tf.constant(wv)  # float64, to check gradients numerically
    strides = [1, stride, stride, 1]
    conv = tf.nn.conv2d(x, w, strides=strides, padding=padding)
    maxp = tf.nn.max_pool(x, ksize=[1, 3, 3, 1], strides=strides, padding=padding)
    avgp = tf.nn.avg_pool(x, ksize=[1, 3, 3, 1], strides=strides, padding=padding)
    loss = tf.reduce_sum(tf.square(conv))
    (gw,) = tf.gradients(loss, [w])
    with tf.Session() as sess:
        c, m, a, g = sess.run([conv, maxp, avgp, gw])

        def conv_ref(p):
            return np.tensordot(np.nan_to_num(p), wv, axes=([1, 2, 3], [0, 1, 2]))

        np.testing.assert_allclose(c, _reference_window_op(xv, (3, 2), stride, padding, conv_ref))
        for got, fn in ((m, np.nanmax), (a, np.nanmean)):
            ref = _reference_window_op(xv, (3, 3), stride, padding, lambda p, f=fn: f(p, (1, 2)))
            np.testing.assert_allclose(got, ref, rtol=1e-12)
        assert conv.shape.as_list() == list(c.shape) and maxp.shape.as_list() == list(m.shape)
        # the filter gradient, against central differences
        e = np.zeros_like(wv)
        e[1, 0, 2, 3] = 1e-6
        plus = (
            (
                _reference_window_op(
                    xv,
                    (3, 2),
                    stride,
                    padding,
                    lambda p: np.tensordot(np.nan_to_num(p), wv + e, axes=([1, 2, 3], [0, 1, 2])),
                )
            )
            ** 2
        ).sum()
        minus = (
            (
                _reference_window_op(
                    xv,
                    (3, 2),
                    stride,
                    padding,
                    lambda p: np.tensordot(np.nan_to_num(p), wv - e, axes=([1, 2, 3], [0, 1, 2])),
                )
            )
            ** 2
        ).sum()
        np.testing.assert_allclose(g[1, 0, 2, 3], (plus - minus) / 2e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="3 channels but filter"):
        tf.nn.conv2d(x, tf.zeros([3, 3, 4, 8], tf.float64), [1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="padding must be"):
        tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "FULL")


# ------------------------------------------------------------------------------- optimizers
def _trajectory(optimizer, steps=4):
    w0 = np.array([1.0, -2.0, 0.5], np.float32)
    target = np.array([0.3, 0.1, -0.2], np.float32)
    w = tf.Variable(w0)
    loss = tf.reduce_sum(tf.square(w - target)) * 0.5  # gradient: w - target
    step = optimizer.minimize(loss)
    out = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(step)
            out.append(sess.run(w))
    return w0, target, out


def test_adam_follows_tf1_formula_with_epsilon_hat():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = tf.train.AdamOptimizer(lr)
    assert (opt._hyper["beta1"], opt._hyper["beta2"], opt._hyper["epsilon"]) == (b1, b2, eps)
    assert tf.train.AdamOptimizer()._lr == 0.001
    w, target, got = _trajectory(opt)
    m = np.zeros(3)
    v = np.zeros(3)
    w = w.astype(np.float64)
    for t, g_w in enumerate(got, start=1):
        g = w - target
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - lr_t * m / (np.sqrt(v) + eps)
        assert g_w.dtype == np.float32
        np.testing.assert_allclose(g_w, w, rtol=1e-5)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_follows_tf1_formula(nesterov):
    lr, mu = 0.1, 0.9
    w, target, got = _trajectory(tf.train.MomentumOptimizer(lr, mu, use_nesterov=nesterov))
    accum = np.zeros(3)
    w = w.astype(np.float64)
    for g_w in got:
        g = w - target
        accum = mu * accum + g
        w = w - lr * (g + mu * accum if nesterov else accum)
        np.testing.assert_allclose(g_w, w, rtol=1e-5)


def test_rmsprop_and_adagrad_follow_tf1_formulas():
    w, target, got = _trajectory(tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5))
    ms, mom = np.ones(3), np.zeros(3)
    w = w.astype(np.float64)
    for g_w in got:
        g = w - target
        ms = 0.9 * ms + 0.1 * g * g
        mom = 0.5 * mom + 0.01 * g / np.sqrt(ms + 1e-10)
        w = w - mom
        np.testing.assert_allclose(g_w, w, rtol=1e-5)
    tf.reset_default_graph()
    w, target, got = _trajectory(tf.train.AdagradOptimizer(0.1))
    acc = np.full(3, 0.1)
    w = w.astype(np.float64)
    for g_w in got:
        g = w - target
        acc = acc + g * g
        w = w - 0.1 * g / np.sqrt(acc)
        np.testing.assert_allclose(g_w, w, rtol=1e-5)


def test_initializer_resets_optimizer_slots_and_global_step_counts():
    w = tf.Variable([1.0, 2.0])
    step_var = tf.train.get_or_create_global_step()
    loss = tf.reduce_sum(w * w)
    train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss, global_step=step_var)
    init = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init)
        first = [sess.run([train, w])[1] for _ in range(3)]
        assert sess.run(step_var) == 3
        sess.run(init)
        again = [sess.run([train, w])[1] for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[0], [1.0, 2.0])  # fetched alongside: before the update


def test_exponential_decay_learning_rate_node():
    gs = tf.Variable(0, trainable=False, dtype=tf.int64)
    lr = tf.train.exponential_decay(0.1, gs, decay_steps=2, decay_rate=0.5, staircase=True)
    w = tf.Variable([1.0])
    train = tf.train.GradientDescentOptimizer(lr).minimize(tf.reduce_sum(w), global_step=gs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        lrs = []
        for _ in range(4):
            lrs.append(sess.run(lr))
            sess.run(train)
        np.testing.assert_allclose(lrs, [0.1, 0.1, 0.05, 0.05], rtol=1e-6)
        np.testing.assert_allclose(sess.run(w), [1.0 - 0.3], rtol=1e-6)


# ------------------------------------------------------------------------------- relu + adam
def test_two_layer_relu_with_adam_and_dropout_learns(mnist):
    x = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])
    keep_prob = tf.placeholder(tf.float32)
    h = tf.nn.relu(tf.matmul(x, tf.Variable(tf.truncated_normal([784, 128], stddev=0.1))))
    h = tf.nn.dropout(h, keep_prob)
    logits = tf.layers.dense(h, 10)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    train = tf.train.AdamOptimizer().minimize(loss)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1)), tf.float32))
    assert [v.op_name for v in tf.trainable_variables()][-2:] == ["dense/kernel", "dense/bias"]
    test = {x: mnist.test.images[:2000], y: mnist.test.labels[:2000], keep_prob: 1.0}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(loss, feed_dict=test)
        for _ in range(150):
            bx, by = mnist.train.next_batch(100)
            sess.run(train, feed_dict={x: bx, y: by, keep_prob: 0.5})
        acc, after = sess.run([accuracy, loss], feed_dict=test)
        print(f"relu+adam+dropout: loss {before:.3f} -> {after:.3f}, accuracy {acc:.3f}")
        # keep_prob 0.5 is really applied: two runs on one batch differ, and keep 1.0 repeats
        a, b = (sess.run(h, feed_dict={x: bx[:4], keep_prob: 0.5}) for _ in range(2))
        c, d = (sess.run(h, feed_dict={x: bx[:4], keep_prob: 1.0}) for _ in range(2))
    assert after < before - 0.8, (before, after)
    assert acc > 0.72, acc
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(c, d)


def test_dropout_v1_semantics():
    x = tf.ones([2000])
    kept = tf.nn.dropout(x, keep_prob=0.25)
    by_rate = tf.nn.dropout(x, rate=0.75)
    with tf.Session() as sess:
        a, b = sess.run([kept, by_rate])
    for v in (a, b):
        assert set(np.unique(v)) <= {0.0, 4.0}
        assert 0.18 < (v > 0).mean() < 0.32
    with pytest.raises(ValueError, match="not both"):
        tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(ValueError, match="keep_prob"):
        tf.nn.dropout(x)
    with pytest.raises(ValueError, match="keep_prob must be in"):
        tf.nn.dropout(x, keep_prob=0.0)
    assert tf.layers.dropout(x, rate=0.5) is not None  # training=False: identity


# ------------------------------------------------------------------------------- sessions
def test_run_fetch_structures_and_feeding_any_tensor():
    a = tf.placeholder(tf.float32, [2], name="a")
    b = a * 2.0
    c = b + 1.0
    with tf.Session() as sess:
        feed = {a: [1.0, 2.0]}
        assert sess.run([b, (c,)], feed)[1][0].tolist() == [3.0, 5.0]
        out = sess.run({"b": b, "c": [c]}, feed)
        assert out["b"].tolist() == [2.0, 4.0] and out["c"][0].tolist() == [3.0, 5.0]
        assert sess.run(c, {b: [10.0, 20.0]}).tolist() == [11.0, 21.0]  # fed midway
        assert sess.run("a:0", {"a:0": [4.0, 5.0]}).tolist() == [4.0, 5.0]
        s = sess.run(tf.reduce_sum(a), feed)
        assert isinstance(s, np.float32) and s == 3.0
        assert c.eval(feed_dict=feed).tolist() == [3.0, 5.0]  # the default session
    assert repr(a) == "<tf.Tensor 'a:0' shape=(2,) dtype=float32>"


def test_reductions_argmax_and_aliases_match_numpy():
    v = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.0
    t = tf.constant(v)
    cases = {
        tf.reduce_sum(t, reduction_indices=[1]): v.sum(1),
        tf.reduce_mean(t, axis=[0, 2], keep_dims=True): v.mean((0, 2), keepdims=True),
        tf.reduce_max(t, 2, keepdims=True): v.max(2, keepdims=True),
        tf.reduce_min(t): v.min(),
        tf.reduce_prod(t[:, :2, :2] + 8.0, axis=-1): (v[:, :2, :2] + 8.0).prod(-1),
        tf.argmax(t): v.argmax(0),  # TF1's default axis is 0
        tf.argmax(t, dimension=2): v.argmax(2),
        tf.reshape(t, [-1, 4]): v.reshape(-1, 4),
        tf.transpose(t, [2, 0, 1]): v.transpose(2, 0, 1),
        tf.concat([t, t], 1): np.concatenate([v, v], 1),
        tf.expand_dims(t, 0): v[None],
        tf.maximum(t, 0.0): np.maximum(v, 0.0),
        tf.where(t > 0.0, t, -t): np.abs(v),
        tf.reduce_any(t > 15.0, keepdims=True): np.array([[[True]]]),
        tf.reduce_all(t > -8.0, axis=[0, 2]): np.array([True, True, True]),
        tf.reduce_logsumexp(t, 1): np.log(np.exp(v).sum(1)),
        tf.squeeze(tf.expand_dims(t, 1), [1]): v,
        tf.stack([t, t], axis=1): np.stack([v, v], 1),
        tf.clip_by_value(t, -1.0, 2.0): np.clip(v, -1.0, 2.0),
    }
    with tf.Session() as sess:
        got = sess.run(list(cases))
    for (node, ref), g in zip(cases.items(), got):
        assert node.shape.as_list() == list(np.shape(ref)), node
        np.testing.assert_allclose(g, ref, rtol=1e-6, err_msg=node.name)
    assert tf.argmax(t).dtype == tf.int64
    with pytest.raises(ValueError, match="not both"):
        tf.reduce_sum(t, axis=0, reduction_indices=0)


def test_static_shapes_and_layers():
    x = tf.placeholder(tf.float32, [None, 784])
    assert str(x.shape) == "(?, 784)" and x.get_shape().as_list() == [None, 784]
    h = tf.matmul(x, tf.Variable(tf.zeros([784, 30])))
    assert h.shape.as_list() == [None, 30]
    assert tf.reshape(x, [-1, 28, 28, 1]).shape.as_list() == [None, 28, 28, 1]
    assert tf.layers.flatten(tf.reshape(x, [-1, 28, 28, 1])).shape.as_list() == [None, 784]
    assert x[:, :10].shape.as_list() == [None, 10]
    assert tf.reduce_mean(h, 1).shape.as_list() == [None]
    out = tf.layers.dense(h, 7, activation=tf.nn.relu)
    assert out.shape.as_list() == [None, 7]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out, {x: np.ones((3, 784))}).shape == (3, 7)


def test_assign_and_variable_semantics():
    v = tf.Variable(3.0, name="counter")
    assert v.dtype == tf.float32 and v.shape.as_list() == []
    inc = tf.assign_add(v, 1.0)
    with tf.Session() as s1, tf.Session() as s2:
        s1.run(tf.global_variables_initializer())
        s2.run(v.initializer)
        assert s1.run(inc) == 4.0 and s1.run(inc) == 5.0
        assert s2.run(v) == 3.0  # each session holds its own values
        s2.run(v.assign(10.0))
        assert s2.run(v) == 10.0
    with pytest.raises(ValueError, match="counter"):
        tf.assign(v, [1.0, 2.0])


def test_saver_round_trip_and_latest_checkpoint(tmp_path):
    w = tf.Variable(tf.random_normal([3, 2]), name="w")
    step = tf.Variable(0, trainable=False, name="step")
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saved = sess.run(w)
        for i in range(3):
            sess.run(tf.assign(step, i))
            prefix = saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert prefix.endswith("model-2") and tf.train.latest_checkpoint(str(tmp_path)) == prefix
    assert not (tmp_path / "model-0.safetensors").exists()  # max_to_keep=2
    with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
        np.testing.assert_array_equal(sess.run(w), saved)
        assert sess.run(step) == 2
    tf.reset_default_graph()
    tf.Variable(tf.zeros([3, 2]), name="other")
    with tf.Session() as sess, pytest.raises(tf.errors.NotFoundError, match="Key other"):
        tf.train.Saver().restore(sess, prefix)


def test_get_variable_and_variable_scope():
    with tf.variable_scope("layer"):
        w = tf.get_variable("w", [3, 2])
    assert w.op_name == "layer/w"
    with pytest.raises(ValueError, match="already exists"), tf.variable_scope("layer"):
        tf.get_variable("w", [3, 2])
    with tf.variable_scope("layer", reuse=True):
        assert tf.get_variable("w") is w
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        value = sess.run(w)
    limit = math.sqrt(6.0 / 5.0)
    assert value.shape == (3, 2) and np.abs(value).max() <= limit


# ------------------------------------------------------------------------------- errors
def test_error_feeding_a_wrong_shape_names_the_placeholder():
    x = tf.placeholder(tf.float32, [None, 784], name="images")
    y = x * 2.0
    shape_error = r"shape \(5, 785\).*'images:0'.*\(\?, 784\)"
    with tf.Session() as sess, pytest.raises(ValueError, match=shape_error):
        sess.run(y, feed_dict={x: np.zeros((5, 785))})


def test_error_feeding_a_wrong_dtype_names_the_placeholder():
    k = tf.placeholder(tf.int32, [None], name="labels")
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="float64.*'labels:0'.*int32"):
            sess.run(k, feed_dict={k: np.array([0.5, 1.5])})
        assert sess.run(k, feed_dict={k: [1, 2]}).dtype == np.int32


def test_error_placeholder_not_fed_names_it():
    x = tf.placeholder(tf.float32, [None, 3], name="inputs")
    loss = tf.reduce_sum(x * 2.0)
    with (
        tf.Session() as sess,
        pytest.raises(tf.errors.InvalidArgumentError, match="'inputs' with dtype float32") as e,
    ):
        sess.run(loss)
    assert e.value.node is x


def test_error_uninitialized_variable_names_it():
    w = tf.Variable(tf.zeros([2]), name="weights")
    error = tf.errors.FailedPreconditionError
    with tf.Session() as sess, pytest.raises(error, match="uninitialized value weights"):
        sess.run(w * 2.0)


def test_error_fetching_a_non_node():
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="Fetch argument 3 has invalid type"):
            sess.run(3)
        with pytest.raises(TypeError, match="Fetch argument"):
            sess.run([tf.constant(1.0), np.ones(2)])
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(tf.constant(1.0))


def test_errors_at_build_time_name_the_op():
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    with pytest.raises(ValueError, match="784 and 785"):
        tf.matmul(x, tf.zeros([785, 10]))
    with pytest.raises(TypeError, match="int32.*tf.cast"):
        _ = x + tf.constant(1)
    with pytest.raises(TypeError, match="Python bool"):
        bool(x)
    with pytest.raises(ValueError, match="No variables to optimize"):
        tf.train.AdamOptimizer().minimize(tf.reduce_sum(x))
    unused = tf.Variable(1.0, name="unused")
    with pytest.raises(ValueError, match=r"No gradients provided.*\['unused'\]"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(x), var_list=[unused])


def test_run_time_op_failure_names_the_node():
    a = tf.placeholder(tf.float32, [None, 3])
    b = tf.placeholder(tf.float32, [None, 3])
    s = tf.add(a, b, name="mysum")
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="mysum"):
        sess.run(s, {a: np.ones((2, 3)), b: np.ones((4, 3))})


def test_random_ops_draw_each_run_and_follow_the_seed():
    tf.set_random_seed(5)
    r = tf.random.normal([1000], mean=2.0, stddev=0.5)
    t = tf.truncated_normal([1000], stddev=0.5)
    u = tf.random_uniform([1000], minval=-1.0, maxval=3.0)
    with tf.Session() as sess:
        a, b = sess.run(r), sess.run(r)
        tv, uv = sess.run([t, u])
    assert not np.array_equal(a, b) and a.dtype == np.float32
    assert abs(a.mean() - 2.0) < 0.1 and abs(a.std() - 0.5) < 0.05
    assert np.abs(tv).max() <= 1.0  # redrawn beyond 2 stddev
    assert uv.min() >= -1.0 and uv.max() < 3.0
    tf.set_random_seed(5)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(r), a)
    seeded = tf.random_normal([3], seed=7)
    with tf.Session() as sess:
        first = sess.run(seeded)
    tf.reset_default_graph()
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.random_normal([3], seed=7)), first)


def test_v2_switches_are_no_ops_and_graphs_are_separate():
    tf.disable_v2_behavior()
    tf.disable_eager_execution()
    assert not tf.executing_eagerly()
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(2.0)
    d = tf.constant(3.0)
    with tf.Session(graph=g) as sess:
        assert sess.run(c) == 2.0
        with pytest.raises(ValueError, match="not an element of this graph"):
            sess.run(d)


# ------------------------------------------------------------------------------- data helper
def test_read_data_sets_and_next_batch_epochs(mnist):
    assert mnist.train.images.shape == (55000, 784) and mnist.train.images.dtype == np.float32
    assert mnist.validation.num_examples == 5000 and mnist.test.labels.shape == (10000, 10)
    assert mnist.test.images.min() >= 0.0 and mnist.test.images.max() <= 1.0
    from nerve.compat.v1.examples.tutorials.mnist import input_data

    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1)
    ds = input_data.DataSet(images, np.arange(10), dtype=np.uint8, seed=3)
    seen = [ds.next_batch(4)[1] for _ in range(2)]
    crossing, labels = ds.next_batch(4)  # 2 left in epoch 1, then 2 from epoch 2
    assert ds.epochs_completed == 1
    epoch1 = np.concatenate(seen + [labels[:2]])
    assert sorted(epoch1.tolist()) == list(range(10))
    np.testing.assert_array_equal(crossing.ravel(), labels)  # images follow their labels
    with pytest.raises(ValueError, match="batch_size"):
        ds.next_batch(11)


def test_read_data_sets_falls_back_to_fashion_mnist(monkeypatch, tmp_path):
    from nerve.compat.v1.examples.tutorials.mnist import input_data
    from nerve.datasets import fashion_mnist, mnist

    def missing(path=None):
        raise OSError("mnist.load_data: offline")

    monkeypatch.setattr(mnist, "load_data", missing)
    fake = ((np.zeros((6000, 28, 28), np.uint8), np.zeros(6000, np.uint8)),) * 2
    monkeypatch.setattr(fashion_mnist, "load_data", lambda path=None: fake)
    with pytest.warns(UserWarning, match="using Fashion-MNIST"):
        data = input_data.read_data_sets(str(tmp_path), one_hot=False)
    assert data.train.num_examples == 1000 and data.train.labels.dtype == np.uint8
    with pytest.raises(OSError, match="offline"):
        input_data.read_data_sets(str(tmp_path), dataset="mnist")
    assert os.path.isdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tf.read_data_sets(None, dataset="fashion_mnist").test.num_examples == 6000
