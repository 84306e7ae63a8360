"""The MNIST tutorials' data helper.

``from nerve.compat.v1.examples.tutorials.mnist import input_data`` in place of
``from tensorflow.examples.tutorials.mnist import input_data``.
"""
