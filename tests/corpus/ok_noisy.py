"""Correct, but noisy: prints on every call, warns, and writes to stderr."""
# %% forward_propagation
import sys
import warnings


def forward_propagation(x, theta):
    print("forward", x, theta)
    return x * theta

# %% backward_propagation
def backward_propagation(x, theta):
    sys.stderr.write("backward called\n")
    return x

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    warnings.warn("this is a harmless warning")
    np.log(np.array([0.0]))  # RuntimeWarning: divide by zero
    J_plus = forward_propagation(x, theta + epsilon)
    J_minus = forward_propagation(x, theta - epsilon)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    difference = np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
    print("difference", difference, file=sys.stderr)
    return difference

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    warnings.warn("checking", RuntimeWarning)
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(len(theta)):
        plus, minus = theta.copy(), theta.copy()
        plus[i, 0] += epsilon
        minus[i, 0] -= epsilon
        gradapprox[i, 0] = (forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0]
                            - forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))[0]) / (2 * epsilon)
        print(f"entry {i}: {gradapprox[i, 0]:.6f}")
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
