"""Exercise 3 wrong: a fixed step of 1e-7 whatever epsilon is given."""
# expect: gradient_check=5

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    step = 1e-7
    gradapprox = (forward_propagation(x, theta + step) - forward_propagation(x, theta - step)) / (2 * step)
    grad = backward_propagation(x, theta)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
