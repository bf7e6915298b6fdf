"""The notebook is a link to the master notebook (solutions and hidden tests): refused, graded blank."""
# mutate: no-notebook
# mutate: link gradient_checking.ipynb master
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0
# expect-note: gradient_checking.ipynb (a symbolic link
# expect-note: holds no notebook
