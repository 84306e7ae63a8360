# keras.ops and Python operators on symbolic tensors inside a functional model (Keras 3 allows
# both), and a custom layer whose call mixes ops; trained with fit.
import keras
import numpy as np
from keras import layers, ops


class Gate(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * ops.sigmoid(self.w) + ops.mean(x, axis=-1, keepdims=True)


rng = np.random.default_rng(12)
pixels = rng.integers(0, 256, size=(40, 6)).astype("float32")
y = (pixels[:, :1] / 255.0 - pixels[:, 1:2] / 510.0).astype("float32")

inputs = keras.Input(shape=(6,))
scaled = inputs / 255.0
centered = scaled - ops.mean(scaled, axis=-1, keepdims=True)
both = ops.concatenate([centered, -scaled[:, :2]], axis=-1)
hidden = Gate()(layers.Dense(5, activation="tanh")(both))
outputs = layers.Dense(1)(hidden) * 0.5 + 0.1
model = keras.Model(inputs, outputs)
model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
RESULTS["n_weights"] = len(model.get_weights())
RESULTS["before"] = model.predict(pixels[:3], verbose=0)
model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
history = model.fit(pixels, y, batch_size=10, epochs=3, shuffle=False, verbose=0)
RESULTS["loss"] = np.array(history.history["loss"])
RESULTS["after"] = model.predict(pixels[:3], verbose=0)
