"""nerve.keras.ops in models: ops on symbolic tensors (keras.Input) build functional graphs that
run and train like Keras's, and ops on Variables train a hand-written loop."""

import numpy as np
import pytest

import nerve
from keras_ops_data import A
from nerve.keras import ops as nops


def _functional(k):
    # the same source text for both frameworks: ops on symbolic tensors in a functional model
    x = k.Input((4,))
    dense = k.layers.Dense(3)
    a = dense(x)
    total = k.ops.expand_dims(k.ops.sum(x, axis=-1), -1)
    both = k.ops.concatenate([a, total], axis=-1)
    out = k.ops.softmax(k.ops.multiply(both, 2.0))
    return k.Model(x, out), dense, k.ops.shape(both)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # Keras's own
def test_ops_on_symbolic_tensors_build_functional_models(keras):
    from nerve import keras as nkeras

    ref_model, ref_dense, ref_shape = _functional(keras)
    model, dense, shape = _functional(nkeras)
    assert tuple(shape) == tuple(ref_shape) == (None, 4)
    dense.set_weights([np.asarray(w) for w in ref_dense.get_weights()])
    data = np.random.default_rng(3).random((5, 4)).astype(np.float32)
    want = keras.ops.convert_to_numpy(ref_model(data))
    np.testing.assert_allclose(nops.convert_to_numpy(model(data)), want, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = dense.get_weights()[0].copy()
    model.fit(data, np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]], epochs=1, verbose=0)
    assert not np.allclose(dense.get_weights()[0], before)  # gradients flow through the ops
    op_layer = model.layers[-1]
    with pytest.raises(NotImplementedError, match="softmax_op.*cannot be saved as a config"):
        op_layer.get_config()


def test_variables_and_a_training_step_through_ops():
    from nerve.variables import Variable

    w = Variable(np.zeros((4, 3), np.float32), name="w")
    x = nerve.tensor(A)
    labels = np.array([0, 2, 1])
    for _ in range(20):
        logits = nops.matmul(x, w)
        loss = nops.mean(nops.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        w.grad = None
        loss.backward()
        w.assign_sub(0.5 * w.grad._data)
    assert float(loss) < 0.5
    np.testing.assert_array_equal(nops.argmax(nops.matmul(x, w), axis=-1)._data, labels)
