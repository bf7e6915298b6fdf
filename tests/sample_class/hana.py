"""Correct, but submitted a day and an hour after the deadline: 10 % off per started day."""
# submitted-at: 2026-11-22 01:00:00.000000 UTC
# expect-late: 10
