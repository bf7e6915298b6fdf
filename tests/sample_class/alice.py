"""Full marks: loops over the dictionary instead of a vector, and fixes both bugs."""
# expect: forward_propagation=10 backward_propagation=10 gradient_check=10 gradient_check_n=20

# %% forward_propagation
def forward_propagation(x, theta):
    return theta * x

# %% backward_propagation
def backward_propagation(x, theta):
    return x

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    J_plus = forward_propagation(x, theta + epsilon)
    J_minus = forward_propagation(x, theta - epsilon)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    difference = abs(grad - gradapprox) / (abs(grad) + abs(gradapprox))
    if print_msg:
        print("difference =", difference, "ok" if difference < THRESHOLD else "WRONG")
    return difference

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad, approx = [], []
    for name, value in parameters.items():
        for index in np.ndindex(value.shape):
            shifted = {key: np.array(array, copy=True) for key, array in parameters.items()}
            shifted[name][index] = value[index] + epsilon
            J_plus, _ = forward_propagation_n(X, Y, shifted)
            shifted[name][index] = value[index] - epsilon
            J_minus, _ = forward_propagation_n(X, Y, shifted)
            approx.append((J_plus - J_minus) / (2 * epsilon))
            grad.append(gradients["d" + name][index])
    grad, approx = np.array(grad), np.array(approx)
    difference = np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))
    if print_msg:
        print(f"difference = {difference:.2e}")
    return difference

# %% fix-backward-propagation-n
def backward_propagation_n(X, Y, cache):
    m = X.shape[1]
    L = len(cache)
    gradients = {}
    dZ = cache[-1][1] - Y
    for layer in range(L, 0, -1):
        _, _, W, _ = cache[layer - 1]
        A_prev = X if layer == 1 else cache[layer - 2][1]
        gradients[f"dZ{layer}"] = dZ
        gradients[f"dW{layer}"] = 1.0 / m * np.dot(dZ, A_prev.T)
        gradients[f"db{layer}"] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        if layer > 1:
            dA_prev = np.dot(W.T, dZ)
            gradients[f"dA{layer - 1}"] = dA_prev
            dZ = np.multiply(dA_prev, np.int64(A_prev > 0))
    return gradients
