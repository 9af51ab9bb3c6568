"""Renderers of a fitted FairnessReport (re-exports): FactSheet JSON (``_render_json``), Markdown
per audience (``_render_markdown``), one offline HTML page (``_render_html``), sharing the wording
of ``_render_text``."""

from ._render_html import html_page
from ._render_json import factsheet
from ._render_markdown import markdown, md_escape
from ._render_text import findings, probe_sentences

__all__ = ["factsheet", "findings", "html_page", "markdown", "md_escape", "probe_sentences"]
