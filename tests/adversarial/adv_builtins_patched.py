"""Tampers with builtins (abs, round, AssertionError) and returns a constant difference."""
# expect: gradient_check=0

# %% gradient_check
import builtins
builtins.abs = lambda value: 0.0
builtins.round = lambda value, digits=0: 0.0
builtins.AssertionError = type("Harmless", (Exception,), {})

def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    return 1e-12
