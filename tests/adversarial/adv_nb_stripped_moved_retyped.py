"""Correct, but an editor stripped every cell's metadata and id, and the student moved Exercise 3 to
the end and turned Exercise 1 into a markdown cell: graded on its merits."""
# mutate: move-cell gradient_check end
# mutate: retype-cell forward_propagation markdown
# mutate: strip-metadata
# expect-note: no nbgrader metadata
# expect-note: was a markdown cell; it was graded as code
