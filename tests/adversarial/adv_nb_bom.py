"""Correct, saved with a UTF-8 byte-order mark (some Windows editors do): graded normally."""
# mutate: encoding bom
# expect-note: byte-order mark
