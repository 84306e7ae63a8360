"""The Keras door: Keras 3's public names over nerve's one implementation.

``from nerve import keras`` (or ``import nerve.keras as keras``) and Keras 3 tutorial code runs
with its imports changed and nothing else.
"""
