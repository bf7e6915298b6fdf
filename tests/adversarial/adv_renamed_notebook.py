"""Correct, but the notebook was renamed: it is graded under the assignment's name."""
# mutate: rename my_solution.ipynb
# expect-note: named 'my_solution.ipynb'
