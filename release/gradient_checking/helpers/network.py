"""The L-layer network of the assignment: LINEAR -> RELU -> ... -> LINEAR -> SIGMOID, forward only.

Its backward pass is yours to check: the notebook gives one with bugs, and a gradient checker is
how you find them. (The grader's correct one lives with the grader, not here.)

``parameters`` maps ``W1, b1, ..., WL, bL`` to arrays: ``Wl`` has shape (n_l, n_{l-1}) and ``bl``
shape (n_l, 1), where n_0 is the number of input features. The number of layers L is read from the
keys, so the same code runs the seed's 4-5-3-1 net and any other architecture.
"""

import numpy as np


def sigmoid(z):
    """Logistic function, elementwise. z -- array of any shape. Returns an array of the same shape."""
    return 1.0 / (1.0 + np.exp(-z))


def relu(z):
    """Rectified linear unit, elementwise. z -- array of any shape. Returns an array of the same shape."""
    return np.maximum(0, z)


def layer_count(parameters):
    """Number of layers L in ``parameters``, checking that W1, b1, ..., WL, bL are all present.

    parameters -- dict of arrays keyed "W1", "b1", ..., "WL", "bL"
    returns: L -- int
    """
    count = sum(1 for name in parameters if name.startswith("W"))
    expected = {f"{kind}{layer}" for layer in range(1, count + 1) for kind in "Wb"}
    if count == 0 or set(parameters) != expected:
        raise ValueError(
            f"parameters must hold exactly W1, b1, ..., WL, bL; got keys {sorted(parameters)}"
        )
    return count


def forward_propagation_n(X, Y, parameters):
    """Forward pass and mean cross-entropy cost.

    X -- input data, shape (n_0, m)
    Y -- labels, 0 or 1, shape (1, m)
    parameters -- dict "W1", "b1", ..., "WL", "bL"; Wl shape (n_l, n_{l-1}), bl shape (n_l, 1)
    returns: cost -- float, the mean cross-entropy over the m examples;
             cache -- tuple of L tuples (Z, A, W, b), one per layer, Z and A of shape (n_l, m)
    """
    L = layer_count(parameters)
    A = X
    cache = []
    for layer in range(1, L + 1):
        W, b = parameters[f"W{layer}"], parameters[f"b{layer}"]
        Z = np.dot(W, A) + b
        A = sigmoid(Z) if layer == L else relu(Z)
        cache.append((Z, A, W, b))
    m = X.shape[1]
    log_probs = np.multiply(-np.log(A), Y) + np.multiply(-np.log(1 - A), 1 - Y)
    cost = float(1.0 / m * np.sum(log_probs))
    return cost, tuple(cache)
