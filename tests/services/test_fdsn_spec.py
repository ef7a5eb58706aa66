"""The FDSN spec tables and what reads them: validation, WADL, docs, error bodies; auth, rate limit, geometry.

Independent references: ObsPy's own tables of the standard FDSN parameters and aliases
(``obspy.clients.fdsn.header``), ObsPy's WADL parser, RFC 2617's worked Digest example,
and great-circle distances known in closed form.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.services.fdsn.errors import BadRequest, FDSNError, TooLarge, error_body
from tianshan.services.fdsn.params import MAX_POST_LINES, parse_items, parse_post, parse_time
from tianshan.services.fdsn.spec import DATASELECT, EVENT, SERVICES, STATION

UTC = timezone.utc


# --------------------------------------------------------------------------- tables vs ObsPy's

@pytest.mark.parametrize("name", ["event", "station", "dataselect"])
def test_spec_has_every_standard_parameter_obspy_knows(name):
    from obspy.clients.fdsn.header import DEFAULT_PARAMETERS, OPTIONAL_PARAMETERS, PARAMETER_ALIASES

    service = SERVICES[name]
    names = {p.name for p in service.params}
    assert set(DEFAULT_PARAMETERS[name]) <= names
    assert set(OPTIONAL_PARAMETERS[name]) <= names
    for alias, long_name in PARAMETER_ALIASES.items():
        if long_name in names:
            assert service.param(alias).name == long_name


@pytest.mark.parametrize("name", ["event", "station", "dataselect"])
def test_wadl_is_read_by_obspy_with_the_spec_types_and_defaults(name):
    from obspy import UTCDateTime
    from obspy.clients.fdsn.wadl_parser import WADLParser

    from tianshan.services.fdsn.wadl import application_wadl

    service = SERVICES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ObsPy warns when a standard parameter is missing
        parsed = WADLParser(application_wadl(service, "http://example.org:8080/")).parameters
    assert set(parsed) == {p.name for p in service.params} - {"nodata"}  # ObsPy skips nodata by design
    types = {"time": UTCDateTime, "float": float, "int": int, "bool": bool, "text": str, "choice": str}
    for p in service.params:
        if p.name == "nodata":
            continue
        got = parsed[p.name]
        assert got["type"] is types[p.type], p.name
        assert got["default_value"] == p.default, p.name
        assert got["options"] == list(p.allowed), p.name


def test_wadl_base_url_names_the_service_and_the_request_host():
    from lxml import etree

    from tianshan.services.fdsn.wadl import WADL_NS, application_wadl

    doc = etree.fromstring(application_wadl(DATASELECT, "http://10.0.0.5:9000/"))
    base = doc.find(f"{{{WADL_NS}}}resources").get("base")
    assert base == "http://10.0.0.5:9000/fdsnws/dataselect/1/"
    paths = [r.get("path") for r in doc.iter(f"{{{WADL_NS}}}resource")]
    assert {"query", "queryauth", "version", "application.wadl"} <= set(paths)
    event_paths = [r.get("path") for r in etree.fromstring(application_wadl(EVENT, "http://h/")).iter(
        f"{{{WADL_NS}}}resource")]
    assert {"catalogs", "contributors"} <= set(event_paths) and "queryauth" not in event_paths


def test_docs_page_lists_every_parameter_and_alias():
    from tianshan.services.fdsn.docs import service_page

    for service in SERVICES.values():
        page = service_page(service)
        for p in service.params:
            assert f"<td>{p.name}</td>" in page
            for alias in p.aliases:
                assert alias in page


# --------------------------------------------------------------------------- validation

def test_aliases_defaults_and_conversions():
    q = parse_items(EVENT, [("start", "2024-05-01"), ("minmag", "3.5"), ("includeallorigins", "TRUE"),
                            ("orderby", "Magnitude-ASC"), ("limit", "10")])
    assert q["starttime"] == datetime(2024, 5, 1, tzinfo=UTC)
    assert q["minmagnitude"] == 3.5 and q["includeallorigins"] is True and q["orderby"] == "magnitude-asc"
    assert q["limit"] == 10 and q["offset"] == 1 and q["format"] == "xml" and q["nodata"] == "204"
    assert q["includearrivals"] is False and q["endtime"] is None
    assert q.has("starttime") and not q.has("endtime")


def test_times_in_every_allowed_form():
    assert parse_time("2024-05-01", "t") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_time("2024-05-01T12:30:15", "t") == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    assert parse_time("2024-05-01T12:30:15.5Z", "t") == datetime(2024, 5, 1, 12, 30, 15, 500000, tzinfo=UTC)
    assert parse_time("2024-05-01T12:30:15.123456789", "t").microsecond == 123456  # truncated
    for bad in ("2024-13-01", "yesterday", "2024-05-01T25:00:00", "2024/05/01", "1714565400"):
        with pytest.raises(BadRequest):
            parse_time(bad, "starttime")


@pytest.mark.parametrize("items, words", [
    ([("foo", "1")], "unknown parameter"),
    ([("start", "2024-01-01"), ("starttime", "2024-01-02")], "more than once"),
    ([("minlatitude", "95")], "minlatitude"),
    ([("minlatitude", "abc")], "a number"),
    ([("limit", "0")], "limit"),
    ([("limit", "2.5")], "integer"),
    ([("includearrivals", "yes")], "true or false"),
    ([("orderby", "depth")], "orderby"),
    ([("format", "json")], "format"),
    ([("nodata", "500")], "nodata"),
    ([("starttime", "2024-02-01"), ("endtime", "2024-01-01")], "starttime must not be greater"),
    ([("minmagnitude", "5"), ("maxmagnitude", "4")], "minmagnitude"),
    ([("minradius", "nan")], "finite"),
    ([("eventid", "")], "empty"),
])
def test_bad_event_parameters_are_400(items, words):
    with pytest.raises(BadRequest) as err:
        parse_items(EVENT, items)
    assert err.value.code == 400 and words in err.value.detail


def test_code_lists_wildcards_and_empty_location():
    q = parse_items(STATION, [("net", "TS,XJ"), ("sta", "LU*,X?NH"), ("loc", "--,00"), ("cha", "HH?")])
    assert q["network"] == ("TS", "XJ") and q["station"] == ("LU*", "X?NH")
    assert q["location"] == ("", "00") and q["channel"] == ("HH?",)
    assert parse_items(STATION, [])["network"] == ("*",)
    for bad in ("T S", "TS;DROP TABLE", "TS,,XJ", "ABCDEFGHIJ"):
        with pytest.raises(BadRequest):
            parse_items(STATION, [("network", bad)])


def test_post_body_header_then_lines():
    body = (b"quality=B\nlongestonly=true\n\n# a comment\nTS LUNT -- HH? 2024-05-01T00:00:00 2024-05-01T01:00:00\n"
            b"TS XIN* 00 HHZ,HHN 2024-05-01 2024-05-02\n")
    q, lines = parse_post(DATASELECT, body, open_times=False)
    assert q["longestonly"] is True and q["quality"] == "B"
    assert [(s.network, s.station, s.location, s.channel) for s in lines] == [
        (("TS",), ("LUNT",), ("",), ("HH?",)), (("TS",), ("XIN*",), ("00",), ("HHZ", "HHN"))]
    assert lines[1].end == datetime(2024, 5, 2, tzinfo=UTC)
    q, lines = parse_post(STATION, b"level=channel\nTS * * * * *\n", open_times=True)
    assert q["level"] == "channel" and lines[0].start is None and lines[0].end is None


@pytest.mark.parametrize("body, words", [
    (b"TS LUNT 00 HHZ 2024-05-01\n", "NET STA LOC CHA START END"),
    (b"TS LUNT 00 HHZ * *\n", "not a time"),
    (b"TS LUNT 00 HHZ 2024-05-02 2024-05-01\n", "start is after end"),
    (b"TS LUNT 00 HHZ 2024-05-01 2024-05-02\nquality=B\n", "must come before"),
    (b"network=TS\nTS LUNT 00 HHZ 2024-05-01 2024-05-02\n", "not allowed as key=value"),
    (b"quality=B\n", "no request lines"),
    (b"\xff\xfe", "UTF-8"),
])
def test_bad_post_bodies_are_400(body, words):
    with pytest.raises(BadRequest) as err:
        parse_post(DATASELECT, body, open_times=False)
    assert words in err.value.detail


def test_post_with_too_many_lines_is_413():
    body = b"".join(b"TS LUNT 00 HHZ 2024-05-01 2024-05-02\n" for _ in range(MAX_POST_LINES + 1))
    with pytest.raises(TooLarge):
        parse_post(DATASELECT, body, open_times=False)


def test_error_body_has_the_spec_layout():
    when = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    body = error_body(413, "too big", "http://h/fdsnws/dataselect/1/query?x=1", when, "1.1.0",
                      "http://h/fdsnws/dataselect/1/")
    assert body.splitlines() == [
        "Error 413: Payload Too Large", "", "too big", "",
        "Usage details are available from http://h/fdsnws/dataselect/1/", "",
        "Request:", "http://h/fdsnws/dataselect/1/query?x=1", "",
        "Request Submitted:", "2024-05-01T12:00:00.123456Z", "",
        "Service version:", "1.1.0"]
    with pytest.raises(ValueError):
        FDSNError(418, "teapot")


# --------------------------------------------------------------------------- Digest, tokens, rate limit

def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _digest_response(user, realm, password, method, uri, nonce, nc, cnonce):
    """RFC 2617 section 3.2.2.1 request-digest with qop=auth (written here independently of the server)."""
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")


def test_digest_formula_reproduces_the_rfc_2617_example():
    got = _digest_response("Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
                           "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b")
    assert got == "6629fae49393a05397450978507c4ef1"  # RFC 2617, section 3.5


def _header(user, realm, password, method, uri, nonce, nc="00000001", cnonce="0a4f113b"):
    resp = _digest_response(user, realm, password, method, uri, nonce, nc, cnonce)
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{resp}", '
            f'qop=auth, nc={nc}, cnonce="{cnonce}", algorithm="MD5"')


def test_digest_authentication_accepts_only_the_right_answer():
    from tianshan.services.fdsn.auth import Authenticator, Credentials

    auth = Authenticator(Credentials.from_passwords({"alice": "s3cret"}), nonce_ttl_s=300, secret=b"k" * 32)
    uri = "/fdsnws/dataselect/1/queryauth?net=TS&start=2024-05-01"
    nonce = auth.new_nonce(now=1000.0)
    ok = _header("alice", "FDSN", "s3cret", "GET", uri, nonce)
    assert auth.check(ok, "GET", uri, now=1010.0).user == "alice"
    assert auth.check(ok, "POST", uri, now=1010.0).user is None                     # method is signed
    assert auth.check(ok, "GET", uri + "&sta=X", now=1010.0).user is None            # uri must be the target
    assert auth.check(_header("alice", "FDSN", "wrong", "GET", uri, nonce), "GET", uri, now=1010.0).user is None
    assert auth.check(_header("bob", "FDSN", "s3cret", "GET", uri, nonce), "GET", uri, now=1010.0).user is None
    forged = nonce.rsplit(".", 1)[0] + ".0000"
    assert auth.check(_header("alice", "FDSN", "s3cret", "GET", uri, forged), "GET", uri, now=1010.0).user is None
    late = auth.check(ok, "GET", uri, now=1000.0 + 301)
    assert late.user is None and late.stale
    assert 'stale=true' in auth.challenge(stale=True) and 'qop="auth"' in auth.challenge()
    assert auth.check(None, "GET", uri).user is None
    assert auth.check("Basic YWxpY2U6czNjcmV0", "GET", uri).user is None


def test_bearer_tokens_and_credential_files(tmp_path):
    from tianshan.core.errors import InputError
    from tianshan.services.fdsn.auth import Authenticator, Credentials, ha1, token_digest

    (tmp_path / "htdigest").write_text(f"# users\nalice:FDSN:{ha1('alice', 'FDSN', 'pw')}\n"
                                       f"carol:other:{ha1('carol', 'other', 'pw')}\n")
    (tmp_path / "tokens").write_text(f"robot:{token_digest('tok-123')}\n")
    creds = Credentials.from_files(tmp_path / "htdigest", tmp_path / "tokens")
    assert set(creds.ha1_by_user) == {"alice"}  # carol is in another realm
    auth = Authenticator(creds)
    assert auth.check("Bearer tok-123", "GET", "/x").user == "robot"
    assert auth.check("Bearer tok-124", "GET", "/x").user is None
    (tmp_path / "bad").write_text("alice:FDSN:nothex\n")
    with pytest.raises(InputError):
        Credentials.from_files(tmp_path / "bad")
    with pytest.raises(InputError):
        Credentials.from_files(tmp_path / "missing")


def test_rate_limiter_token_bucket():
    from tianshan.services.fdsn.auth import RateLimiter, retry_after_header

    rl = RateLimiter(rate_per_s=2.0, burst=3)
    assert [rl.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.take("a", now=0.0)
    assert wait == pytest.approx(0.5) and retry_after_header(wait) == "1"
    assert rl.take("b", now=0.0) == 0.0          # per client
    assert rl.take("a", now=0.5) == 0.0          # one token back after 1 / rate
    assert rl.take("a", now=0.5) > 0.0
    assert rl.take("a", now=100.0) == 0.0        # refilled, capped at burst
    assert [rl.take("a", now=100.0) for _ in range(3)].count(0.0) == 2
    small = RateLimiter(1.0, 1, max_clients=10)
    for i in range(50):
        small.take(f"c{i}", now=float(i))
    assert len(small._buckets) <= 10


# --------------------------------------------------------------------------- geometry

def test_great_circle_distances_known_in_closed_form():
    from tianshan.services.fdsn.geo import distance_deg

    assert distance_deg(0, 0, 0, 90) == pytest.approx(90.0)
    assert distance_deg(0, 0, 90, 0) == pytest.approx(90.0)
    assert distance_deg(10, 20, -10, -160) == pytest.approx(180.0)
    assert distance_deg(41.0, 84.0, 41.0, 84.0) == 0.0
    assert distance_deg(0, 179.5, 0, -179.5) == pytest.approx(1.0)
    # spherical law of cosines for a mid-range pair
    p1, l1, p2, l2 = map(math.radians, (41.95, 84.3, 43.8, 87.6))
    ref = math.degrees(math.acos(math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)))
    assert distance_deg(41.95, 84.3, 43.8, 87.6) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("lat, lon, r", [(41.95, 84.3, 2.0), (0.0, 179.0, 5.0), (80.0, -30.0, 15.0),
                                         (-60.0, -179.9, 1.0)])
def test_radius_bounding_box_holds_every_point_of_the_cap(lat, lon, r):
    from tianshan.services.fdsn.geo import Area, distance_deg

    area = Area(latitude=lat, longitude=lon, max_radius=r)
    south, north, west, east = area.radius_box()
    box = Area(south, north, west, east)
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(-90, 90, 200_000), rng.uniform(-180, 180, 200_000)])
    inside = [(a, b) for a, b in pts if distance_deg(lat, lon, a, b) <= r]
    assert len(inside) > 5
    assert all(box.contains(a, b) for a, b in inside)
    assert all(area.contains(a, b) for a, b in inside)


def test_box_across_the_antimeridian():
    from tianshan.services.fdsn.geo import Area

    box = Area(-10, 10, 170, -170)
    assert box.contains(0, 175) and box.contains(0, -175) and not box.contains(0, 0)
    assert not Area(-10, 10, -20, 20).contains(None, None) and Area().contains(None, None)
