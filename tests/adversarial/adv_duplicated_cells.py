"""Correct, with a solution cell and a test cell duplicated (copy and paste): graded normally."""
# mutate: duplicate-cell gradient_check
# mutate: duplicate-cell test_gradient_check__epsilon
# expect-note: cells that appear more than once were graded once
