"""The one place where strings from the data (data set, attribute, group, feature, category and
model names, outcome words) are made safe for the report's outputs.

A data string passes through two steps:

1. :func:`plain` neutralises it as text: bidirectional controls (U+202A-U+202E embeddings and
   overrides, U+2066-U+2069 isolates, and the marks U+200E, U+200F, U+061C) are removed so a
   name cannot reverse the sentence around it; line breaks and other control characters
   (C0, C1, U+2028, U+2029) become one space so a name cannot start a new Markdown block.
2. A renderer places it. Sentences are written with the data strings wrapped by :func:`mark`
   (private-use delimiters the data itself can never contain after :func:`plain`); each output
   then renders the marked spans its own way: ``<bdi title="full name">short name</bdi>`` in
   HTML (:func:`to_html`), every ASCII punctuation character backslash-escaped in Markdown
   (:func:`to_markdown`, CommonMark treats any escaped punctuation as a literal), the shortened
   plain text in JSON (:func:`to_text`). Plot labels (:func:`plot_label`) escape only ``&``,
   ``<`` and ``>``: plotly.js renders a small subset of HTML and decodes exactly these entities
   (``&quot;`` would be shown literally).

Long names (over :data:`MAX_CHARS` characters) are shortened with an ellipsis wherever they sit
in running text or legends (:func:`shorten`); the full name stays in the HTML tooltip, the
"Names in full" list of the Markdown and the JSON's data fields.

Source: issue #26 items 1-3 and 5; Unicode Standard Annex #9 (bidi controls); CommonMark 0.31
§2.4 (backslash escapes).
"""

from __future__ import annotations

import html
import re
from typing import Any

#: longest name shown in full in sentences, headings and table cells
MAX_CHARS = 60
#: longest name shown in plot legends, titles and hovers
PLOT_CHARS = 40

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# C0 and C1 controls (line breaks, tabs, NUL, ...), Unicode line/paragraph separators, and the
# two private-use code points used as delimiters by ``mark``.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ue000\ue001]+")
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}")
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def plain(value: Any) -> str:
    """A data string as neutral one-line text (bidi controls removed, breaks -> one space)."""
    text = BIDI_CONTROLS.sub("", str(value))
    return _BREAKS.sub(" ", text).strip()


def shorten(value: Any, limit: int = MAX_CHARS) -> str:
    """:func:`plain`, cut to ``limit`` characters with an ellipsis when longer."""
    text = plain(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def is_long(value: Any, limit: int = MAX_CHARS) -> bool:
    return len(plain(value)) > limit


def mark(value: Any) -> str:
    """A data string to embed in a sentence; renderers find and place it (``to_*``)."""
    return f"{_OPEN}{plain(value)}{_CLOSE}"


def _render(sentence: str, template: Any, data: Any) -> str:
    out, pos = [], 0
    for m in _MARKED.finditer(sentence):
        out.append(template(sentence[pos : m.start()]))
        out.append(data(m.group(1)))
        pos = m.end()
    out.append(template(sentence[pos:]))
    return "".join(out)


def html_data(value: Any, limit: int = MAX_CHARS) -> str:
    """One data string as an isolated HTML fragment: ``<bdi>``, shortened with the full name as
    its tooltip."""
    full = plain(value)
    short = shorten(full, limit)
    title = f' title="{html.escape(full, quote=True)}"' if short != full else ""
    return f"<bdi{title}>{html.escape(short, quote=True)}</bdi>"


def md_data(value: Any, limit: int = MAX_CHARS) -> str:
    """One data string as literal Markdown text: ``&``, ``<``, ``>`` as HTML entities (no raw
    HTML even in a lax renderer), every other ASCII punctuation character backslash-escaped (no
    list marker, heading, table, link, emphasis or code span can form)."""
    return _MD_PUNCT.sub(_md_char, shorten(value, limit))


def _md_char(m: re.Match[str]) -> str:
    c = m.group(1)
    return _MD_ENTITIES.get(c) or "\\" + c


def md_template(text: str) -> str:
    """Our own sentence text in Markdown (only the characters that would form markup)."""
    return re.sub(r"([\\`*_\[\]|#<>])", r"\\\1", text)


def to_html(sentence: str) -> str:
    return _render(sentence, lambda t: html.escape(t, quote=True), html_data)


def to_markdown(sentence: str) -> str:
    return _render(sentence, md_template, md_data)


def to_text(sentence: str) -> str:
    return _render(sentence, str, shorten)


def plot_label(value: Any, limit: int = PLOT_CHARS) -> str:
    """A data string for plotly text (legend, title, axis, hover): shortened, with exactly the
    entities plotly.js decodes (``&amp;``, ``&lt;``, ``&gt;``) so it shows the name itself and
    no markup can form."""
    text = shorten(value, limit)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def long_names(names: Any, limit: int = MAX_CHARS) -> list[str]:
    """The distinct names (in order) that are shortened somewhere, for a full-name list."""
    return list(dict.fromkeys(plain(n) for n in names if is_long(n, limit)))
