"""Exercise 3 wrong: returns a 1x1 array instead of a number."""
# expect: gradient_check=0

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = np.array([[(forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)]])
    grad = np.array([[backward_propagation(x, theta)]])
    return np.abs(grad - gradapprox) / (np.abs(grad) + np.abs(gradapprox))
