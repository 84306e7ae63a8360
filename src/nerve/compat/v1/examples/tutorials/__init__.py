"""TensorFlow 1's tutorial helpers (tensorflow.examples.tutorials)."""
