"""A submission folder without any notebook: it still gets a gradebook row, 0 points and a reason."""
# mutate: no-notebook
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0
# expect-note: the submission holds no notebook
