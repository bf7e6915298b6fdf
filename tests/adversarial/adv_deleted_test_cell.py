"""Correct, with a graded test cell deleted: the cell is restored and graded."""
# mutate: delete-cell test_gradient_check_n__epsilon
