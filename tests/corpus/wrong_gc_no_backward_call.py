"""Exercise 3 wrong: calls forward_propagation but writes grad = x instead of calling backward_propagation."""
# expect: gradient_check=0

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = x
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
