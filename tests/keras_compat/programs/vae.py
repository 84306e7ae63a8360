# A variational autoencoder: an encoder with a sampling layer, a decoder, and a custom
# train_step (the torch-backend form) tracking total, reconstruction and KL losses. The noise
# of the sampling layer comes in with the data, so both runs see the same draws.
import keras
import numpy as np
import torch
from keras import layers, ops


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var, epsilon = inputs
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


latent_dim = 2
image_in = keras.Input(shape=(16,))
noise_in = keras.Input(shape=(latent_dim,))
h = layers.Dense(8, activation="relu")(image_in)
z_mean = layers.Dense(latent_dim, name="z_mean")(h)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
z = Sampling()([z_mean, z_log_var, noise_in])
encoder = keras.Model([image_in, noise_in], [z_mean, z_log_var, z], name="encoder")

latent_in = keras.Input(shape=(latent_dim,))
decoded = layers.Dense(16, activation="sigmoid")(layers.Dense(8, activation="relu")(latent_in))
decoder = keras.Model(latent_in, decoded, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs):
        return self.decoder(self.encoder(inputs)[2])

    def train_step(self, data):
        images, noise = data[0]
        self.zero_grad()
        z_mean, z_log_var, z = self.encoder([images, noise])
        reconstruction = self.decoder(z)
        reconstruction_loss = ops.mean(
            ops.sum(
                keras.losses.binary_crossentropy(images[..., None], reconstruction[..., None]),
                axis=1,
            )
        )
        kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
        total_loss = reconstruction_loss + kl_loss
        total_loss.backward()
        weights = self.trainable_weights
        with torch.no_grad():
            self.optimizer.apply([w.value.grad for w in weights], weights)
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


rng = np.random.default_rng(9)
images = rng.uniform(size=(48, 16)).astype("float32")
noise = rng.normal(size=(48, latent_dim)).astype("float32")
vae = VAE(encoder, decoder)
vae([images[:2], noise[:2]])
vae.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in vae.get_weights()])
vae.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01))
history = vae.fit([images, noise], batch_size=16, epochs=3, shuffle=False, verbose=0)
for key in ("total_loss", "reconstruction_loss", "kl_loss"):
    RESULTS[key] = np.array(history.history[key])
RESULTS["decoded"] = decoder.predict(np.zeros((2, latent_dim), "float32"), verbose=0)
