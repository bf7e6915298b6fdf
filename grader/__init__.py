"""Trusted grader-side code. It may import ``helpers``; nothing in ``helpers`` imports it, and
none of it is shipped to students."""
