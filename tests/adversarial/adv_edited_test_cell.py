"""Wrong Exercise 1 with its test cell edited to do nothing: the test is restored and fails."""
# expect-note: read-only cells that were edited were restored: test_forward_propagation
# mutate: edit-cell test_forward_propagation
# expect: forward_propagation=0

# %% forward_propagation
def forward_propagation(x, theta):
    return theta - x
