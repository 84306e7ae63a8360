# Custom layers (build/add_weight/call, add_loss) and a subclassed Model with training=.
import keras
import numpy as np
from keras import layers, ops


class Linear(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class ActivityPenalty(layers.Layer):
    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(ops.square(inputs)))
        return inputs


class MLP(keras.Model):
    def __init__(self, use_noise=False):
        super().__init__()
        self.use_noise = use_noise
        self.linear_1 = Linear(16)
        self.penalty = ActivityPenalty(0.1)
        self.noise = layers.GaussianNoise(0.5)  # only while training: off in fit below
        self.linear_2 = Linear(1)

    def call(self, inputs, training=False):
        x = ops.relu(self.linear_1(inputs))
        x = self.penalty(x)
        if training and self.use_noise:
            x = self.noise(x, training=training)
        return self.linear_2(x)


rng = np.random.default_rng(2)
x = rng.normal(size=(48, 5)).astype("float32")
y = (x @ rng.normal(size=(5, 1))).astype("float32")
model = MLP()
model(x[:2])
weights = model.get_weights()
RESULTS["n_weights"] = len(weights)
model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in weights])
out = model(x[:3])
RESULTS["losses_after_call"] = len(model.losses)
RESULTS["added_loss"] = float(keras.ops.convert_to_numpy(model.losses[0]))
RESULTS["inference"] = keras.ops.convert_to_numpy(out)

model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="mse")
history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
RESULTS["loss"] = np.array(history.history["loss"])
RESULTS["eval"] = float(model.evaluate(x, y, verbose=0))

# compile() without a loss: the model's add_loss terms are the whole loss, fit() without y.
only_penalty = keras.Sequential([keras.Input((5,)), Linear(4), ActivityPenalty(1.0)])
only_penalty.set_weights(
    [rng.normal(0, 0.4, w.shape).astype("float32") for w in only_penalty.get_weights()]
)
only_penalty.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
history = only_penalty.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0)
RESULTS["penalty_only_loss"] = np.array(history.history["loss"])
