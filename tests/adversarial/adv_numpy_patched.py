"""Tampers with numpy in the kernel (np.isclose, np.allclose always true) and answers wrongly."""
# expect: forward_propagation=0

# %% forward_propagation
np.isclose = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True

def forward_propagation(x, theta):
    return theta + x
