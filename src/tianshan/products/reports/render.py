"""Shared rendering of the HTML/PDF reports: Jinja2 templates, WeasyPrint PDF, the CJK font.

Used by every report that people read on screen or on paper (the loss report
:mod:`.loss`, the consultation report); nothing here knows what a report says.

* **Templates** live in ``tianshan/products/reports/templates/`` (package data, ``*.html``).
  ``base.html`` holds the page layout and the print CSS (A4, page numbers, no break
  inside table rows, bilingual headings); a report template ``{% extends "base.html" %}``
  and fills the blocks ``title`` (the ``<title>``), ``header`` (the first lines) and
  ``content``. The CSS is inline so that the HTML file is self-contained and so that
  WeasyPrint renders the same page as a browser.
* :func:`render_html` renders a template with a context; autoescaping is on. Filters
  registered on the environment: ``num`` (thousands separators, ``digits`` decimals, "–"
  for None/NaN), ``pct`` (a probability 0..1 as a percentage), ``usd`` (US$ with k/M/B),
  ``roman`` (1..12 -> I..XII) and the global ``cjk_font_family`` (the family name the CSS
  puts first).
* :func:`pdf_bytes` / :func:`write_pdf` turn the HTML into PDF with WeasyPrint (the same
  HTML; ``base_url`` resolves relative links such as a sibling image). :func:`write_pdf`
  is atomic (:mod:`tianshan.io.atomic`).
* :func:`cjk_font_family` finds an installed font with Chinese glyphs -- Noto Sans CJK SC
  first (Debian ``fonts-noto-cjk``, which ``make system-deps`` installs), then other
  Simplified-Chinese families, then any CJK family -- through matplotlib's font list (the
  same system font folders fontconfig reads, which WeasyPrint uses). Without one, Chinese
  text in PDFs and figures would render as empty boxes: callers fall back to English-only
  figure labels and log a warning (:func:`cjk_font_available`).
* :func:`pdf_font_names` lists the fonts a PDF embeds (``/BaseFont`` names, looked up in
  the zlib-compressed object streams WeasyPrint writes); tests use it to check that a
  CJK font subset is embedded, i.e. that Chinese text rendered.

Nothing is fetched from the network: templates reference no outside URL and
:func:`pdf_bytes` fetches only ``data:`` and local ``file:`` URLs (others are skipped, as
WeasyPrint skips any resource it cannot fetch).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import zlib
from pathlib import Path

from tianshan.core.errors import InputError

__all__ = ["TEMPLATE_DIR", "CJK_PREFERRED", "environment", "render_html", "pdf_bytes", "write_pdf",
           "cjk_font_family", "cjk_font_available", "pdf_font_names", "format_number", "format_usd"]

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: CJK families in order of preference (Simplified Chinese glyph shapes first).
CJK_PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC", "Noto Serif CJK SC",
                 "Source Han Serif SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
                 "AR PL UMing CN", "AR PL UKai CN")
_CJK_WORDS = ("cjk", "wenquanyi", "source han", "noto sans sc", "noto serif sc", "hei", "song", "ming", "kai")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


# --------------------------------------------------------------------------- fonts


@functools.lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Family name of an installed font with Chinese glyphs (module docstring), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for want in CJK_PREFERRED:
        if want in names:
            return want
    others = sorted(n for n in names if any(w in n.lower() for w in _CJK_WORDS))
    sc = [n for n in others if n.endswith((" SC", " CN"))]
    return (sc or others or [None])[0]


def cjk_font_available() -> bool:
    """True when :func:`cjk_font_family` finds a font."""
    return cjk_font_family() is not None


def pdf_font_names(pdf: bytes | str | os.PathLike) -> set[str]:
    """Names of the fonts a PDF embeds (``/BaseFont``, subset prefix ``ABCDEF+`` kept), from its
    plain and zlib-compressed streams; ``pdf`` is the bytes or a path."""
    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    chunks = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    pat = re.compile(rb"/BaseFont\s*/([^\s/<>\[\]()]+)")
    return {n.decode("latin-1") for c in chunks for n in pat.findall(c)}


# --------------------------------------------------------------------------- formatting filters


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def format_number(x, digits: int = 0) -> str:
    """``12345.6`` -> ``"12,346"`` (``digits`` decimals); ``"–"`` for None/NaN/non-numbers."""
    if not _finite(x):
        return "–" if x is None or isinstance(x, float) else str(x)
    return f"{x:,.{digits}f}"


def format_usd(x) -> str:
    """US$ with a k/M/B suffix: ``2.3e8`` -> ``"US$230M"``."""
    if not _finite(x):
        return "–"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            v = x / div
            return f"US${v:,.3g}{suffix}" if v < 1000 else f"US${v:,.0f}{suffix}"
    return f"US${x:,.0f}"


def _pct(p, digits: int = 0) -> str:
    if not _finite(p):
        return "–"
    if 0 < p < 0.005 and digits == 0:
        return "<1%"
    return f"{100 * p:.{digits}f}%"


def _roman(n) -> str:
    try:
        k = int(n)
    except (TypeError, ValueError):
        return "–"
    return _ROMAN[k - 1] if 1 <= k <= 12 else str(n)


# --------------------------------------------------------------------------- templates


@functools.lru_cache(maxsize=4)
def environment(template_dir: str | None = None):
    """The Jinja2 environment over ``template_dir`` (default :data:`TEMPLATE_DIR`), autoescaping
    on, with the module docstring's filters; cached."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir or str(TEMPLATE_DIR)),
                             autoescape=jinja2.select_autoescape(("html", "xml")), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(num=format_number, usd=format_usd, pct=_pct, roman=_roman)
    env.globals["cjk_font_family"] = cjk_font_family() or "Noto Sans CJK SC"
    return env


def render_html(template: str, context: dict, *, template_dir: str | os.PathLike | None = None) -> str:
    """Render ``template`` (a file name in the template folder) with ``context``.

    A missing template or a context key the template needs is an :class:`InputError`
    naming the template.
    """
    import jinja2

    env = environment(None if template_dir is None else str(template_dir))
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateNotFound as err:
        raise InputError(f"no report template {err.name!r} in {env.loader.searchpath[0]}",
                         field="template") from None
    except jinja2.UndefinedError as err:
        raise InputError(f"report context is missing a value: {err.message}", source=template) from None


# --------------------------------------------------------------------------- PDF


def _local_fetcher():
    """A WeasyPrint URL fetcher limited to ``data:`` and ``file:`` URLs (no network)."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data", "file"), fail_on_errors=False)


def pdf_bytes(html: str, base_url: str | os.PathLike | None = None) -> bytes:
    """The PDF of ``html`` rendered by WeasyPrint (print CSS of the template); ``base_url`` (a
    folder) resolves relative links."""
    import weasyprint

    base = None
    if base_url is not None:
        base = Path(base_url).resolve().as_uri() + "/"
    if not cjk_font_available():
        log.warning("no CJK font installed (fonts-noto-cjk): Chinese text in the PDF will not render")
    # WeasyPrint logs every CSS property it ignores at WARNING; keep those out of the user's log.
    wlog = logging.getLogger("weasyprint")
    level = wlog.level
    wlog.setLevel(max(level, logging.ERROR))
    try:
        doc = weasyprint.HTML(string=html, base_url=base, url_fetcher=_local_fetcher()).render()
        return doc.write_pdf()
    finally:
        wlog.setLevel(level)


def write_pdf(html: str, path: str | os.PathLike, base_url: str | os.PathLike | None = None) -> Path:
    """Render ``html`` to a PDF file at ``path``, atomically (temporary file, then rename)."""
    from tianshan.io.atomic import atomic_write_bytes

    data = pdf_bytes(html, base_url)
    return atomic_write_bytes(path, data)
