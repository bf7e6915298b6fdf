"""Typical mistakes: a one-sided difference in Exercise 3, and epsilon ignored in Exercise 4."""
# expect: gradient_check=5 gradient_check_n=14

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    J_plus = forward_propagation(x, theta + epsilon)
    J = forward_propagation(x, theta)
    gradapprox = (J_plus - J) / epsilon
    grad = backward_propagation(x, theta)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    eps = 1e-7
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(len(theta)):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += eps
        minus[i] -= eps
        gradapprox[i] = (forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0]
                         - forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))[0]) / (2 * eps)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
