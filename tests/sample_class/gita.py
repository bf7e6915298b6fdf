"""Full marks, differently: vectorised helpers, np.abs, prints, a warning, NumPy scalars."""
# expect: forward_propagation=10 backward_propagation=10 gradient_check=10 gradient_check_n=20

# %% forward_propagation
def forward_propagation(x, theta):
    J = np.multiply(theta, x)
    return J

# %% backward_propagation
def backward_propagation(x, theta):
    print("computing dtheta")
    return np.float64(x)

# %% gradient_check
import warnings

def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    warnings.warn("checking in float64", UserWarning)
    thetaplus, thetaminus = theta + epsilon, theta - epsilon
    gradapprox = (forward_propagation(x, thetaplus) - forward_propagation(x, thetaminus)) / 2 / epsilon
    grad = backward_propagation(x, theta)
    difference = np.abs(grad - gradapprox) / (np.abs(grad) + np.abs(gradapprox))
    print("difference:", difference)
    return difference

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    n = theta.shape[0]
    steps = epsilon * np.eye(n)
    J_plus = np.array([forward_propagation_n(X, Y, vector_to_dictionary(theta[:, 0] + s, layout))[0] for s in steps])
    J_minus = np.array([forward_propagation_n(X, Y, vector_to_dictionary(theta[:, 0] - s, layout))[0] for s in steps])
    gradapprox = ((J_plus - J_minus) / (2 * epsilon)).reshape(grad.shape)
    difference = np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
    if print_msg:
        print("difference = " + str(difference))
    print("warning: float64 only", file=__import__("sys").stderr)
    return np.float64(difference)
