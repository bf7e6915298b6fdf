"""Exercise 3 wrong: returns |grad - gradapprox| without dividing by the norms."""
# expect: gradient_check=0

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return np.linalg.norm(grad - gradapprox)
