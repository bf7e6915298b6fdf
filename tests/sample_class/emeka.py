"""Crashes: an array returned in Exercise 3, and a NameError inside Exercise 4."""
# expect: gradient_check=0 gradient_check_n=0

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    difference = np.abs(np.array([grad - gradapprox])) / (np.abs(grad) + np.abs(gradapprox))
    return difference

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    for i in range(theta.shape[0]):
        plus = np.copy(theta)
        plus[i] += epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))
        gradaprox[i] = J_plus
    return np.linalg.norm(grad - gradapprox)
