"""A test-side reference gradient checker: independent of the notebook, for the tests only."""

import numpy as np

from helpers import network
from helpers.vectorize import dictionary_to_vector, gradients_to_vector, vector_to_dictionary

forward_propagation_n = network.forward_propagation_n  # looked up as a global, as the notebook's is


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    """A correct checker: relative difference between backprop and centred differences. returns: float"""
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    approx = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i, 0] += epsilon
        minus[i, 0] -= epsilon
        j_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))
        j_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))
        approx[i, 0] = (j_plus - j_minus) / (2 * epsilon)
    numerator = np.linalg.norm(grad - approx)
    denominator = np.linalg.norm(grad) + np.linalg.norm(approx)
    return float(numerator / denominator) if denominator else 0.0
