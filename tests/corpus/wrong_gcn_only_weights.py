"""Exercise 4 wrong: checks only the weights W, never the biases b."""
# expect: gradient_check_n=6

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad, approx = [], []
    for name in parameters:
        if not name.startswith("W"):
            continue
        for index in np.ndindex(parameters[name].shape):
            plus = {key: value.copy() for key, value in parameters.items()}
            minus = {key: value.copy() for key, value in parameters.items()}
            plus[name][index] += epsilon
            minus[name][index] -= epsilon
            approx.append((forward_propagation_n(X, Y, plus)[0] - forward_propagation_n(X, Y, minus)[0]) / (2 * epsilon))
            grad.append(gradients["d" + name][index])
    grad, approx = np.array(grad), np.array(approx)
    return np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))
