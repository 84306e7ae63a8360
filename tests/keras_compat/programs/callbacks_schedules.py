# Callbacks a tutorial uses: EarlyStopping with restore_best_weights, ReduceLROnPlateau,
# LearningRateScheduler, a LambdaCallback and a custom Callback; a learning-rate schedule.
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(4)
x = rng.normal(size=(80, 4)).astype("float32")
y = (x[:, :1] * 2 - x[:, 1:2]).astype("float32")
x_val = rng.normal(size=(20, 4)).astype("float32")
y_val = (x_val[:, :1] * 2 - x_val[:, 1:2]).astype("float32")


def build():
    model = keras.Sequential(
        [keras.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(1)]
    )
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


class EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(round(float(logs["val_loss"]), 6))


model = build()
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3), loss="mse")
recorder = EpochRecorder()
lrs = []
history = model.fit(
    x,
    y,
    batch_size=20,
    epochs=12,
    shuffle=False,
    verbose=0,
    validation_data=(x_val, y_val),
    callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: lrs.append(
                float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            )
        ),
        recorder,
    ],
)
RESULTS["epochs_run"] = len(history.history["loss"])
RESULTS["val_loss"] = np.array(recorder.seen)
RESULTS["lrs"] = np.array(lrs)
RESULTS["final_eval"] = float(model.evaluate(x_val, y_val, verbose=0))

model = build()
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
history = model.fit(
    x,
    y,
    batch_size=40,
    epochs=4,
    shuffle=False,
    verbose=0,
    callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)],
)
RESULTS["scheduled_loss"] = np.array(history.history["loss"])

schedule = keras.optimizers.schedules.ExponentialDecay(0.2, decay_steps=2, decay_rate=0.5)
model = build()
model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
history = model.fit(x, y, batch_size=20, epochs=3, shuffle=False, verbose=0)
RESULTS["decay_loss"] = np.array(history.history["loss"])
