"""Correct: norms written as square roots of sums of squares, a 0-d array returned, 1-D vectors."""

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    theta_plus = np.float64(theta) + epsilon
    theta_minus = np.float64(theta) - epsilon
    gradapprox = (forward_propagation(x, theta_plus) - forward_propagation(x, theta_minus)) / (epsilon + epsilon)
    grad = backward_propagation(x, theta)
    return np.array(np.sqrt((grad - gradapprox) ** 2) / (np.sqrt(grad ** 2) + np.sqrt(gradapprox ** 2)))

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    theta = theta.ravel()
    grad = gradients_to_vector(gradients, layout).ravel()
    gradapprox = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta + step, layout))
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta - step, layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    numerator = np.sqrt(np.sum((grad - gradapprox) ** 2))
    denominator = np.sqrt(np.sum(grad ** 2)) + np.sqrt(np.sum(gradapprox ** 2))
    if print_msg:
        print("OK" if numerator / denominator < THRESHOLD else "mistake", numerator / denominator)
    return numerator / denominator
