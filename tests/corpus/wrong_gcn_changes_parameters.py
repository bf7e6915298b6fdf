"""Exercise 4 wrong: perturbs the caller's arrays in place and never puts them back."""
# expect: gradient_check_n=14

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad, approx = [], []
    for name, value in parameters.items():
        for index in np.ndindex(value.shape):
            value[index] += epsilon
            J_plus, _ = forward_propagation_n(X, Y, parameters)
            value[index] -= 2 * epsilon
            J_minus, _ = forward_propagation_n(X, Y, parameters)
            approx.append((J_plus - J_minus) / (2 * epsilon))
            grad.append(gradients["d" + name][index])
    grad, approx = np.array(grad), np.array(approx)
    return np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))
