"""Exercise 2 wrong: the derivative taken with respect to x."""
# expect: backward_propagation=0

# %% backward_propagation
def backward_propagation(x, theta):
    return theta
