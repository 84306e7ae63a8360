# "Customizing what happens in fit()" on the torch backend: train_step with zero_grad,
# compute_loss, backward, optimizer.apply and the model's metrics; test_step likewise.
import keras
import numpy as np
import torch
from keras import layers


class CustomModel(keras.Model):
    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class LowLevelModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(self.loss_fn(y, y_pred))
        self.mae_metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


rng = np.random.default_rng(3)
x = rng.normal(size=(64, 6)).astype("float32")
y = (x @ rng.normal(size=(6, 1)) + 0.1).astype("float32")

for name, cls in (("custom", CustomModel), ("low", LowLevelModel)):
    inputs = keras.Input(shape=(6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    outputs = layers.Dense(1)(hidden)
    model = cls(inputs, outputs)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.get_weights()])
    if name == "custom":
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    else:
        model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for key in sorted(history.history):
        RESULTS[f"{name}_{key}"] = np.array(history.history[key])
    RESULTS[f"{name}_predict"] = model.predict(x[:4], verbose=0)
    if name == "low":
        RESULTS["low_evaluate"] = np.array(model.evaluate(x, y, verbose=0))
