# A Keras 3 beginner's MLP: Sequential, compile, fit, evaluate, predict; weights set from NumPy.
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x[:, :3].sum(axis=1) > 0).astype("int64") + (x[:, 3] > 1).astype("int64")

model = keras.Sequential(
    [
        keras.Input(shape=(8,)),
        layers.Dense(16, activation="relu", name="hidden"),
        layers.Dropout(0.5),
        layers.Dense(3, activation="softmax"),
    ]
)
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
RESULTS["params"] = model.count_params()
RESULTS["weight_shapes"] = str([w.shape for w in model.get_weights()])
# A direct call is inference: Dropout does nothing, twice the same output.
first = keras.ops.convert_to_numpy(model(x[:4]))
RESULTS["direct_call"] = first
RESULTS["direct_call_is_deterministic"] = bool(
    np.allclose(first, keras.ops.convert_to_numpy(model(x[:4], training=False)))
)

model.pop()
model.pop()
model.add(layers.Dense(3, activation="softmax", name="out"))
model.layers[-1].set_weights(
    [rng.normal(0, 0.3, (16, 3)).astype("float32"), np.zeros(3, "float32")]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25)
for key, values in history.history.items():
    RESULTS[f"history_{key}"] = np.array(values)
loss, acc = model.evaluate(x, y, batch_size=32, verbose=0)
RESULTS["eval_loss"], RESULTS["eval_acc"] = float(loss), float(acc)
RESULTS["predict"] = model.predict(x[:5], verbose=0)
RESULTS["n_layers"] = len(model.layers)
