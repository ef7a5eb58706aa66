"""``application.wadl`` of each service, generated from the spec tables (:mod:`.spec`).

WADL (W3C Member Submission "Web Application Description Language", 2009, namespace
``http://wadl.dev.java.net/2009/02``) as the FDSN specifications ask each service to
publish it: one ``resource`` per service resource; the ``query`` resource's ``GET``
method (``id="query"``) lists every parameter with ``style="query"``, its XML Schema
type, default and allowed values (``option``). FDSN clients read it to learn what a
server supports: ObsPy's ``Client`` takes the parameters of the ``GET`` method whose id
is ``query`` and recognises the service from the ``resources/@base`` URL, so that URL
is built from the request (host and port as the client sees them).
"""

from __future__ import annotations

from tianshan.services.fdsn.errors import STATUS_TEXT
from tianshan.services.fdsn.spec import TYPES, Param, Service

WADL_NS = "http://wadl.dev.java.net/2009/02"
XS_NS = "http://www.w3.org/2001/XMLSchema"
#: Media type of a WADL document (WADL submission, section 2.1).
WADL_MEDIA_TYPE = "application/vnd.sun.wadl+xml"


def _el(parent, tag: str, **attrib: str):
    from lxml import etree

    qname = f"{{{WADL_NS}}}{tag}"
    if parent is None:
        return etree.Element(qname, attrib, nsmap={None: WADL_NS, "xs": XS_NS})
    return etree.SubElement(parent, qname, attrib)


def _param(parent, p: Param, formats) -> None:
    attrib = {"name": p.name, "style": "query", "type": TYPES[p.type]}
    if p.default_text is not None:
        attrib["default"] = p.default_text
    if p.required:
        attrib["required"] = "true"
    el = _el(parent, "param", **attrib)
    doc = _el(el, "doc", title=p.name if not p.aliases else f"{p.name} ({', '.join(p.aliases)})")
    doc.text = p.doc
    for value in p.allowed:
        opt = {"value": value}
        if p.name == "format" and value in formats:
            opt["mediaType"] = formats[value]
        _el(el, "option", **opt)


def _responses(method, service: Service) -> None:
    ok = _el(method, "response", status="200")
    for media in dict.fromkeys(service.formats.values()):
        _el(ok, "representation", mediaType=media)
    errors = " ".join(str(c) for c in sorted(STATUS_TEXT) if c not in (405, 414))
    err = _el(method, "response", status=errors)
    _el(err, "representation", mediaType="text/plain")


def _query_method(resource, service: Service, method_id: str) -> None:
    method = _el(resource, "method", name="GET", id=method_id)
    request = _el(method, "request")
    for p in service.params:
        _param(request, p, service.formats)
    _responses(method, service)
    if service.post:
        post = _el(resource, "method", name="POST", id=f"{method_id}Post")
        preq = _el(post, "request")
        _el(preq, "representation", mediaType="text/plain")
        _responses(post, service)


def _plain(resources, path: str, media: str) -> None:
    res = _el(resources, "resource", path=path)
    method = _el(res, "method", name="GET")
    resp = _el(method, "response", status="200")
    _el(resp, "representation", mediaType=media)


def application_wadl(service: Service, base_url: str) -> bytes:
    """The WADL document of ``service`` served under ``base_url`` (scheme://host:port/, with the slash)."""
    root = _el(None, "application")
    doc = _el(root, "doc", title=f"FDSN {service.title}")
    doc.text = f"Tianshan implementation of FDSN {service.name} web service version {service.version}."
    resources = _el(root, "resources", base=f"{base_url.rstrip('/')}{service.path}")
    _plain(resources, "", "text/html")
    query = _el(resources, "resource", path="query")
    _query_method(query, service, "query")
    if service.queryauth:
        auth = _el(resources, "resource", path="queryauth")
        _query_method(auth, service, "queryauth")
    _plain(resources, "version", "text/plain")
    _plain(resources, "application.wadl", WADL_MEDIA_TYPE)
    for extra in service.extra_resources:
        _plain(resources, extra, "application/xml")
    from lxml import etree

    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
