"""Correct, CS231n style: perturbs each array in place and restores the saved value exactly."""

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad, approx = [], []
    for name in sorted(parameters):
        value = parameters[name]
        iterator = np.nditer(value, flags=["multi_index"], op_flags=["readwrite"])
        while not iterator.finished:
            index = iterator.multi_index
            saved = value[index]
            value[index] = saved + epsilon
            J_plus = forward_propagation_n(X, Y, parameters)[0]
            value[index] = saved - epsilon
            J_minus = forward_propagation_n(X, Y, parameters)[0]
            value[index] = saved
            approx.append((J_plus - J_minus) / (2 * epsilon))
            grad.append(gradients["d" + name][index])
            iterator.iternext()
    grad, approx = np.asarray(grad), np.asarray(approx)
    return float(np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx)))
