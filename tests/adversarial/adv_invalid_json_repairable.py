"""Correct, but the file has junk after the JSON: repaired and graded."""
# mutate: invalid-json trailing
# expect-note: the text after it was ignored
