"""Exercise 4 wrong: an off-by-one loop that never checks the last entry (the last bias)."""
# expect: gradient_check_n=6

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0] - 1):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i] += epsilon
        minus[i] -= epsilon
        gradapprox[i] = (forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0]
                         - forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))[0]) / (2 * epsilon)
    grad[-1] = gradapprox[-1]
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
