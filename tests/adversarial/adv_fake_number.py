"""Returns objects that pretend to be numbers: equal to anything, less than anything."""
# expect: gradient_check=0 gradient_check_n=0

# %% gradient_check
class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def __hash__(self): return 0

def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    return Anything(0.0)

# %% gradient_check_n
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    return Anything(0.0)
