"""The student's folder is a link to alice's: refused, graded blank, alice's work untouched."""
# mutate: link-student alice
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0
# expect-note: the submission folder was a link
