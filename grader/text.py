"""Text that came from a student, made safe to print in a terminal or a report."""

import re

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # C0 but \t \n, C1, bidi overrides


def printable(text: object, limit: int | None = None) -> str:
    """text without control characters (terminal escapes, NULs, bidi overrides), at most limit
    characters, cut at a word boundary with an ellipsis. returns: str"""
    text = CONTROL.sub(" ", str(text))
    if limit is not None and len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0]
        text = (cut if len(cut) > limit // 2 else text[:limit]).rstrip(" ,;:") + "…"
    return text


def one_line(text: object, limit: int | None = None) -> str:
    """printable(text), with line breaks and tabs as spaces too. returns: str"""
    return printable(re.sub(r"\s+", " ", str(text)).strip(), limit)
