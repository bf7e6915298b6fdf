"""Correct answers written in new cells below the untouched stubs: those are the answers."""
# base: release
# expect: forward_propagation=10 backward_propagation=10 gradient_check=10 gradient_check_n=20

# %% new-code:forward_propagation
def forward_propagation(x, theta):
    return theta * x

# %% new-code:backward_propagation
def backward_propagation(x, theta):
    return x

# %% new-code:gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))

# %% new-code:gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    approx = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i] += epsilon
        minus[i] -= epsilon
        approx[i] = (forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0]
                     - forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))[0]) / (2 * epsilon)
    return np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))
