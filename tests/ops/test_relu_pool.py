"""A max-pool after a ReLU applies the ReLU's gradient mask on the pooled array, and the ReLU's
rule passes that gradient on unchanged (see tapegrad/ops/nn.py): the gradients, first and
second order, must be those of the two ops taken one at a time."""

import numpy as np
import pytest

import tapegrad as tf
from tapegrad.ops import conv, nn


def _grads(monkeypatch, fused, share=False):
    if not fused:
        monkeypatch.setattr(conv, "is_relu_output", lambda a: False)
    passed = []
    forward = nn._relu_grad.forward

    def relu_grad(out, g):
        r = forward(out, g)
        passed.append(r is g)
        return r

    monkeypatch.setattr(nn._relu_grad, "forward", relu_grad)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((2, 8, 8, 3)))
    w = tf.Variable(rng.standard_normal((3, 3, 3, 4)))
    b = tf.Variable(rng.standard_normal(4) * 0.5)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            h = tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID") + b)
            y = tf.nn.max_pool2d(h, 2, 2, "VALID")
            loss = tf.reduce_sum(y * y)
            if share:  # h also feeds another op: its gradient is a sum, masked as usual
                loss = loss + tf.reduce_sum(h * 0.5)
        gw, gb = inner.gradient(loss, [w, b])
        s = tf.reduce_sum(gw * gw) + tf.reduce_sum(gb * gb)
    hw, hb = outer.gradient(s, [w, b])
    monkeypatch.undo()
    return [a.numpy() for a in (gw, gb, hw, hb)], passed


@pytest.mark.parametrize("share", [False, True], ids=["pool_only", "shared"])
def test_relu_then_max_pool_gradients_match_the_ops_one_at_a_time(monkeypatch, share):
    fused, passed = _grads(monkeypatch, True, share)
    plain, passed_plain = _grads(monkeypatch, False, share)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert not any(passed_plain)
    # The first-order backward's ReLU rule (the first call) skips its mask when the pool's
    # gradient is all h gets, and applies it to the sum when h feeds another op too.
    assert passed[0] is (not share)


def test_bias_relu_output_is_known_to_the_pool_and_a_plain_array_is_not():
    x = tf.constant(np.random.default_rng(1).standard_normal((2, 4, 4, 3)).astype("float32"))
    b = tf.constant(np.zeros(3, "float32"))
    assert nn.is_relu_output(nn.bias_relu(x, b).value)
    assert nn.is_relu_output(tf.nn.relu(x).value)
    assert not nn.is_relu_output(tf.abs(x).value)



def _relu_pool_gradients(monkeypatch, fused, explain):
    if not fused:
        monkeypatch.setattr(conv, "is_relu_output", lambda a: False)
    rng = np.random.default_rng(2)
    x = tf.constant(rng.standard_normal((2, 6, 6, 3)))
    w = tf.Variable(rng.standard_normal((3, 3, 3, 4)))
    r = tf.constant(rng.standard_normal((2, 2, 2, 4)))
    with tf.GradientTape() as tape:
        h = tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID") - 2.0)
        tape.watch(h)
        y = tf.nn.max_pool2d(h, 2, 2, "VALID")
        loss = tf.reduce_sum(y * r)
    assert (y.numpy() == 0).any(), "the test needs a window whose maximum is 0"
    if explain:
        gw = tape.gradient(loss, w, explain=True)
        out = [gw.numpy(), sorted(tape._grad_norms.values())]
    else:
        gh, gw = tape.gradient(loss, [h, w])
        assert np.count_nonzero(gh.numpy()) == r.numpy().size  # every window sends its g
        out = [gh.numpy(), gw.numpy()]
    monkeypatch.undo()
    return out


@pytest.mark.parametrize("explain", [False, True], ids=["relu_output_is_a_source", "explain"])
def test_the_relu_output_gets_the_pools_exact_gradient_where_it_is_seen(monkeypatch, explain):
    # As a source of the gradient, or with explain=True (which reports the gradient norm at
    # every op), the ReLU output's gradient is the max-pool's own: g at each window's maximum,
    # also where that maximum is 0 (a window the ReLU switched off entirely).
    fused = _relu_pool_gradients(monkeypatch, True, explain)
    plain = _relu_pool_gradients(monkeypatch, False, explain)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)
