"""The submission folder is a link to the master's assignment folder: refused, graded blank."""
# mutate: link-folder source
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0
# expect-note: the submission folder was a link
