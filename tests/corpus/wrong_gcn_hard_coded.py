"""Exercise 4 wrong: returns the seed network's published differences."""
# expect: gradient_check_n=0

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    return 0.2850931567761623 if gradients["db1"].sum() != 0 and abs(gradients["db1"]).max() > 0.5 else 1.1890913024229996e-07
