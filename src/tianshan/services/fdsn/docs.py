"""HTML documentation pages of the services, written from the spec tables (:mod:`.spec`).

``/fdsnws/<service>/<major>/`` shows the service's resources, the parameter table
(name, aliases, type, default, allowed values, meaning), the output formats and the
data centre's choices (:data:`.spec.NOTES`); ``/fdsnws/`` lists the services offered.
Self-contained HTML (no scripts, no external assets).
"""

from __future__ import annotations

from html import escape
from typing import Iterable

from tianshan.services.fdsn.spec import NOTES, Service

_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
          "vertical-align:top}code{background:#f4f4f4}")


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>\n")


def service_page(service: Service) -> str:
    """The documentation page of ``service``."""
    rows = []
    for p in service.params:
        default = "" if p.default_text is None else p.default_text
        rows.append("<tr>" + "".join(f"<td>{escape(x)}</td>" for x in (
            p.name, ", ".join(p.aliases), p.type + (" list" if p.multiple else ""), default,
            ", ".join(p.allowed), p.doc)) + "</tr>")
    resources = ["query"] + (["queryauth"] if service.queryauth else []) + ["version", "application.wadl"]
    resources += list(service.extra_resources)
    links = "".join(f'<li><a href="{escape(r)}"><code>{escape(service.path + r)}</code></a></li>' for r in resources)
    formats = "".join(f"<li><code>{escape(k)}</code>: {escape(v)}</li>" for k, v in service.formats.items())
    notes = "".join(f"<li>{escape(n)}</li>" for n in NOTES.get(service.name, ()))
    methods = "GET" + (" and POST (bulk request lines)" if service.post else "")
    body = (f"<h1>{escape(service.title)}</h1><p>FDSN {escape(service.name)} web service, "
            f"version {escape(service.version)}; {methods}.</p><h2>Resources</h2><ul>{links}</ul>"
            "<h2>Parameters</h2><table><tr><th>name</th><th>aliases</th><th>type</th><th>default</th>"
            f"<th>allowed</th><th>meaning</th></tr>{''.join(rows)}</table>"
            f"<h2>Formats</h2><ul>{formats}</ul><h2>Notes</h2><ul>{notes}</ul>")
    return _page(f"fdsnws-{service.name}", body)


def index_page(services: Iterable[Service]) -> str:
    """``/fdsnws/``: the services this server offers."""
    items = "".join(f'<li><a href="{escape(s.name)}/{escape(s.major)}/">{escape(s.title)}</a> '
                    f"(version {escape(s.version)})</li>" for s in services)
    return _page("FDSN web services", f"<h1>FDSN web services</h1><ul>{items}</ul>")
