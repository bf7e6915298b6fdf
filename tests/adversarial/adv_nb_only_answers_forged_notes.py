"""Correct answers only: every read-only cell deleted, and metadata that forges intake notes. The
cells are restored, and the forged notes never reach the report."""
# mutate: keep-only-answers
# mutate: forge-notes
# expect-note: read-only cells that were missing were restored
# expect-no-note: FORGED
