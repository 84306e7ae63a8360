"""The training doctor (nerve.callbacks.doctor, nerve.data.checks): each planted fault on real
Fashion-MNIST data is diagnosed, and a healthy model gets no findings."""

import json

import numpy as np
import pytest

import nerve
from nerve import keras, nn, optim
from nerve.callbacks.doctor import Doctor, diagnose_step, format_findings
from nerve.data.checks import check_data, check_inputs
from nerve.keras import layers


@pytest.fixture(scope="module")
def fmnist():
    from nerve.datasets import fashion_mnist

    try:
        (x, y), (xt, yt) = fashion_mnist.load_data()
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"Fashion-MNIST is not installed here: {exc}")
    return x[:3000], y[:3000], xt[:500], yt[:500]


def _mlp(hidden=128, **dense):
    return keras.Sequential(
        [
            layers.Input(shape=(28, 28)),
            layers.Flatten(),
            layers.Dense(hidden, activation="relu", **dense),
            layers.Dense(10, activation="softmax"),
        ]
    )


def _fit(model, x, y, val, optimizer="adam", epochs=3, **kw):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    doctor = Doctor(verbose=0, **kw)
    history = model.fit(
        x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[doctor], validation_data=val
    )
    assert history.diagnosis is doctor.diagnosis
    return history.diagnosis


def _checks(findings):
    return {f["check"] for f in findings}


def _scaled(fmnist, n=3000):
    x, y, xt, yt = fmnist
    return x[:n].astype("float32") / 255, y[:n], (xt.astype("float32") / 255, yt)


def test_healthy_mlp_has_no_findings(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist)
    assert _fit(_mlp(), x, y, val) == []


def test_healthy_cnn_has_no_findings(fmnist):
    from nerve.models.recipes import cnn

    nerve.utils.set_random_seed(0)
    x, y, (xv, yv) = _scaled(fmnist, 2000)
    found = _fit(cnn((28, 28, 1), 10), x[..., None], y, (xv[..., None], yv), epochs=2)
    assert found == []


def test_vanishing_gradients_in_a_deep_sigmoid_mlp(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist)
    init = keras.initializers.RandomNormal(0.0, 0.01)
    model = keras.Sequential(
        [layers.Input(shape=(28, 28)), layers.Flatten()]
        + [layers.Dense(64, activation="sigmoid", kernel_initializer=init) for _ in range(10)]
        + [layers.Dense(10, activation="softmax")]
    )
    found = _fit(model, x, y, val, optimizer=keras.optimizers.SGD(0.1))
    vanishing = [f for f in found if f["check"] == "vanishing_gradients"]
    assert len(vanishing) == 1
    first_dense = model.layers[1].name
    assert vanishing[0]["layer"] == first_dense
    assert (
        vanishing[0]["evidence"]["grad_norm"]
        < 1e-6 * vanishing[0]["evidence"]["last_layer_grad_norm"]
    )
    assert "Xavier" in vanishing[0]["message"]
    assert "loss_plateau" in _checks(found)


def test_divergence_with_learning_rate_10(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist)
    found = _fit(_mlp(), x, y, val, optimizer=keras.optimizers.SGD(10.0))
    assert _checks(found) & {"diverging_loss", "nan_loss"}
    assert any("lower the learning rate" in f["message"] for f in found)


def test_dead_relu_units_with_bias_minus_10(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist, 1000)
    model = _mlp(bias_initializer=keras.initializers.Constant(-10.0))
    found = _fit(model, x, y, val, epochs=2)
    dead = [f for f in found if f["check"] == "dead_relu"]
    assert [f["layer"] for f in dead] == [model.layers[1].name]
    assert dead[0]["evidence"]["dead_fraction"] > 0.9


def test_unscaled_inputs(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, xt, yt = fmnist
    found = _fit(_mlp(), x.astype("float32"), y, None, epochs=1)
    unscaled = [f for f in found if f["check"] == "unscaled_inputs"]
    assert len(unscaled) == 1
    assert unscaled[0]["evidence"]["max"] == 255.0 and "255" in unscaled[0]["remedy"]


def test_overfitting_big_mlp_on_500_samples(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist, 500)
    model = _mlp()
    assert model.count_params() > 100_000
    found = _fit(model, x, y, val, epochs=30)
    assert _checks(found) == {"overfitting"}
    assert "dropout" in found[0]["message"]


def test_report_json_and_printed_findings(fmnist, tmp_path, capsys):
    nerve.utils.set_random_seed(0)
    x, y, xt, yt = fmnist
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = tmp_path / "diagnosis.json"
    doctor = Doctor(path=path)
    model.fit(x[:256].astype("float32"), y[:256], epochs=2, verbose=0, callbacks=[doctor])
    report = json.loads(path.read_text())
    assert [f["check"] for f in report["findings"]] == ["unscaled_inputs"]
    assert report["epochs"] == [0, 1]
    dense = model.layers[1].name
    assert len(report["layers"][dense]["grad_norm"]) == 2
    assert len(report["layers"][dense]["dead_fraction"]) == 2
    assert report["activations"][dense] == "relu"
    out = capsys.readouterr().out
    assert "Doctor: 1 finding(s):" in out and "[unscaled_inputs]" in out


def test_whole_array_checks_through_the_callback(fmnist):
    x, y, val = _scaled(fmnist, 600)
    y = y.copy()
    y[:5] = 12  # labels beyond the 10 outputs
    doctor = Doctor(x=x, y=y, validation_data=(x[:100], y[:100]), verbose=0)
    model = _mlp()
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(x, np.eye(13, 10, dtype="float32")[y], epochs=1, verbose=0, callbacks=[doctor])
    assert {"labels_out_of_range", "train_validation_overlap"} <= _checks(doctor.diagnosis)


def test_check_data_units():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype("float32")
    y = np.arange(200) % 4
    assert check_data(x, y, (rng.normal(size=(50, 5)), y[:50]), num_outputs=4) == []
    x[:, 2] = 3.0
    found = check_data(x, y)
    assert _checks(found) == {"constant_features"} and found[0]["evidence"]["columns"] == [2]
    imbalanced = np.r_[np.zeros(190, int), np.ones(10, int)]
    found = check_data(rng.normal(size=(200, 3)), imbalanced)
    assert _checks(found) == {"label_imbalance"} and "class_weight" in found[0]["message"]
    found = check_data(rng.normal(size=(200, 3)), y, num_outputs=3)
    assert _checks(found) == {"labels_out_of_range"}
    found = check_data(rng.normal(size=(200, 3)), np.eye(4)[y], num_outputs=3)
    assert _checks(found) == {"labels_out_of_range"}
    xs = rng.normal(size=(200, 3))
    assert _checks(check_data(xs, y, (xs[:20], y[:20]))) == {"train_validation_overlap"}
    xs[0, 0] = np.nan
    assert _checks(check_inputs(xs)) == {"nonfinite_inputs"}
    assert _checks(check_inputs(rng.normal(size=(10, 3)) * 1000)) == {"unscaled_inputs"}
    with pytest.raises(ValueError, match="check_data: x holds 200 samples but y holds 3"):
        check_data(xs, y[:3])


def _torch_style_stack(depth=8, std=0.01):
    mods = []
    for _ in range(depth):
        lin = nn.Linear(32, 32)
        nn.init.normal_(lin.weight, 0.0, std)
        mods += [lin, nn.Sigmoid()]
    return nn.Sequential(*mods, nn.Linear(32, 3))


def test_hand_written_loop_and_diagnose_step():
    nerve.manual_seed(0)
    rng = np.random.default_rng(0)
    x = nerve.tensor(rng.normal(size=(64, 32)).astype("float32"))
    y = nerve.tensor(rng.integers(0, 3, 64))
    model = _torch_style_stack()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    doctor = Doctor(verbose=0).watch(model, epochs=2, steps=4)
    for epoch in range(2):
        for i in range(4):
            with doctor.batch(i):
                loss = loss_fn(model(x[16 * i : 16 * (i + 1)]), y[16 * i : 16 * (i + 1)])
                opt.zero_grad()
                loss.backward()
                opt.step()
                doctor.loss(loss)
        doctor.end_epoch(epoch, {"loss": float(loss.item())})
    found = doctor.finish()
    vanishing = [f for f in found if f["check"] == "vanishing_gradients"]
    assert vanishing and vanishing[0]["layer"] == "0"
    step = diagnose_step(model, loss)
    assert _checks(step) == {"vanishing_gradients"}
    healthy = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3))
    loss_fn(healthy(x), y).backward()
    assert diagnose_step(healthy) == []
    with pytest.raises(ValueError, match="diagnose_step: no parameter of Sequential"):
        diagnose_step(nn.Sequential(nn.Linear(2, 2)))


def test_bad_arguments_and_format():
    with pytest.raises(ValueError, match="Doctor: sample_batches must be >= 1, got 0"):
        Doctor(sample_batches=0)
    assert format_findings([]) == "Doctor: no findings."


def test_nerve_doctor_command_prints_and_draws(fmnist, tmp_path, capsys):
    import argparse

    from nerve.callbacks.doctor_report import add_doctor_parser, load_report

    pytest.importorskip("matplotlib")
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist, 600)
    model = _mlp(bias_initializer=keras.initializers.Constant(-10.0))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    doctor = Doctor(path=tmp_path / "diagnosis.json", verbose=0)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[doctor])
    parser = argparse.ArgumentParser(prog="nerve")
    add_doctor_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["doctor", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "[dead_relu]" in out
    for name in ("doctor_gradients.png", "doctor_dead_units.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert load_report(tmp_path / "diagnosis.json")["findings"] == doctor.diagnosis
    with pytest.raises(FileNotFoundError, match="no Doctor report at"):
        load_report(tmp_path / "missing")


def test_a_model_built_by_its_first_batch_is_watched(fmnist):
    nerve.utils.set_random_seed(0)
    x, y, val = _scaled(fmnist, 600)
    model = keras.Sequential(
        [
            layers.Flatten(),
            layers.Dense(
                64, activation="relu", bias_initializer=keras.initializers.Constant(-10.0)
            ),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert not model.built
    found = _fit(model, x, y, val, epochs=2)
    assert "dead_relu" in _checks(found)


def test_arrays_from_the_loop_do_not_replace_given_ones():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), np.arange(50) % 2
    doctor = Doctor()
    doctor.on_fit_data(x, y, (x[:10], y[:10]))
    assert doctor._x is x and doctor._val[0].shape == (10, 3)
    doctor.on_fit_data(x[:5], y[:5])
    assert len(doctor._x) == 5
    given = Doctor(x=x, y=y)
    given.on_fit_data(x[:5], y[:5])
    assert given._x is x
