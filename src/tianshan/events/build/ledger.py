"""The chunk ledger that makes ``build_catalog`` resumable.

Layout (one folder per run configuration, one JSON file per finished chunk)::

    <state_dir>/catalog-build/<run key>/chunk-<start>-<end>.json
    <state_dir>/catalog-build/<run key>/catalog-<start>-<end>.json   (events stored for a range)

``<state_dir>`` defaults to the folder of the SQLite store (the data directory). The run
key is a hash of what determines a chunk's picks (archive path, picker, model and its
options, chunk length and overlap); a chunk file holds the chunk's picks (every field,
so a re-run stores byte-identical picks), the QC and reading counts, and the streams
left out. Files are written atomically (:mod:`tianshan.io.atomic`): a chunk is either
done or absent, never half written. Deleting the folder forces a full re-run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from tianshan.core.ids import StreamID
from tianshan.core.pick import Pick
from tianshan.core.timeutil import as_utc
from tianshan.io.atomic import atomic_write_text

LEDGER_FOLDER = "catalog-build"
LEDGER_VERSION = 1


def run_key(config: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-able configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pick_to_dict(p: Pick) -> dict:
    return {"id": p.id, "stream_id": str(p.stream_id), "time": p.time.isoformat(), "phase": p.phase,
            "time_uncertainty_s": p.time_uncertainty_s,
            "polarity": None if p.polarity is None else p.polarity.value, "method": p.method,
            "probability": p.probability, "evaluation_mode": p.evaluation_mode.value,
            "created_at": p.created_at.isoformat()}


def pick_from_dict(d: Mapping[str, Any]) -> Pick:
    return Pick(stream_id=StreamID.parse(d["stream_id"]), time=as_utc(d["time"]), phase=d["phase"],
                time_uncertainty_s=d["time_uncertainty_s"], polarity=d["polarity"], method=d["method"],
                probability=d["probability"], evaluation_mode=d["evaluation_mode"], id=d["id"],
                created_at=as_utc(d["created_at"]))


def _stamp(ns: int) -> str:
    return str(int(ns))


class ChunkLedger:
    """Finished chunks of one run configuration, as JSON files under ``folder``."""

    def __init__(self, state_dir: str | Path, key: str) -> None:
        self.folder = Path(state_dir) / LEDGER_FOLDER / key
        self.key = key

    def _chunk_path(self, start_ns: int, end_ns: int) -> Path:
        return self.folder / f"chunk-{_stamp(start_ns)}-{_stamp(end_ns)}.json"

    def _catalog_path(self, start_ns: int, end_ns: int) -> Path:
        return self.folder / f"catalog-{_stamp(start_ns)}-{_stamp(end_ns)}.json"

    def load_chunk(self, start_ns: int, end_ns: int) -> dict | None:
        """The stored result of a finished chunk, or None (absent or unreadable: redo it)."""
        path = self._chunk_path(start_ns, end_ns)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != LEDGER_VERSION:
                return None
            data["picks"] = [pick_from_dict(d) for d in data["picks"]]
            return data
        except (ValueError, KeyError, TypeError):
            return None

    def save_chunk(self, start_ns: int, end_ns: int, picks, counts: Mapping[str, int],
                   qc_counts: Mapping[str, int], skipped_streams) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"version": LEDGER_VERSION, "start_ns": start_ns, "end_ns": end_ns,
                "picks": [pick_to_dict(p) for p in picks], "counts": dict(counts),
                "qc_counts": dict(qc_counts), "skipped_streams": sorted(skipped_streams)}
        return atomic_write_text(self._chunk_path(start_ns, end_ns), json.dumps(data))

    def load_catalog(self, start_ns: int, end_ns: int) -> dict | None:
        path = self._catalog_path(start_ns, end_ns)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None

    def save_catalog(self, start_ns: int, end_ns: int, event_ids, counts: Mapping[str, int]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"version": LEDGER_VERSION, "event_ids": list(event_ids), "counts": dict(counts)}
        return atomic_write_text(self._catalog_path(start_ns, end_ns), json.dumps(data))
