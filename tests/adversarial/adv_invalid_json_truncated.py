"""The notebook file is cut off halfway, inside Exercise 4: every whole cell before the cut is graded,
the rest is restored from the release, with the reason."""
# mutate: invalid-json truncated
# expect: gradient_check_n=0
# expect-note: its first 17 cells were graded
