"""Which parameters disagree: run a gradient checker on one parameter at a time."""

import numpy as np

from .network import forward_propagation_n
from .testing import swapped_globals


def difference_by_parameter(check, parameters, gradients, X, Y, epsilon=1e-7):
    """The relative difference per parameter, computed by your own checker.

    For each parameter (W1, b1, ...) the checker runs once while every other parameter is frozen:
    the cost it sees ignores their perturbations, so their numerical gradient is exactly 0, and
    their backprop gradient is replaced by 0 too. What is left is the difference for that parameter
    alone.

    check -- a function with the signature of ``gradient_check_n``; it must get the cost by calling
             the global ``forward_propagation_n`` of the module (or notebook) that defines it
    parameters -- dict W1, b1, ..., as for ``gradient_check_n``
    gradients -- dict dW1, db1, ..., from the backward pass being checked
    X, Y -- the data, shapes (n_0, m) and (1, m)
    returns: differences -- dict mapping each parameter name to a float
    """
    original = check.__globals__.get("forward_propagation_n", forward_propagation_n)
    differences = {}
    for name in parameters:
        def frozen_forward(X_, Y_, perturbed, name=name):
            return original(X_, Y_, {**parameters, name: perturbed[name]})

        only_this = {"d" + other: np.zeros(np.shape(value)) for other, value in parameters.items()}
        only_this["d" + name] = gradients["d" + name]
        with swapped_globals(check.__globals__, forward_propagation_n=frozen_forward):
            differences[name] = float(check(parameters, only_this, X, Y, epsilon))
    return differences
