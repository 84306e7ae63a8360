# "Text classification with Transformer": token + position embedding, a Transformer block
# (MultiHeadAttention, feed-forward, LayerNormalization, residuals), pooling, a classifier.
import keras
import numpy as np
from keras import layers, ops


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.0):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


vocab_size, maxlen, embed_dim = 30, 10, 8
rng = np.random.default_rng(8)
x = rng.integers(0, vocab_size, size=(32, maxlen))
y = (x[:, 0] > vocab_size // 2).astype("int64")

inputs = layers.Input(shape=(maxlen,))
embedded = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
encoded = TransformerBlock(embed_dim, num_heads=2, ff_dim=16)(embedded)
pooled = layers.GlobalAveragePooling1D()(encoded)
hidden = layers.Dense(6, activation="relu")(pooled)
outputs = layers.Dense(2, activation="softmax")(hidden)
model = keras.Model(inputs=inputs, outputs=outputs)
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
RESULTS["params"] = model.count_params()
RESULTS["weight_shapes"] = str([w.shape for w in model.get_weights()])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
RESULTS["loss"] = np.array(history.history["loss"])
RESULTS["predict"] = model.predict(x[:3], verbose=0)
