"""Correct, saved as nbformat 4.0 (no cell ids) with Windows line endings: graded normally."""
# mutate: nbformat-minor 0
# mutate: encoding crlf
# expect-note: CRLF
