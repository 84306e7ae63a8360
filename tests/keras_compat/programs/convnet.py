# A small convnet on images (channels last): Conv2D, MaxPooling2D, padding="same", Flatten,
# Dropout, Dense; fit with a validation split; summary shapes and parameter counts.
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(7)
x = rng.uniform(size=(40, 12, 12, 1)).astype("float32")
y = keras.utils.to_categorical(rng.integers(0, 3, size=(40,)), 3)

model = keras.Sequential(
    [
        keras.Input(shape=(12, 12, 1)),
        layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(6, 3, padding="same", activation="relu"),
        layers.AveragePooling2D(pool_size=2),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ]
)
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
RESULTS["params"] = model.count_params()
RESULTS["output_shapes"] = str([tuple(layer.output.shape) for layer in model.layers])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2, shuffle=False, verbose=0)
RESULTS["loss"] = np.array(history.history["loss"])
RESULTS["val_loss"] = np.array(history.history["val_loss"])
RESULTS["predict"] = model.predict(x[:3], verbose=0)

# a feature extractor from the layers' outputs
extractor = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
features = extractor(x[:2])
RESULTS["n_features"] = len(features)
RESULTS["pooled"] = keras.ops.convert_to_numpy(features[1])
