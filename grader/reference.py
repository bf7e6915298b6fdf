"""The correct backward pass of the assignment's network: the answer key of the hidden tests.

Instructor-side: it never ships to students, whose notebook gives a backward pass with planted bugs
and whose task is to find them with a gradient checker. Hidden tests import it; the judge runs them
in the grader, and ``nbgrader validate`` of the master notebook runs them in the instructor's kernel.
"""

import numpy as np

from helpers.network import forward_propagation_n


def backward_propagation_n(X: np.ndarray, Y: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
    """Correct backward pass of ``helpers.network.forward_propagation_n``: the gradient of the cost.

    X -- input data, shape (n_0, m)
    Y -- labels, shape (1, m)
    cache -- the cache returned by ``forward_propagation_n``
    returns: gradients -- dict with "dWl", "dbl" (shapes of Wl, bl) for every layer, and the
             intermediate "dZl" and "dAl" (shape (n_l, m))
    """
    m = X.shape[1]
    L = len(cache)
    gradients = {}
    dZ = cache[-1][1] - Y  # sigmoid followed by cross-entropy
    for layer in range(L, 0, -1):
        _, _, W, _ = cache[layer - 1]
        A_prev = X if layer == 1 else cache[layer - 2][1]
        gradients[f"dZ{layer}"] = dZ
        gradients[f"dW{layer}"] = 1.0 / m * np.dot(dZ, A_prev.T)
        gradients[f"db{layer}"] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        if layer > 1:
            dA_prev = np.dot(W.T, dZ)
            gradients[f"dA{layer - 1}"] = dA_prev
            dZ = np.multiply(dA_prev, np.int64(A_prev > 0))
    return gradients


def correct_gradients(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradients of the cost from the correct backward pass, with the extra "dZl" and "dAl" entries.

    returns: gradients -- dict "dW1", "db1", ..., plus intermediates
    """
    _, cache = forward_propagation_n(X, Y, parameters)
    return backward_propagation_n(X, Y, cache)
