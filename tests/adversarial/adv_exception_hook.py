"""Installs a custom exception handler that swallows every error, then answers with a crash."""
# expect: gradient_check=0

# %% gradient_check
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)

def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    raise ValueError("no answer")
