"""Exercise 3 wrong: perturbs x instead of theta (invisible while J is linear)."""
# expect: gradient_check=0

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x + epsilon, theta) - forward_propagation(x - epsilon, theta)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
