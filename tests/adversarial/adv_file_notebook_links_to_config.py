"""The notebook is a link to nbgrader_config.py, which a naive intake would overwrite: refused, blank."""
# mutate: no-notebook
# mutate: link gradient_checking.ipynb config
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0
# expect-note: gradient_checking.ipynb (a symbolic link
