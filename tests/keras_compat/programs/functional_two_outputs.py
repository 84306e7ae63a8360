# The functional API: two inputs, a shared layer, concatenate, two named outputs, loss weights.
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(1)
title = rng.normal(size=(64, 6)).astype("float32")
body = rng.normal(size=(64, 10)).astype("float32")
priority = rng.normal(size=(64, 1)).astype("float32")
department = rng.integers(0, 4, size=(64,))

title_in = keras.Input(shape=(6,), name="title")
body_in = keras.Input(shape=(10,), name="body")
t = layers.Dense(8, activation="tanh")(title_in)
b = layers.Dense(8, activation="tanh")(body_in)
merged = layers.concatenate([t, b])
hidden = layers.Dense(12, activation="relu")(merged)
priority_out = layers.Dense(1, name="priority")(hidden)
department_out = layers.Dense(4, activation="softmax", name="department")(hidden)
model = keras.Model(inputs=[title_in, body_in], outputs=[priority_out, department_out])
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])

model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    loss={"priority": "mse", "department": "sparse_categorical_crossentropy"},
    loss_weights={"priority": 1.0, "department": 0.5},
)
history = model.fit(
    {"title": title, "body": body},
    {"priority": priority, "department": department},
    batch_size=16,
    epochs=3,
    shuffle=False,
    verbose=0,
)
RESULTS["loss"] = np.array(history.history["loss"])
RESULTS["params"] = model.count_params()
RESULTS["layer_classes"] = " ".join(type(layer).__name__ for layer in model.layers)
p, d = model.predict([title, body], verbose=0)
RESULTS["priority"], RESULTS["department"] = p[:4], d[:4]
RESULTS["output_shapes"] = str([tuple(o.shape) for o in model.outputs])
