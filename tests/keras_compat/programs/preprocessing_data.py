# Preprocessing and data: Normalization.adapt, Rescaling, to_categorical, utils.normalize,
# a PyDataset fed to fit and predict, fit with a validation PyDataset.
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(10)
raw = rng.normal(3.0, 2.0, size=(60, 4)).astype("float32")
labels = rng.integers(0, 2, size=(60,))

norm = layers.Normalization()
norm.adapt(raw)
RESULTS["norm_mean"] = keras.ops.convert_to_numpy(norm.mean).ravel()
RESULTS["normalized"] = keras.ops.convert_to_numpy(norm(raw[:3]))
RESULTS["rescaled"] = keras.ops.convert_to_numpy(
    layers.Rescaling(1.0 / 255, offset=-1)(raw[:2] * 40)
)
RESULTS["one_hot"] = keras.utils.to_categorical([0, 2, 1, 2], num_classes=3)
RESULTS["unit_rows"] = keras.utils.normalize(raw[:3], axis=-1, order=2)


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, idx):
        low = idx * self.batch_size
        high = min(low + self.batch_size, len(self.x))
        return self.x[low:high], self.y[low:high]


model = keras.Sequential(
    [keras.Input((4,)), norm, layers.Dense(5, activation="relu"), layers.Dense(2)]
)
model.set_weights(
    model.get_weights()[:3]
    + [rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()[3:]]
)
model.compile(
    optimizer=keras.optimizers.SGD(0.1),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)
history = model.fit(
    Batches(raw[:48], labels[:48], 16),
    validation_data=Batches(raw[48:], labels[48:], 16),
    epochs=3,
    shuffle=False,
    verbose=0,
)
RESULTS["loss"] = np.array(history.history["loss"])
RESULTS["val_loss"] = np.array(history.history["val_loss"])
RESULTS["predict"] = model.predict(Batches(raw[:5], labels[:5], 2), verbose=0)
