"""Typed, immutable domain objects of a seismic network (no I/O, no heavy deps).

Units: SI inside. Field names carry their unit (``depth_m``, ``time_uncertainty_s``,
``latitude_deg``); times are timezone-aware UTC :class:`datetime.datetime`.
"""

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID, new_resource_id
from tianshan.core.station import Channel, InstrumentKind, Station, StationGain
from tianshan.core.velocity import Layer, VelocityModel
from tianshan.core.pick import Amplitude, EvaluationMode, Pick, Polarity
from tianshan.core.origin import Arrival, ErrorEllipse, EvaluationStatus, Origin
from tianshan.core.magnitude import Magnitude, StationMagnitude
from tianshan.core.event import Event, EventType
from tianshan.core.alert import Alert, AlertLevel, AlertTarget
from tianshan.core.product import Product
from tianshan.core.qc import QCKind, QCRecord
from tianshan.core.timeline import TimelineEntry

__all__ = [
    "DomainError", "InputError", "StreamID", "new_resource_id", "Channel", "InstrumentKind", "Station",
    "StationGain", "Layer", "VelocityModel", "Amplitude", "EvaluationMode", "Pick", "Polarity",
    "Arrival", "ErrorEllipse", "EvaluationStatus", "Origin", "Magnitude", "StationMagnitude",
    "Event", "EventType", "Alert", "AlertLevel", "AlertTarget", "Product",
    "QCKind", "QCRecord", "TimelineEntry",
]
