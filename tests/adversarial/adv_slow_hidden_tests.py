"""Correct, but gradient_check_n sleeps (4 s in the test batch) whenever the hidden tests call it on their networks:
the hidden tests' time budget runs out, the rest of its tests fail with that reason, and the batch
waits at most the budget (10 s in the test batch, 60 s by default)."""
# expect: gradient_check_n=0
# expect-failure: time budget

# %% gradient_check_n
import time


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    if X.shape != (4, 3):  # not the seed's case, which the visible tests use
        time.sleep(SLOW_SECONDS)
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    approx = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i] += epsilon
        minus[i] -= epsilon
        approx[i] = (forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))[0]
                     - forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))[0]) / (2 * epsilon)
    return np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))
