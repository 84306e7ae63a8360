# A custom loss written with keras.ops, a custom Metric with add_variable, loss and metric
# objects called directly, and keras.ops on arrays (softmax, top_k, one_hot, where...).
import keras
import numpy as np
from keras import layers, ops


def scaled_huber(y_true, y_pred):
    error = y_true - y_pred
    small = ops.abs(error) <= 1.0
    return ops.mean(ops.where(small, 0.5 * ops.square(error), ops.abs(error) - 0.5), axis=-1)


class CountAbove(keras.metrics.Metric):
    def __init__(self, threshold=0.5, name="count_above", **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        above = ops.cast(ops.greater(y_pred, self.threshold), "float32")
        self.count.assign_add(ops.sum(above))

    def result(self):
        return self.count


rng = np.random.default_rng(11)
x = rng.normal(size=(40, 3)).astype("float32")
y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="elu"), layers.Dense(1)])
model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
model.compile(
    optimizer=keras.optimizers.Adam(0.05), loss=scaled_huber, metrics=[CountAbove(0.0), "mae"]
)
history = model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
for key in sorted(history.history):
    RESULTS[key] = np.array(history.history[key])

y_true = np.array([[0, 1, 0], [1, 0, 0]], "float32")
y_prob = np.array([[0.1, 0.8, 0.1], [0.3, 0.3, 0.4]], "float32")
RESULTS["cce"] = float(
    keras.ops.convert_to_numpy(keras.losses.CategoricalCrossentropy()(y_true, y_prob))
)
auc = keras.metrics.AUC()
auc.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
RESULTS["auc"] = float(keras.ops.convert_to_numpy(auc.result()))
logits = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]], "float32")
RESULTS["softmax"] = keras.ops.convert_to_numpy(ops.softmax(logits, axis=-1))
values, indices = ops.top_k(logits, k=2)
RESULTS["top_k_values"] = keras.ops.convert_to_numpy(values)
RESULTS["top_k_indices"] = keras.ops.convert_to_numpy(indices)
RESULTS["one_hot_ops"] = keras.ops.convert_to_numpy(ops.one_hot(np.array([2, 0]), 3))
RESULTS["argmax"] = keras.ops.convert_to_numpy(ops.argmax(logits, axis=-1))
