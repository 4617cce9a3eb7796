"""Seed 002's two-layer network, walked through tapegrad's explanation tools.

The same weights three ways: the scratch library's hand-written backward pass, its numerical
gradient, and a GradientTape over the same computation written with tapegrad ops — then the
tape is printed op by op, with the gradient norm that flowed through each step.
Run: python examples/explain_two_layer_net.py
"""
import numpy as np

import tapegrad as tf
from tapegrad.scratch.two_layer_net import TwoLayerNet

rng = np.random.default_rng(0)
x = rng.random((3, 784))
t = np.eye(10)[[3, 1, 4]]

np.random.seed(0)  # the scratch net draws its weights from NumPy's global generator: a
# fixed draw keeps every pre-activation far enough from ReLU's kink for the numerical gradient
network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
grad_backprop = network.gradient(x, t)
grad_numerical = network.numerical_gradient(x, t)

params = {k: tf.Variable(v, name=k) for k, v in network.params.items()}  # float64, as the book
with tf.GradientTape() as tape:
    hidden = tf.nn.relu(tf.constant(x) @ params["W1"] + params["b1"])
    scores = hidden @ params["W2"] + params["b2"]
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(tf.constant(t), scores))
grad_tape = tape.gradient(loss, params, explain=True)

print(f"loss: scratch {network.loss(x, t):.10f}   tape {float(loss):.10f}\n")
print("param  |backprop - tape|   |backprop - numerical|")
for key in ("W1", "b1", "W2", "b2"):
    d_tape = np.abs(grad_backprop[key] - grad_tape[key].numpy()).max()
    d_num = np.abs(grad_backprop[key] - grad_numerical[key]).max()
    print(f"{key:5}  {d_tape:.3e}           {d_num:.3e}")

print("\nWhat the tape recorded, and the gradient that flowed back through each op:\n")
print(tape.explain(loss))
