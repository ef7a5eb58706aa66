"""The FDSN web service specifications as data: parameters, formats, versions, text columns.

One table per service -- fdsnws-event 1.2, fdsnws-station 1.1, fdsnws-dataselect 1.1
(FDSN Web Service Specifications, www.fdsn.org/webservices: "fdsnws-event 1.2",
"fdsnws-station 1.1", "fdsnws-dataselect 1.1") -- read by three consumers so that
they can never disagree:

* :mod:`.params` validates GET query strings and POST bodies against it (names,
  aliases, types, ranges, allowed values, which parameters a POST header may hold);
* :mod:`.wadl` writes ``application.wadl`` from it (what ObsPy's client reads to
  learn the parameters a server supports);
* :mod:`.docs` writes the HTML page of each service from it.

Parameter types are the spec's: ``time`` (``YYYY-MM-DD[THH:MM:SS[.ssssss]]``, UTC),
``float``, ``int``, ``bool`` (``true``/``false``), ``text`` and ``choice`` (one of
``allowed``). ``multiple`` marks comma-separated lists (network/station/location/
channel codes with ``*``/``?`` wildcards, event types). Units are the spec's: degrees,
kilometres for event depth, seconds for ``minimumlength``.

Tianshan choices where the spec leaves room (also listed in :data:`NOTES` for the docs):
a radius selection is active when any of latitude/longitude/minradius/maxradius is
given (the missing ones take the spec's defaults 0, 0, 0, 180); ``queryauth`` exists
for dataselect (the only service whose data can be restricted here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

#: Parameter types and the XML Schema type each has in the WADL.
TYPES: Mapping[str, str] = MappingProxyType({
    "time": "xs:dateTime", "float": "xs:double", "int": "xs:int", "bool": "xs:boolean",
    "text": "xs:string", "choice": "xs:string"})


@dataclass(frozen=True)
class Param:
    """One request parameter of a service.

    ``default`` is the value used when the parameter is absent (``None``: no
    constraint); ``allowed`` the values a ``choice`` accepts (compared without
    case); ``minimum``/``maximum`` bound numbers; ``post`` says whether the
    parameter may appear as ``key=value`` in a POST body header (codes and
    times travel in the request lines there instead).
    """

    name: str
    type: str
    doc: str
    default: object = None
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    multiple: bool = False
    post: bool = True
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")
        if (self.type == "choice") != bool(self.allowed):
            raise ValueError(f"parameter {self.name}: 'choice' needs allowed values and only it has them")

    @property
    def default_text(self) -> str | None:
        """The default as the spec and WADL write it (``None`` when there is none)."""
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


@dataclass(frozen=True)
class Service:
    """One FDSN web service: its version, parameters, formats and resources."""

    name: str
    version: str
    params: tuple[Param, ...]
    formats: Mapping[str, str]  # format value -> media type
    post: bool
    queryauth: bool
    title: str
    extra_resources: tuple[str, ...] = ()
    lookup: Mapping[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: dict[str, Param] = {}
        for p in self.params:
            for key in (p.name, *p.aliases):
                if key in table:
                    raise ValueError(f"{self.name}: parameter name {key!r} is used twice")
                table[key] = p
        object.__setattr__(self, "lookup", MappingProxyType(table))

    @property
    def major(self) -> str:
        return self.version.split(".")[0]

    @property
    def path(self) -> str:
        """URL path of the service, ``/fdsnws/<name>/<major>/``."""
        return f"/fdsnws/{self.name}/{self.major}/"

    def param(self, name: str) -> Param:
        """The parameter called ``name`` (long name or alias); KeyError if unknown."""
        return self.lookup[name]


# --------------------------------------------------------------------------- shared rows

def _times(start_doc: str, end_doc: str, post: bool = True) -> tuple[Param, ...]:
    return (Param("starttime", "time", start_doc, aliases=("start",), post=post),
            Param("endtime", "time", end_doc, aliases=("end",), post=post))


_GEO = (
    Param("minlatitude", "float", "Southern boundary of the box (degrees).", -90.0, ("minlat",), minimum=-90, maximum=90),
    Param("maxlatitude", "float", "Northern boundary of the box (degrees).", 90.0, ("maxlat",), minimum=-90, maximum=90),
    Param("minlongitude", "float", "Western boundary of the box (degrees); greater than maxlongitude "
          "for a box crossing the antimeridian.", -180.0, ("minlon",), minimum=-180, maximum=180),
    Param("maxlongitude", "float", "Eastern boundary of the box (degrees).", 180.0, ("maxlon",),
          minimum=-180, maximum=180),
    Param("latitude", "float", "Latitude of the centre of a radius search (degrees).", 0.0, ("lat",),
          minimum=-90, maximum=90),
    Param("longitude", "float", "Longitude of the centre of a radius search (degrees).", 0.0, ("lon",),
          minimum=-180, maximum=180),
    Param("minradius", "float", "Minimum great-circle distance from the centre (degrees).", 0.0,
          minimum=0, maximum=180),
    Param("maxradius", "float", "Maximum great-circle distance from the centre (degrees).", 180.0,
          minimum=0, maximum=180),
)

_CODES = (
    Param("network", "text", "Network codes, comma-separated; wildcards * and ?.", aliases=("net",),
          multiple=True, post=False),
    Param("station", "text", "Station codes, comma-separated; wildcards * and ?.", aliases=("sta",),
          multiple=True, post=False),
    Param("location", "text", "Location codes, comma-separated; wildcards * and ?; -- for an empty code.",
          aliases=("loc",), multiple=True, post=False),
    Param("channel", "text", "Channel codes, comma-separated; wildcards * and ?.", aliases=("cha",),
          multiple=True, post=False),
)


def _nodata() -> Param:
    return Param("nodata", "choice", "HTTP status when nothing matches: 204 (No Content) or 404 (Not Found).",
                 "204", allowed=("204", "404"))


#: QuakeML 1.2 event types (QuakeML BED 1.2, EventType enumeration) plus ``unknown`` (no type).
QUAKEML_EVENT_TYPES: tuple[str, ...] = (
    "not existing", "not reported", "earthquake", "anthropogenic event", "collapse", "cavity collapse",
    "mine collapse", "building collapse", "explosion", "accidental explosion", "chemical explosion",
    "controlled explosion", "experimental explosion", "industrial explosion", "mining explosion",
    "quarry blast", "road cut", "blasting levee", "nuclear explosion", "induced or triggered event",
    "rock burst", "reservoir loading", "fluid injection", "fluid extraction", "crash", "plane crash",
    "train crash", "boat crash", "other event", "atmospheric event", "sonic boom", "sonic blast",
    "acoustic noise", "thunder", "avalanche", "snow avalanche", "debris avalanche", "hydroacoustic event",
    "ice quake", "slide", "landslide", "rockslide", "meteorite", "volcanic eruption", "unknown")

# --------------------------------------------------------------------------- fdsnws-event 1.2

EVENT = Service(
    name="event", version="1.2.0", title="fdsnws-event: earthquake catalogue (QuakeML 1.2 or text)",
    post=False, queryauth=False, extra_resources=("catalogs", "contributors"),
    formats=MappingProxyType({"xml": "application/xml", "text": "text/plain"}),
    params=(
        *_times("Events with an origin time on or after this time.", "Events with an origin time on or "
                "before this time."),
        *_GEO,
        Param("mindepth", "float", "Minimum depth of the preferred origin (km, positive down)."),
        Param("maxdepth", "float", "Maximum depth of the preferred origin (km, positive down)."),
        Param("minmagnitude", "float", "Minimum magnitude.", aliases=("minmag",)),
        Param("maxmagnitude", "float", "Maximum magnitude.", aliases=("maxmag",)),
        Param("magnitudetype", "text", "Magnitude type that minmagnitude/maxmagnitude test (its latest version; "
              "default: the preferred magnitude).", aliases=("magtype",)),
        Param("eventtype", "text", "QuakeML event types, comma-separated (wildcards * and ?); "
              "'unknown' for events without a type.", multiple=True),
        Param("includeallorigins", "bool", "Every origin version of each event, not only the preferred one.",
              False),
        Param("includeallmagnitudes", "bool", "Every magnitude of each event, not only the preferred one.", False),
        Param("includearrivals", "bool", "Picks, amplitudes, arrivals and station magnitudes.", False),
        Param("eventid", "text", "One event by its identifier (the QuakeML publicID)."),
        Param("limit", "int", "At most this many events.", minimum=1),
        Param("offset", "int", "Skip the first offset - 1 events of the ordered result.", 1, minimum=1),
        Param("orderby", "choice", "Order of the events: time (newest first), time-asc, magnitude (largest "
              "first), magnitude-asc.", "time", allowed=("time", "time-asc", "magnitude", "magnitude-asc")),
        Param("catalog", "text", "Events of this catalogue only (see the catalogs resource)."),
        Param("contributor", "text", "Events whose preferred origin comes from this agency (see contributors)."),
        Param("updatedafter", "time", "Events changed after this time."),
        Param("format", "choice", "xml (QuakeML 1.2) or text.", "xml", allowed=("xml", "text")),
        _nodata(),
    ),
)

#: Header of the event text format (fdsnws-event 1.2, "text" format); one line per event.
EVENT_TEXT_COLUMNS: tuple[str, ...] = (
    "EventID", "Time", "Latitude", "Longitude", "Depth/km", "Author", "Catalog", "Contributor", "ContributorID",
    "MagType", "Magnitude", "MagAuthor", "EventLocationName", "EventType")

# --------------------------------------------------------------------------- fdsnws-station 1.1

STATION_LEVELS: tuple[str, ...] = ("network", "station", "channel", "response")

STATION = Service(
    name="station", version="1.1.0", title="fdsnws-station: station metadata (StationXML or text)",
    post=True, queryauth=False,
    formats=MappingProxyType({"xml": "application/xml", "text": "text/plain"}),
    params=(
        *_times("Epochs operating on or after this time (epoch end >= starttime).",
                "Epochs operating on or before this time (epoch start <= endtime).", post=False),
        Param("startbefore", "time", "Epochs starting before this time."),
        Param("startafter", "time", "Epochs starting after this time."),
        Param("endbefore", "time", "Epochs ending before this time (open epochs never do)."),
        Param("endafter", "time", "Epochs ending after this time (open epochs always do)."),
        *_CODES,
        *_GEO,
        Param("level", "choice", "Detail: network, station, channel or response.", "station",
              allowed=STATION_LEVELS),
        Param("includerestricted", "bool", "Include restricted stations and channels.", True),
        Param("includeavailability", "bool", "Add the extent of archived data to channels.", False),
        Param("updatedafter", "time", "Metadata changed after this time (the inventory's modification time)."),
        Param("matchtimeseries", "bool", "Only channels with data in the archive (by day file).", False),
        Param("format", "choice", "xml (FDSN StationXML) or text (network, station and channel levels).", "xml",
              allowed=("xml", "text")),
        _nodata(),
    ),
)

#: Header of the station text format per level (fdsnws-station 1.1, "text" format).
STATION_TEXT_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "network": ("Network", "Description", "StartTime", "EndTime", "TotalStations"),
    "station": ("Network", "Station", "Latitude", "Longitude", "Elevation", "SiteName", "StartTime", "EndTime"),
    "channel": ("Network", "Station", "Location", "Channel", "Latitude", "Longitude", "Elevation", "Depth",
                "Azimuth", "Dip", "SensorDescription", "Scale", "ScaleFreq", "ScaleUnits", "SampleRate",
                "StartTime", "EndTime"),
})

# --------------------------------------------------------------------------- fdsnws-dataselect 1.1

#: SEED data quality codes (SEED 2.4 manual, fixed section of the data header) and B = best available.
QUALITY_CODES: tuple[str, ...] = ("D", "R", "Q", "M", "B")

DATASELECT = Service(
    name="dataselect", version="1.1.0", title="fdsnws-dataselect: waveforms (miniSEED)",
    post=True, queryauth=True,
    formats=MappingProxyType({"miniseed": "application/vnd.fdsn.mseed"}),
    params=(
        *_times("Start of the time window.", "End of the time window.", post=False),
        *_CODES,
        Param("quality", "choice", "SEED quality code: D, R, Q, M, or B (best available).", "B",
              allowed=QUALITY_CODES),
        Param("minimumlength", "float", "Only continuous segments at least this long (s).", 0.0, minimum=0),
        Param("longestonly", "bool", "Only the longest continuous segment of each channel.", False),
        Param("format", "choice", "miniseed.", "miniseed", allowed=("miniseed",)),
        _nodata(),
    ),
)

SERVICES: Mapping[str, Service] = MappingProxyType({s.name: s for s in (EVENT, STATION, DATASELECT)})

#: Where the spec leaves a choice to the data centre, what this one does (shown on the service pages).
NOTES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "event": (
        "Only events with at least one origin are served; the preferred origin (or the latest one) and the "
        "preferred magnitude (or the latest one) decide every selection.",
        "A radius selection is active when any of latitude, longitude, minradius, maxradius is given.",
        "Without includearrivals, picks, amplitudes, arrivals and station magnitudes are left out.",
        "A request matching more events than the server's limit is refused with 413; use limit/offset.",
    ),
    "station": (
        "Codes, times and areas select channels; at network and station level a station is listed when "
        "no location/channel is asked for or one of its channels matches.",
        "Geographic selections test station coordinates.",
        "POST: key=value lines (level, format, includerestricted...) then NET STA LOC CHA START END lines; "
        "* for an open start or end.",
    ),
    "dataselect": (
        "Restricted channels (restrictedStatus closed in the inventory) are served only by queryauth, "
        "with HTTP Digest credentials or a bearer token; query answers 403 when all it matched is restricted.",
        "A request whose expected or actual number of samples exceeds the server's limit is refused with 413.",
        "POST: key=value lines (quality, minimumlength, longestonly...) then NET STA LOC CHA START END lines.",
    ),
})
