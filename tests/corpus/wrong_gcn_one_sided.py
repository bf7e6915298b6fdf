"""Exercise 4 wrong: a one-sided difference (J(theta + e) - J(theta)) / e."""
# expect: gradient_check_n=14

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    J, _ = forward_propagation_n(X, Y, parameters)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus = np.copy(theta)
        plus[i] += epsilon
        gradapprox[i] = (forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0] - J) / epsilon
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
