"""A TensorFlow 1 tutorial program, run by nerve with its imports changed and nothing else.

The network is the seed tutorial's: 784 -> 500 sigmoid -> 10 softmax, trained by gradient
descent (learning rate 0.5) on batches of 100 from ``mnist.train.next_batch``. Its weights start
from ``tf.random_normal`` (N(0, 1)), which saturates the sigmoid and soon makes the loss NaN
(log of a softmax output that underflowed to 0); ``--stddev 0.05`` gives a sane start.
MNIST is used when nerve finds it, Fashion-MNIST otherwise (or with ``--dataset``).

Run: python examples/tf1_mnist.py --stddev 0.05 [--steps 1000] [--dataset fashion_mnist]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nerve
import nerve.compat.v1 as tf
from nerve.compat.v1.examples.tutorials.mnist import input_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--stddev", type=float, default=None, help="default: N(0, 1) as written")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default=None)
    parser.add_argument("--data-dir", default="MNIST_data/")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    nerve.manual_seed(args.seed)

    def init(shape):
        if args.stddev is None:
            return tf.random_normal(shape)
        return tf.random_normal(shape, stddev=args.stddev)

    mnist = input_data.read_data_sets(args.data_dir, one_hot=True, dataset=args.dataset)

    # ---- the tutorial's code, as written
    x = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])
    w1 = tf.Variable(init([784, 500]))
    b1 = tf.Variable(tf.zeros([500]))
    hidden1 = tf.nn.sigmoid(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(init([500, 10]))
    b2 = tf.Variable(tf.zeros([10]))
    y_pred = tf.nn.softmax(tf.matmul(hidden1, w2) + b2)
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y * tf.log(y_pred), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    correct = tf.equal(tf.argmax(y_pred, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

    start = time.perf_counter()
    with tf.Session() as sess, np.errstate(all="ignore"):  # N(0, 1): log(0), then NaN
        sess.run(tf.global_variables_initializer())
        for i in range(args.steps):
            batch_x, batch_y = mnist.train.next_batch(100)
            _, loss = sess.run([train_step, cross_entropy], feed_dict={x: batch_x, y: batch_y})
            if i % 100 == 0:
                print(f"step {i:5d}  loss {loss:.4f}")
        test = {x: mnist.test.images, y: mnist.test.labels}
        print("Accuracy:", sess.run(accuracy, feed_dict=test))
    print(f"{args.steps} steps in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
