"""Seeded test cases for the notebook and its tests.

Every case is a tuple ``(X, Y, parameters)``: X of shape (n_0, m), Y of shape (1, m) with both
labels present, and ``parameters`` as in ``network``. Nothing here holds an expected answer.
"""

import numpy as np

SEED_LAYER_SIZES = (4, 5, 3, 1)


def seed_case():
    """The seed's test case: a 4-5-3-1 net on m = 3 examples, 47 parameters.

    Drawn as the original did: seed 1, then standard normals for X, W1, b1, W2, b2, W3, b3.
    returns: X -- shape (4, 3); Y -- shape (1, 3), [[1, 1, 0]]; parameters -- dict W1 ... b3
    """
    rng = np.random.RandomState(1)
    X = rng.randn(4, 3)
    Y = np.array([[1, 1, 0]])
    parameters = {}
    for layer, (n_in, n_out) in enumerate(zip(SEED_LAYER_SIZES, SEED_LAYER_SIZES[1:]), start=1):
        parameters[f"W{layer}"] = rng.randn(n_out, n_in)
        parameters[f"b{layer}"] = rng.randn(n_out, 1)
    return X, Y, parameters


def random_case(layer_sizes, m, seed):
    """A random case for any architecture, scaled so that ReLU units are mostly alive.

    layer_sizes -- (n_0, n_1, ..., n_L) with n_L = 1, at least two entries
    m -- number of examples, at least 2
    seed -- int, the whole case is a function of it
    returns: X -- shape (n_0, m); Y -- shape (1, m); parameters -- dict W1, b1, ..., WL, bL
    """
    if len(layer_sizes) < 2 or layer_sizes[-1] != 1 or m < 2:
        raise ValueError("layer_sizes must be (n_0, ..., 1) with at least one layer, and m >= 2")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((layer_sizes[0], m))
    Y = np.zeros((1, m), dtype=np.int64)
    Y[0, rng.permutation(m)[: max(1, m // 2)]] = 1
    parameters = {}
    for layer, (n_in, n_out) in enumerate(zip(layer_sizes, layer_sizes[1:]), start=1):
        parameters[f"W{layer}"] = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
        parameters[f"b{layer}"] = 0.1 * rng.standard_normal((n_out, 1))
    return X, Y, parameters


def plant_bug(gradients, name, factor=2.0, entry=None):
    """A copy of ``gradients`` in which the gradient of one parameter is wrong.

    gradients -- dict of gradient arrays
    name -- the parameter to break, such as "W2" (its gradient "dW2" is changed)
    factor -- the wrong gradient is the right one times this
    entry -- None to scale the whole array, or an index tuple to scale only that entry
    returns: a new dict; the input is not changed
    """
    broken = {key: np.array(value, dtype=np.float64, copy=True) for key, value in gradients.items()}
    key = "d" + name
    if entry is None:
        broken[key] = broken[key] * factor
    else:
        broken[key][entry] = broken[key][entry] * factor
    return broken


# Costs with known centred differences. Hidden tests swap them in for the notebook's own functions
# to see what a gradient checker really does.

def linear_cost(x, theta):
    """J = theta * x, the cost of Exercise 1. x, theta -- floats. returns: float"""
    return theta * x


def linear_cost_derivative(x, theta, factor=1.0):
    """factor * dJ/dtheta of ``linear_cost``: the right derivative when factor is 1, else a wrong one."""
    return factor * x


def cubic_cost(x, theta):
    """J = theta^3 x, whose centred difference is exactly (3 theta^2 + epsilon^2) x."""
    return theta ** 3 * x


def cubic_cost_derivative(x, theta):
    """dJ/dtheta = 3 theta^2 x of ``cubic_cost``."""
    return 3 * theta ** 2 * x


def cubic_network_cost(X, Y, parameters):
    """The sum of p^3 over every parameter entry p, with the signature of forward_propagation_n.

    Its centred difference for each entry is exactly 3 p^2 + epsilon^2.
    returns: cost -- float; cache -- None
    """
    return float(sum(np.sum(np.asarray(value, dtype=np.float64) ** 3) for value in parameters.values())), None


def cubic_network_gradients(parameters):
    """The exact gradients of ``cubic_network_cost``: "dW1", "db1", ... with dp = 3 p^2."""
    return {"d" + name: 3 * np.asarray(value, dtype=np.float64) ** 2 for name, value in parameters.items()}
