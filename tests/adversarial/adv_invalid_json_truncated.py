"""The notebook file is cut in half: it cannot be read, so it is graded as blank, with a reason."""
# mutate: invalid-json truncated
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0
# expect-note: could not be read
