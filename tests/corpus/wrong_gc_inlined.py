"""Exercise 3 wrong: J and its derivative inlined instead of calling the two functions."""
# expect: gradient_check=0

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = ((theta + epsilon) * x - (theta - epsilon) * x) / (2 * epsilon)
    grad = x
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
