# Masking and padding: pad_sequences, Embedding(mask_zero=True), Masking, LSTM/GRU skipping the
# padded steps, the mask a layer exposes, GlobalAveragePooling1D over the mask.
import keras
import numpy as np
from keras import layers

raw = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
padded = keras.utils.pad_sequences(raw, padding="post")
RESULTS["padded"] = padded
RESULTS["padded_pre_cut"] = keras.utils.pad_sequences(raw, maxlen=4, truncating="pre")
RESULTS["padded_dtype"] = str(padded.dtype)

tokens = (padded % 50).astype("int32")
embedding = layers.Embedding(input_dim=50, output_dim=4, mask_zero=True)
masked = embedding(tokens)
RESULTS["mask"] = keras.ops.convert_to_numpy(embedding.compute_mask(tokens)).astype("int32")

rng = np.random.default_rng(5)
inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=50, output_dim=4, mask_zero=True)(inputs)
x = layers.LSTM(5, return_sequences=True)(x)
x = layers.GRU(3)(x)
outputs = layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.get_weights()])
RESULTS["rnn_out"] = model.predict(tokens, verbose=0)
# the padded steps are skipped: the same sequences with extra padding give the same output
wider = np.concatenate([tokens, np.zeros((3, 2), "int32")], axis=1)
RESULTS["rnn_out_wider"] = model.predict(wider, verbose=0)

seq = rng.normal(size=(3, 6, 2)).astype("float32")
seq[0, 3:] = 0.0
seq[1, 5:] = 0.0
masking_model = keras.Sequential(
    [keras.Input((6, 2)), layers.Masking(mask_value=0.0), layers.SimpleRNN(4), layers.Dense(2)]
)
masking_model.set_weights(
    [rng.normal(0, 0.4, w.shape).astype("float32") for w in masking_model.get_weights()]
)
RESULTS["masked_rnn"] = masking_model.predict(seq, verbose=0)

pool_in = keras.Input(shape=(None,), dtype="int32")
pooled = layers.GlobalAveragePooling1D()(layers.Embedding(50, 3, mask_zero=True)(pool_in))
pool_model = keras.Model(pool_in, pooled)
pool_model.set_weights(
    [rng.normal(0, 1, w.shape).astype("float32") for w in pool_model.get_weights()]
)
RESULTS["masked_average"] = pool_model.predict(tokens, verbose=0)
