"""nerve.quantization: int8 weights with per-channel scales, calibrated input ranges."""

import numpy as np
import pytest

import nerve
from nerve import layers, models, nn
from nerve.quantization import (
    QuantizedConv2D,
    QuantizedConv2d,
    QuantizedDense,
    QuantizedLinear,
    activation_grid,
    quantize,
    quantize_weight,
    state_nbytes,
)


def _rand(*shape):
    return np.random.randn(*shape).astype(np.float32)


def _run(model, x):
    model.eval()
    return model(nerve.Tensor(x))._data


def test_quantize_weight_per_channel_and_per_tensor():
    w = _rand(4, 6) * np.array([[0.01], [1.0], [10.0], [0.0]], np.float32)
    q, scale = quantize_weight(w, axis=0)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (4,)
    assert np.abs(q).max() <= 127
    np.testing.assert_allclose(scale[:3], np.abs(w[:3]).max(1) / 127, rtol=1e-6)
    assert scale[3] == 1.0 and not q[3].any()  # an all-zero channel
    err = np.abs(q * scale[:, None] - w)
    assert (err <= scale[:, None] / 2 + 1e-7).all()  # rounding error within half a step
    # one scale for the whole tensor loses the small channel entirely
    q1, s1 = quantize_weight(w, axis=None)
    assert s1.shape == (1,) and not q1[0].any()
    q7, s7 = quantize_weight(w, axis=0, reduce_range=True)  # 7 bits, for onnxruntime on AVX2
    assert np.abs(q7).max() == 63
    np.testing.assert_allclose(s7[:3], scale[:3] * 127 / 63, rtol=1e-6)
    # Keras kernels keep the output channels last
    k = _rand(3, 3, 2, 5)
    qk, sk = quantize_weight(k, axis=-1)
    np.testing.assert_allclose(sk, np.abs(k).reshape(-1, 5).max(0) / 127, rtol=1e-6)


def test_activation_grid_holds_zero_exactly():
    for lo, hi in [(-1.0, 3.0), (0.5, 2.0), (-4.0, -1.0), (0.0, 0.0)]:
        scale, zp = activation_grid(lo, hi)
        assert -128 <= zp <= 127
        assert scale > 0
        low, high = min(lo, 0.0), max(hi, 0.0)
        if high > low:
            assert abs(scale * 255 - (high - low)) < 1e-9
            assert abs((-128 - zp) * scale - low) <= scale / 2 + 1e-9


def test_mlp_close_to_float_and_about_4x_smaller():
    net = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10))
    calibration = _rand(256, 128)
    qnet = quantize(net, calibration)
    assert isinstance(qnet[0], QuantizedLinear) and isinstance(qnet[2], QuantizedLinear)
    assert isinstance(net[0], nn.Linear) and not isinstance(net[0], QuantizedLinear)
    state = qnet.state_dict()
    assert state["0.weight_int8"].dtype == np.int8 and "0.weight" not in state
    assert state["0.weight_scale"].shape == (256,)
    ratio = state_nbytes(net) / state_nbytes(qnet)
    assert 3.7 < ratio < 4.0, ratio
    x = _rand(64, 128)
    want, got = _run(net, x), _run(qnet, x)
    assert np.abs(got - want).max() < 0.03 * np.abs(want).max()
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.95
    # the float model is untouched
    np.testing.assert_array_equal(_run(net, x), want)


def test_inputs_are_rounded_to_the_calibrated_grid():
    layer = nn.Linear(1, 1, bias=False)
    layer.weight._data[...] = 1.0
    q = quantize(nn.Sequential(layer), np.array([[-1.0], [1.0]], np.float32))[0]
    scale = float(q.input_scale._data)
    assert scale == pytest.approx(2 / 255)
    x = np.array([[0.3], [5.0], [-5.0]], np.float32)
    y = q(nerve.Tensor(x))._data[:, 0]
    assert abs(y[0] - 0.3) <= scale / 2 + 1e-6  # rounded
    zp = int(q.input_zero_point._data)
    assert y[1] == pytest.approx((127 - zp) * scale)  # clipped to the calibrated range
    assert y[2] == pytest.approx((-128 - zp) * scale)


def test_cnn_per_tensor_and_state_dict_round_trip():
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 5),
    )  # fmt: skip
    calibration = [_rand(16, 1, 8, 8) for _ in range(3)]
    qnet = quantize(net, calibration, per_channel=False)
    assert isinstance(qnet[0], QuantizedConv2d)
    assert qnet[0].weight_scale.shape == (1,)
    x = calibration[1][:8]  # inside the calibrated range (outside, inputs are clipped)
    want, got = _run(net, x), _run(qnet, x)
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
    other = quantize(net, calibration[:1], per_channel=False)
    other.load_state_dict(qnet.state_dict())
    np.testing.assert_array_equal(_run(other, x), got)


def test_keras_models():
    model = models.Sequential([
        layers.Input((8, 8, 2)), layers.Conv2D(6, 3, activation="relu"),
        layers.Flatten(), layers.Dense(4),
    ])  # fmt: skip
    x = _rand(32, 8, 8, 2)
    qmodel = quantize(model, x)
    assert [type(layer) for layer in qmodel.layers][::2] == [QuantizedConv2D, QuantizedDense]
    assert qmodel.layers[0].weight_scale.shape == (6,)
    assert "kernel" not in dict(qmodel.layers[0].named_parameters())
    model.eval()
    want, got = model(x)._data, qmodel(x)._data
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()

    inp = layers.Input((5,))
    functional = models.Model(inp, layers.Dense(3)(layers.Dense(7, activation="relu")(inp)))
    qf = quantize(functional, _rand(20, 5))
    y = _rand(4, 5)
    functional.eval()
    np.testing.assert_allclose(qf(y)._data, functional(y)._data, atol=0.05)


def test_errors():
    with pytest.raises(ValueError, match="no layer to quantize"):
        quantize(nn.Sequential(nn.ReLU()), _rand(4, 3))
    with pytest.raises(ValueError, match="no batches"):
        quantize(nn.Linear(3, 2), [])
    with pytest.raises(ValueError, match=r"not \(x, y\) pairs"):
        quantize(nn.Linear(3, 2), [(_rand(4, 3), np.zeros(4))])
    with pytest.raises(TypeError, match="nn.Module"):
        quantize(lambda x: x, _rand(4, 3))


def test_a_quantized_keras_model_saves_4x_smaller_and_loads_back(tmp_path):
    import nerve
    from nerve import layers, models
    from nerve.quantization import quantize

    nerve.utils.set_random_seed(0)
    model = models.Sequential([
        layers.Input((12, 12, 1)),
        layers.Conv2D(16, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ])  # fmt: skip
    x = np.random.default_rng(0).random((64, 12, 12, 1), dtype=np.float32)
    quantized = quantize(model, x)
    model.save(tmp_path / "float.nerve")
    quantized.save(tmp_path / "int8.nerve")
    ratio = (tmp_path / "float.nerve").stat().st_size / (tmp_path / "int8.nerve").stat().st_size
    assert 3.5 < ratio < 4.1  # int8 weights; float32 biases and scales stay
    loaded = nerve.load_model(tmp_path / "int8.nerve")
    names = [type(layer).__name__ for layer in loaded.layers]
    assert names == ["QuantizedConv2D", "Flatten", "QuantizedDense", "QuantizedDense"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), quantized.predict(x, verbose=0))
