"""Installs an IPython input transformer that turns every later cell into nothing."""
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0

# %% forward_propagation
def forward_propagation(x, theta):
    return theta * x

get_ipython().input_transformers_cleanup.append(lambda lines: [])
