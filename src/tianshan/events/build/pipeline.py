"""``build_catalog``: an archive of continuous waveforms -> events in the event store.

Stages (the SeisComP scautopick -> scautoloc -> scamp/scmag -> scevent chain, batch form):

1. per chunk, in parallel through Dask (:mod:`tianshan.events.build.chunks`): read the
   window (corrupt miniSEED records skipped and counted), pre-pick QC
   (:func:`tianshan.qc.check_stream`; bad spans removed, QC records kept), picking
   (:func:`tianshan.picks.make_picker`), picks of the chunk's core span only;
2. serially, across chunks: de-duplication of picks, association
   (:func:`tianshan.events.associate.associate`), location
   (:func:`tianshan.events.locate.locate`), magnitudes
   (:func:`tianshan.events.magnitude.compute_magnitudes` on the raw counts of the event's
   window), event type (:func:`tianshan.events.classify.classify_event`), storage
   (:meth:`tianshan.store.EventStore.save_event`: the associator's origin as version 1,
   the located origin as version 2 and preferred).

Resumable through the chunk ledger (:mod:`tianshan.events.build.ledger`): finished
chunks are not read again, and events already stored are not stored twice (event ids
are derived from their picks' content-derived ids). Results do not depend on the
scheduler: chunk work is a pure function of the chunk, and everything after it runs in
one process in a fixed order.

Nothing bad in the input stops a run: unreadable records and files, streams missing from
the inventory, wrong sample rates, overlapping traces, channels without a response and a
failed stage for one event are skipped and counted in :attr:`BuildSummary.warnings`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from tianshan.core.errors import InputError
from tianshan.core.event import Event
from tianshan.core.ids import AUTHORITY
from tianshan.core.pick import Pick
from tianshan.core.station import Station
from tianshan.core.timeutil import as_utc
from tianshan.core.velocity import VelocityModel
from tianshan.events.build.archive import ArchiveIndex, datetime_ns, read_window, scan_archive
from tianshan.events.build.chunks import (DEFAULT_OVERLAP_S, ChunkResult, ChunkTask, filter_known, plan_chunks,
                                          process_chunk)
from tianshan.events.build.ledger import ChunkLedger, run_key

log = logging.getLogger(__name__)

#: Waveform window read for magnitudes: before the first and after the last pick (s).
MAGNITUDE_PRE_S = 30.0
MAGNITUDE_POST_S = 120.0

#: ``progress(stage, done, total)``; stage is ``"chunks"`` or ``"events"``.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildSummary:
    """What a :func:`build_catalog` run did. ``warnings`` counts everything skipped."""

    start: datetime
    end: datetime
    scheduler: str
    chunks: int
    chunks_processed: int
    chunks_skipped: int
    chunks_failed: int
    picks: int
    picks_by_phase: dict[str, int]
    associations: int
    events_stored: int
    events_existing: int
    located: int
    with_magnitude: int
    event_ids: tuple[str, ...]
    warnings: dict[str, int]
    qc_counts: dict[str, int]
    qc_records_stored: int
    skipped_streams: tuple[str, ...]
    ledger: str
    wall_s: float
    event_types: dict[str, int] = field(default_factory=dict)
    #: Wall time per part of the run (s): ``chunks`` (read, QC, picking), ``catalog`` (the rest).
    stage_s: dict[str, float] = field(default_factory=dict)
    #: Located events not declared, by reason (:mod:`tianshan.events.screen`): ``explained`` (phases
    #: of a larger event), ``p_and_s_stations``, ``rms``, ``ellipse``, ``depth``, ``no_origin``.
    rejected: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["start"], out["end"] = self.start.isoformat(), self.end.isoformat()
        out["event_ids"], out["skipped_streams"] = list(self.event_ids), list(self.skipped_streams)
        return out


@dataclass(frozen=True)
class Network:
    """Stations, the ObsPy inventory (responses), velocity model and places of a run."""

    stations: tuple[Station, ...]
    inventory: Any
    model: VelocityModel
    places: tuple = ()
    source: str = ""
    missing_responses: int = 0


# --------------------------------------------------------------------------- inputs

def _count_missing_responses(inv) -> int:
    n = 0
    for net in inv:
        for sta in net:
            for cha in sta:
                resp = cha.response
                if resp is None or not (resp.response_stages or resp.instrument_sensitivity):
                    n += 1
    return n


def _read_inventory(path: Path):
    from obspy import read_inventory

    try:
        return read_inventory(str(path), format="STATIONXML")
    except Exception as err:  # noqa: BLE001 - lxml / ObsPy errors of all kinds
        raise InputError(f"not a readable StationXML file ({type(err).__name__}: {err})", source=str(path)) from None


def _region_inventory(profile) -> Any:
    """ObsPy inventory of a region: its StationXML files (with responses) when it has them."""
    from tianshan.io.stationxml import stations_to_inventory

    folder = Path(profile.source) if profile.source and Path(profile.source).is_dir() else None
    if folder is not None:
        from tianshan.regions.loader import MANIFEST_NAME, discover, read_manifest

        try:
            m = read_manifest(folder / MANIFEST_NAME) if (folder / MANIFEST_NAME).is_file() else discover(folder)
            xmls = [folder / name for name in m.stations if name.lower().endswith(".xml")]
        except InputError:
            xmls = []
        if xmls:
            inv = _read_inventory(xmls[0])
            for extra in xmls[1:]:
                inv += _read_inventory(extra)
            return inv
    return stations_to_inventory(profile.stations)


def resolve_network(inventory=None, region=None, velocity_model: VelocityModel | str | Path | None = None) -> Network:
    """Stations, responses and velocity model from a StationXML file, an ObsPy inventory or a region.

    ``inventory`` may be a StationXML path, an ``obspy.Inventory``, a region folder or a
    :class:`~tianshan.regions.model.RegionProfile`; ``region`` a region folder, ``"demo"`` or a
    profile. ``velocity_model`` (a model or a velocity CSV) overrides the region's; with a bare
    inventory and no model the built-in Xinjiang model is used.
    """
    from tianshan.regions.model import RegionProfile

    if inventory is not None and region is not None:
        raise InputError("give an inventory or a region, not both", field="inventory")
    spec = inventory if inventory is not None else region
    if spec is None:
        raise InputError("an inventory (StationXML) or a region profile is needed", field="inventory")
    profile = None
    inv = None
    if isinstance(spec, RegionProfile):
        profile = spec
    elif isinstance(spec, (str, Path)):
        path = Path(spec)
        if str(spec) == "demo" or path.is_dir():
            from tianshan.regions.demo import resolve_region

            profile = resolve_region(spec)
        elif path.is_file():
            inv = _read_inventory(path)
        else:
            raise InputError("inventory or region not found", source=str(path))
    elif hasattr(spec, "networks"):
        inv = spec
    else:
        raise InputError(f"cannot use {type(spec).__name__} as an inventory", field="inventory")

    if profile is not None:
        stations, model, places = profile.stations, profile.velocity_model, profile.places
        inv = _region_inventory(profile)
        source = profile.source or profile.name
    else:
        from tianshan.core.errors import DomainError
        from tianshan.io.stationxml import inventory_to_stations

        try:
            stations = tuple(inventory_to_stations(inv))
        except DomainError as err:
            raise InputError(str(err), source=str(spec) if isinstance(spec, (str, Path)) else "inventory") from None
        model, places = None, ()
        source = str(spec) if isinstance(spec, (str, Path)) else "inventory"
    if velocity_model is not None:
        if isinstance(velocity_model, VelocityModel):
            model = velocity_model
        else:
            from tianshan.regions.velocity_csv import read_velocity_csv

            model = read_velocity_csv(velocity_model)
    if model is None:
        from tianshan.regions.demo import xinjiang_velocity_model

        model = xinjiang_velocity_model()
    if not stations:
        raise InputError("no stations in the inventory", source=source)
    return Network(tuple(stations), inv, model, tuple(places), source, _count_missing_responses(inv))


def _expected_rates(stations: Sequence[Station], start: datetime, end: datetime) -> tuple[tuple[str, float], ...]:
    """Stream id -> sample rate of the channel epochs overlapping ``[start, end)``."""
    out: dict[str, float] = {}
    for st in stations:
        for ch in st.channels:
            if (ch.start is None or ch.start < end) and (ch.end is None or ch.end > start):
                out.setdefault(str(ch.stream_id), float(ch.sample_rate_hz))
    return tuple(sorted(out.items()))


# --------------------------------------------------------------------------- scheduling

def _run_serial(tasks: Sequence[ChunkTask], on_result: Callable[[ChunkTask, ChunkResult | None, str], None]) -> None:
    for task in tasks:
        try:
            result = process_chunk(task)
        except Exception as err:  # noqa: BLE001 - one bad chunk never stops a run; it is retried next time
            log.exception("chunk %d failed", task.index)
            on_result(task, None, f"{type(err).__name__}: {err}")
            continue
        on_result(task, result, "")


def _run_dask(tasks: Sequence[ChunkTask], scheduler, on_result) -> str:
    from distributed import Client, LocalCluster, as_completed

    own_cluster = None
    if scheduler is None:
        n = max(1, min(os.cpu_count() or 1, len(tasks)))
        own_cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(own_cluster)
        label = f"dask-local({n} processes)"
    elif isinstance(scheduler, Client):
        client, label = scheduler, f"dask({scheduler.scheduler.address})"
    else:
        try:
            client = Client(str(scheduler), timeout="20s")
        except (OSError, TimeoutError) as err:
            raise InputError(f"cannot reach the Dask scheduler: {err}", field="scheduler") from None
        label = f"dask({scheduler})"
    try:
        futures = client.map(process_chunk, list(tasks), pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for fut in as_completed(futures):
            task = by_key[fut.key]
            if fut.status == "error":
                err = fut.exception()
                log.error("chunk %d failed: %s", task.index, err)
                on_result(task, None, f"{type(err).__name__}: {err}")
            else:
                on_result(task, fut.result(), "")
            fut.release()
    finally:
        if own_cluster is not None:
            client.close()
            own_cluster.close()
        elif not isinstance(scheduler, Client):
            client.close()
    return label


# --------------------------------------------------------------------------- events

def event_id_for(picks: Sequence[Pick]) -> str:
    """A content-derived event id: the same set of picks always names the same event."""
    text = "|".join(sorted(p.id for p in picks))
    return f"smi:{AUTHORITY}/event/{hashlib.sha1(text.encode()).hexdigest()[:32]}"


def _event_stream(index: ArchiveIndex, picks: Sequence[Pick], expected: dict[str, float], counts: Counter,
                  exclusions=None):
    """Raw counts of the stations with picks, from before the first to after the last pick (QC-excluded
    channel-days removed)."""
    t0 = min(p.time for p in picks) - timedelta(seconds=MAGNITUDE_PRE_S)
    t1 = max(p.time for p in picks) + timedelta(seconds=MAGNITUDE_POST_S)
    stations = {p.stream_id.station_id for p in picks}
    ids = [sid for sid in expected if ".".join(sid.split(".")[:2]) in stations]
    a, b = datetime_ns(t0), datetime_ns(t1)
    stream, read_counts = read_window(index.files_for(a, b, ids), a, b, ids)
    stream, _, _ = filter_known(stream, expected)
    if exclusions is not None and len(exclusions):
        stream, hit = exclusions.apply(stream, t0, t1)
        counts["qc_excluded_event_streams"] += len(hit)
    counts["event_window_corrupt_records"] += read_counts.get("corrupt_records", 0)
    return stream


def _locate_one(assoc, network: Network, configs: dict, counts: Counter) -> Event:
    """The event of one association: the associator's origin (version 1) and the located one."""
    picks = tuple(assoc.picks)
    origin1 = replace(assoc.origin, version=1)
    event = Event(id=event_id_for(picks), picks=picks, origins=(origin1,), preferred_origin_id=origin1.id)
    try:
        from tianshan.events.locate import locate

        loc = locate(picks, network.stations, network.model, configs.get("locate"))
        event = event.with_origin(loc.origin, preferred=True)
        counts["located"] += 1
    except Exception as err:  # noqa: BLE001 - an unlocatable event keeps the associator's origin
        counts["location_failed"] += 1
        log.warning("event %s: location failed: %s", event.id, err)
    return event


def _measure_one(event: Event, network: Network, index: ArchiveIndex, expected: dict[str, float],
                 counts: Counter, exclusions=None) -> Event:
    """Magnitudes and event type of a located event that passed the screen."""
    picks = event.picks
    origin = event.preferred_origin
    try:
        from tianshan.events.magnitude import compute_magnitudes

        stream = _event_stream(index, picks, expected, counts, exclusions)
        res = compute_magnitudes(origin, picks, stream, network.inventory, network.stations)
        event = replace(event, amplitudes=tuple(res.amplitudes))
        preferred = None if res.preferred is None else res.preferred.id
        for m in res.magnitudes:
            event = event.with_magnitude(m, preferred=(m.id == preferred))
        if res.magnitudes:
            counts["with_magnitude"] += 1
    except Exception as err:  # noqa: BLE001 - no response, no amplitude...: the event is kept without
        counts["magnitude_failed"] += 1
        log.warning("event %s: magnitudes failed: %s", event.id, err)
    try:
        from tianshan.events.classify import classify_event

        cls = classify_event(event)
        event = replace(event, type=cls.type, type_certainty="suspected")
    except Exception as err:  # noqa: BLE001
        counts["classification_failed"] += 1
        log.warning("event %s: classification failed: %s", event.id, err)
    return event


def _catalog_one(assoc, network: Network, index: ArchiveIndex, expected: dict[str, float], configs: dict,
                 counts: Counter) -> Event:
    """Locate, measure magnitudes and classify one association (no screening); the event to store."""
    return _measure_one(_locate_one(assoc, network, configs, counts), network, index, expected, counts)


def quick_report_product(event: Event, places: Sequence, folder: Path):
    """``(event with region_name, Product)``: the automatic quick report (自动速报) of ``event``.

    The Chinese and English texts of :func:`tianshan.products.reports.quick.quick_report` (with
    ``places``; none gives a coordinates-only place) are written atomically, UTF-8, to
    ``folder/<event hash>.txt``; the product has kind ``"quick_report"``, ``content_type``
    ``text/plain; charset=utf-8`` and the file's SHA-256. ``Event.region_name`` becomes the English
    place phrase.
    """
    from tianshan.core.product import Product
    from tianshan.io.atomic import atomic_write_text
    from tianshan.products.reports.quick import quick_report

    report = quick_report(event, tuple(places))
    text = f"{report.text_zh}\n\n{report.text_en}\n"
    name = hashlib.sha1(event.id.encode()).hexdigest()[:16] + ".txt"
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    product = Product("quick_report", str(path.resolve()), "text/plain; charset=utf-8", event_id=event.id,
                      sha256=digest, properties={"place_en": report.place_en, "place_zh": report.place_zh,
                                                 "automatic": report.automatic})
    return replace(event, region_name=report.place_en), product


def _associate(picks: list[Pick], network: Network, config):
    from tianshan.events.associate import associate

    return associate(picks, network.stations, network.model, config)


# --------------------------------------------------------------------------- the run

def _default_state_dir(store) -> Path:
    from tianshan.store.database import sqlite_path

    path = sqlite_path(str(store.engine.url))
    if path is None:
        raise InputError("a state folder for the chunk ledger is needed with a server database "
                         "(pass state_dir / --data-dir)", field="state_dir")
    return path.parent


def _load_exclusions(exclusions, start: datetime, end: datetime):
    """The QC exclusions overlapping ``[start, end)`` (an empty list for None), each logged once."""
    from tianshan.qc.metrics.exclusion import ExclusionList

    if exclusions is None:
        return ExclusionList()
    if not isinstance(exclusions, ExclusionList):
        exclusions = ExclusionList.load(exclusions)
    here = exclusions.between(start, end)
    for e in here:
        log.info("QC exclusion: %s %s to %s not processed (%s)", e.stream_id, e.start.isoformat(),
                 e.end.isoformat(), "; ".join(e.reasons))
    return here


def _ns_time(ns: int) -> datetime:
    from datetime import timezone

    return datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc) + timedelta(
        microseconds=(ns % 1_000_000_000) // 1000)


def build_catalog(archive: str | os.PathLike, inventory=None, start: datetime | str | None = None,
                  end: datetime | str | None = None, store=None, picker: str = "classic",
                  model: str | os.PathLike | None = None, chunk_s: float = 3600.0,
                  overlap_s: float = DEFAULT_OVERLAP_S, scheduler=None, progress: Progress | None = None, *,
                  region=None, velocity_model: VelocityModel | str | os.PathLike | None = None,
                  picker_options: dict | None = None, associator_config=None, locate_config=None,
                  screen_config=None, state_dir: str | os.PathLike | None = None,
                  exclusions=None) -> BuildSummary:
    """Build the automatic catalog of ``[start, end)`` from ``archive`` into ``store``.

    ``archive``: an SDS archive, a folder of miniSEED files or one file. ``inventory``: a
    StationXML file or ObsPy inventory (or a region folder/profile); or ``region=``.
    ``picker``: ``"classic"`` or ``"ml"`` (with ``model``, a SeisBench name or weights path).
    ``chunk_s``: chunk length (s), ``overlap_s``: extra data read on both sides of a chunk.
    ``scheduler``: ``None`` = a local Dask cluster of processes (one per core), ``"serial"``
    = in this process, an address ``tcp://host:8786`` or a ``distributed.Client``.
    ``progress(stage, done, total)`` is called as chunks and events finish.
    ``state_dir``: where the chunk ledger and the quick-report files live (default: the SQLite
    store's folder). ``screen_config``: the event screen's settings
    (:class:`tianshan.events.screen.ScreenConfig`; quality gates and the larger-event check);
    rejected events are not stored and are counted in :attr:`BuildSummary.rejected`.
    ``exclusions``: QC exclusions (:class:`tianshan.qc.metrics.exclusion.ExclusionList` or the path
    of the ``exclusions.json`` of ``tianshan qc run``): excluded channel-days are not picked and
    not used for magnitudes (counted in ``warnings["qc_excluded_streams"]`` per chunk and stream,
    reasons logged).
    Each stored event gets ``region_name`` (English place phrase) and a ``"quick_report"``
    product (:func:`quick_report_product`, with the region's places when a region is given).
    """
    t_start = time.perf_counter()
    if store is None:
        raise InputError("an event store is needed", field="store")
    if start is None or end is None:
        raise InputError("start and end times are needed", field="start" if start is None else "end")
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        raise InputError("end must be after start", field="end")
    if not (chunk_s > 0 and overlap_s >= 0):
        raise InputError(f"chunk must be > 0 s and overlap >= 0 s, got {chunk_s}, {overlap_s}", field="chunk")
    picker = str(picker).strip().lower()
    from tianshan.picks import PICKER_KINDS

    if picker not in PICKER_KINDS:
        raise InputError(f"unknown picker {picker!r}; expected one of {', '.join(PICKER_KINDS)}", field="picker")
    network = resolve_network(inventory, region, velocity_model)
    index = scan_archive(archive, start, end)
    expected = _expected_rates(network.stations, start, end)
    options = tuple(sorted((picker_options or {}).items()))
    model_str = None if model is None else str(model)
    excl = _load_exclusions(exclusions, start - timedelta(seconds=overlap_s), end + timedelta(seconds=overlap_s))
    run = {"archive": str(Path(archive).resolve()), "picker": picker, "model": model_str,
           "options": options, "chunk_s": chunk_s, "overlap_s": overlap_s, "streams": expected}
    if len(excl):
        run["exclusions"] = excl.as_tuples()
    key = run_key(run)
    data_dir = Path(state_dir) if state_dir is not None else _default_state_dir(store)
    ledger = ChunkLedger(data_dir, key)

    warnings: Counter = Counter()
    warnings["unreadable_files"] += index.unreadable
    warnings["channel_without_response"] += network.missing_responses
    qc_counts: Counter = Counter()
    skipped: set[str] = set()
    picks: list[Pick] = []
    tasks: list[ChunkTask] = []
    plan = plan_chunks(start, end, chunk_s, overlap_s)
    n_skipped = 0
    for i, (c0, c1, r0, r1) in enumerate(plan):
        done = ledger.load_chunk(c0, c1)
        if done is not None:
            n_skipped += 1
            picks.extend(done["picks"])
            warnings.update(done["counts"])
            qc_counts.update(done["qc_counts"])
            skipped.update(done["skipped_streams"])
            continue
        tasks.append(ChunkTask(i, c0, c1, r0, r1, index.files_for(r0, r1), expected, picker, model_str, options,
                               excl.between(_ns_time(r0), _ns_time(r1)).as_tuples()))

    save_qc = getattr(store, "save_qc_records", None)
    state = {"done": n_skipped, "failed": 0, "qc_stored": 0}

    def on_result(task: ChunkTask, result: ChunkResult | None, error: str) -> None:
        if result is None:
            state["failed"] += 1
            warnings["chunk_failed"] += 1
        else:
            if result.qc_records and save_qc is not None:
                save_qc(list(result.qc_records))
                state["qc_stored"] += len(result.qc_records)
            ledger.save_chunk(result.core_start_ns, result.core_end_ns, result.picks, result.counts,
                              result.qc_counts, result.skipped_streams)
            picks.extend(result.picks)
            warnings.update(result.counts)
            qc_counts.update(result.qc_counts)
            skipped.update(result.skipped_streams)
        state["done"] += 1
        if progress is not None:
            progress("chunks", state["done"], len(plan))

    if progress is not None:
        progress("chunks", n_skipped, len(plan))
    label = "serial"
    if tasks:
        if scheduler == "serial":
            _run_serial(tasks, on_result)
        else:
            label = _run_dask(tasks, scheduler, on_result)

    from tianshan.picks.base import deduplicate_picks

    t_chunks = time.perf_counter() - t_start
    picks = deduplicate_picks(picks)
    by_phase = Counter(p.phase for p in picks)
    counts: Counter = Counter()
    event_ids: list[str] = []
    existing = 0
    types: Counter = Counter()
    s_ns, e_ns = datetime_ns(start), datetime_ns(end)
    complete = state["failed"] == 0
    prior = ledger.load_catalog(s_ns, e_ns) if complete else None
    n_assoc = 0
    if prior is not None:
        event_ids, existing = list(prior["event_ids"]), len(prior["event_ids"])
        prior_counts = dict(prior.get("counts", {}))
        n_assoc = int(prior_counts.pop("associations", existing))
        counts.update(prior_counts)
    elif picks:
        configs = {"locate": locate_config}
        from tianshan.events.screen import ScreenConfig, screen_events

        associations = sorted(_associate(picks, network, associator_config), key=lambda a: a.origin.time)
        n_assoc = len(associations)
        expected_map = dict(expected)
        from tianshan.store.errors import EventNotFoundError

        screen_cfg = screen_config if screen_config is not None else ScreenConfig()
        known: list[Event] = []
        fresh: list[Event] = []
        for k, assoc in enumerate(associations):
            eid = event_id_for(assoc.picks)
            try:
                known.append(store.get_event(eid))
            except EventNotFoundError:
                fresh.append(_locate_one(assoc, network, configs, counts))
            if progress is not None:
                progress("events", k + 1, 2 * len(associations))
        verdicts = screen_events(fresh, network.stations, network.model, screen_cfg, accepted_before=known)
        keep = {v.event.id for v in verdicts if v.accepted} | {e.id for e in known}
        for v in verdicts:
            if not v.accepted:
                counts["rejected_" + v.reason.replace("quality:", "")] += 1
                log.info("event %s rejected: %s", v.event.id, v.reason)
        accepted_new = {v.event.id: v.event for v in verdicts if v.accepted}
        product_dir = data_dir / "products" / "quick_report"
        for k, assoc in enumerate(associations):
            eid = event_id_for(assoc.picks)
            if eid not in keep:
                continue
            event_ids.append(eid)
            if eid not in accepted_new:
                existing += 1
                continue
            event = _measure_one(accepted_new[eid], network, index, expected_map, counts, excl)
            product = None
            try:
                event, product = quick_report_product(event, network.places, product_dir)
            except Exception as err:  # noqa: BLE001 - the event is stored without its report
                counts["quick_report_failed"] += 1
                log.warning("event %s: quick report failed: %s", eid, err)
            store.save_event(event)
            if product is not None:
                store.save_product(product)
            types[event.type.value if event.type is not None else "unknown"] += 1
            if progress is not None:
                progress("events", len(associations) + k + 1, 2 * len(associations))
        if complete:
            ledger.save_catalog(s_ns, e_ns, event_ids, {"associations": n_assoc, **counts})
    for name in ("location_failed", "magnitude_failed", "classification_failed", "event_window_corrupt_records",
                 "quick_report_failed"):
        warnings[name] += counts.get(name, 0)
    return BuildSummary(
        start=start, end=end, scheduler=label, chunks=len(plan), chunks_processed=len(tasks) - state["failed"],
        chunks_skipped=n_skipped, chunks_failed=state["failed"], picks=len(picks), picks_by_phase=dict(by_phase),
        associations=n_assoc, events_stored=len(event_ids) - existing, events_existing=existing,
        located=counts.get("located", 0), with_magnitude=counts.get("with_magnitude", 0),
        event_ids=tuple(event_ids), warnings={k: int(v) for k, v in sorted(warnings.items()) if v},
        qc_counts={k: int(v) for k, v in sorted(qc_counts.items()) if v}, qc_records_stored=state["qc_stored"],
        skipped_streams=tuple(sorted(skipped)), ledger=str(ledger.folder), wall_s=time.perf_counter() - t_start,
        event_types=dict(types),
        rejected={k[len("rejected_"):]: int(v) for k, v in sorted(counts.items()) if k.startswith("rejected_") and v},
        stage_s={"chunks": round(t_chunks, 3), "catalog": round(time.perf_counter() - t_start - t_chunks, 3)})
