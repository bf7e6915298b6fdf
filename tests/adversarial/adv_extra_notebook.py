"""Correct, with an extra scratch notebook in the folder: ignored with a note."""
# mutate: extra-notebook
# expect-note: other notebooks were not graded: scratch.ipynb
