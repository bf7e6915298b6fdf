"""Sanitizers for HTML that nbconvert renders from student notebooks (formgrader and feedback).

Registered as Jinja filters in nbgrader_config.py:
    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.filters = {
        "strip_files_prefix": "grader.safe_html.sanitize_markdown",  # every rendered markdown cell
        "clean_html": "grader.safe_html.clean_html",                 # text/html + text/markdown outputs
    }
"""

import re

import bleach
from nbconvert.filters.strings import strip_files_prefix

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$", re.I)
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")
_DROP_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)


def _allow_attribute(tag, name, value):
    if tag == "a":
        if name == "title":
            return True
        if name == "class":
            return value == "anchor-link"
        if name == "href":  # web links and in-page anchors only: no javascript:, data:, or
            # relative links to files the student shipped (formgrader serves them at its origin)
            m = _SCHEME.match(value)
            return value.startswith("#") or bool(m and m.group(1).lower() in ("http", "https", "mailto"))
        return False
    if tag == "img":
        if name in ("alt", "title", "width", "height"):
            return True
        if name == "src":  # embedded raster images (attachments, base64) or relative files
            m = _SCHEME.match(value)
            return bool(_DATA_IMAGE.match(value)) if m else not value.lstrip().startswith("//")
        return False
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return name == "id"
    if tag in ("th", "td"):
        return name in ("align", "colspan", "rowspan")
    if tag == "ol":
        return name == "start"
    if tag in ("code", "pre", "span", "div", "table"):
        return name == "class"
    return False


_cleaner = bleach.Cleaner(
    tags=TAGS,
    attributes=_allow_attribute,
    protocols={"http", "https", "mailto", "data"},
    strip=True,
    strip_comments=True,
)


def clean_html(html):
    """Keep the markup that markdown, pandas and Pygments produce; drop everything active."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return _cleaner.clean(_DROP_BLOCKS.sub("", html))


def sanitize_markdown(html):
    """Replacement for the strip_files_prefix filter, which every template applies to markdown2html."""
    return clean_html(strip_files_prefix(html))
