"""Exercise 4 wrong: calls helpers.network directly instead of the notebook's forward_propagation_n, so the
tests that swap in other costs (the visible cubic one among them) catch it."""
# expect: gradient_check_n=8

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i] += epsilon
        minus[i] -= epsilon
        gradapprox[i] = (network.forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0]
                         - network.forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))[0]) / (2 * epsilon)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
