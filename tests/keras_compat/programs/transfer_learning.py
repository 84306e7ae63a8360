# Transfer learning: a frozen base (with BatchNormalization) called with training=False,
# a new head, fit; then unfreeze and fine-tune with a small learning rate.
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(6)
x = rng.normal(size=(64, 8)).astype("float32")
y = rng.integers(0, 3, size=(64,))

base = keras.Sequential(
    [
        keras.Input((8,)),
        layers.Dense(16, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(8, activation="relu"),
    ],
    name="base",
)
base.set_weights([rng.normal(0.1, 0.3, w.shape).astype("float32") for w in base.get_weights()])
base.layers[1].set_weights(
    [
        np.ones(16, "float32"),
        np.zeros(16, "float32"),
        np.full(16, 0.2, "float32"),
        np.ones(16, "float32"),
    ]
)
base.trainable = False

inputs = keras.Input(shape=(8,))
features = base(inputs, training=False)
outputs = layers.Dense(3, activation="softmax")(features)
model = keras.Model(inputs, outputs)
head = model.layers[-1]
head.set_weights([rng.normal(0, 0.3, (8, 3)).astype("float32"), np.zeros(3, "float32")])

RESULTS["trainable_weights"] = len(model.trainable_weights)
RESULTS["non_trainable_weights"] = len(model.non_trainable_weights)
before = model.predict(x[:5], verbose=0)
model.set_weights(model.get_weights())  # the order does not depend on what is frozen
RESULTS["same_after_roundtrip"] = bool(np.allclose(before, model.predict(x[:5], verbose=0)))

model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
RESULTS["frozen_loss"] = np.array(history.history["loss"])
RESULTS["moving_mean_kept"] = keras.ops.convert_to_numpy(base.layers[1].moving_mean)

base.trainable = True
RESULTS["trainable_after_unfreeze"] = len(model.trainable_weights)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
RESULTS["finetune_loss"] = np.array(history.history["loss"])
RESULTS["predict"] = model.predict(x[:4], verbose=0)
