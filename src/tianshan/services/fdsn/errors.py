"""FDSN error responses: the status codes and the plain-text error body of the specification.

FDSN Web Service Specifications 1.2, "Error handling": an error answers with an
HTTP status code and a text body of this shape::

    Error 400: Bad Request

    <detail>

    Usage details are available from <service documentation URL>

    Request:
    <the submitted URL>

    Request Submitted:
    <UTC time the request arrived>

    Service version:
    <three-level version of the service>

Codes used here: 204 (no data, the default of ``nodata``), 400 (bad request),
401 (authentication required, with a ``WWW-Authenticate`` challenge), 403
(authentication failed or restricted data), 404 (no data with ``nodata=404``, or an
unknown resource), 413 (request too large), 429 (too many requests, with
``Retry-After``), 500 (internal error) and 503 (the store cannot be reached).
A 204 has no body.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Mapping

#: Status line texts of the codes the services answer with (RFC 9110; 429: RFC 6585).
STATUS_TEXT: Mapping[int, str] = MappingProxyType({
    204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 413: "Payload Too Large", 414: "URI Too Long", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable"})


class FDSNError(Exception):
    """A request the service answers with an error status (never a crash).

    ``detail`` is the explanation shown in the body; ``headers`` are added to the
    response (``WWW-Authenticate`` for 401, ``Retry-After`` for 429).
    """

    def __init__(self, code: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        if code not in STATUS_TEXT:
            raise ValueError(f"unsupported FDSN status code {code}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


class BadRequest(FDSNError):
    """400: a parameter or request line the service cannot use."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


class NoData(FDSNError):
    """Nothing matches: 204 without a body, or 404 with one when the request said ``nodata=404``."""

    def __init__(self, detail: str = "No data matches the selection") -> None:
        super().__init__(204, detail)


class TooLarge(FDSNError):
    """413: the answer would exceed a configured limit."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


def error_body(code: int, detail: str, request_url: str, submitted: datetime, service_version: str,
               doc_url: str) -> str:
    """The spec's plain-text error body (see the module docstring)."""
    when = submitted.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    detail = detail.strip() or STATUS_TEXT[code]
    return (f"Error {code}: {STATUS_TEXT[code]}\n\n{detail}\n\n"
            f"Usage details are available from {doc_url}\n\n"
            f"Request:\n{request_url}\n\n"
            f"Request Submitted:\n{when}\n\n"
            f"Service version:\n{service_version}\n")
