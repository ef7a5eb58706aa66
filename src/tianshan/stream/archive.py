"""Crash-safe live SDS archiver (like slarchive).

Layout: the SeisComP Data Structure (``tianshan.io.sds.sds_path``), one file per stream and
UTC day, records appended as they arrive; a record goes to the day file of its start time
(as slarchive does; ObsPy's SDS client reads across day borders).

Crash safety
------------
* Every record is appended whole with one ``os.write`` of exactly ``record_length`` bytes
  to a file opened ``O_APPEND``; a short write is undone (file truncated back) and raised.
* ``kill -9`` cannot lose a record whose ``write`` returned (it is in the page cache).
  ``fsync`` protects against power loss / kernel crash only, so it is kept off the writer's
  path: policy (``fsync_interval_s``, default 5 s): a background thread (``sync_thread``,
  default on) wakes every ``fsync_interval_s`` and fsyncs every file with records written
  since its last sync (through a duplicate of the descriptor, taken under the archive's lock,
  so a file closed meanwhile by the writer is still synced safely); each file is thus
  fsynced at most once per interval, however many records it receives, and the writer (the
  daemon's event loop) never waits on a disk flush. Without the thread (``sync_thread=False``:
  deterministic tests, single-threaded tools) the same sweep runs inline on the write that
  finds ``fsync_interval_s`` passed since the previous sweep (on the ``monotonic`` clock).
  ``fsync_every_records`` (default off) adds an inline fsync of a file after that many
  unsynced records (a bound in records rather than seconds, at a price: 1-2 ms per fsync on
  the loop). :meth:`LiveArchive.flush` and :meth:`close` (and closing a least recently used
  file) fsync inline. On power failure at most the last ``fsync_interval_s`` (plus one sweep)
  of data can be lost (as in slarchive, which never fsyncs, the layout stays valid: see the
  tail check below). Measured (2026-11, ext4 on a VM disk): 1.7 ms per fsync; the former
  policy (every 100 records per file + an inline sweep every 10 s) cost 2,490 fsyncs for
  26,626 records of a demo replay, and ~1 s of blocked loop per sweep at 600 channels.
* Before the first record is written to a day file, its path is appended (and fsynced) to
  the journal ``.tianshan-live-archive.touched`` in the root. On open, every journaled file
  and every file opened later for appending has its tail checked: a trailing partial record
  (size not a multiple of ``record_length``) or trailing records whose fixed header does not
  parse (e.g. zero-filled blocks after a power loss) are truncated away and counted in
  ``stats.truncated_records`` / ``stats.truncated_bytes``. A restart never leaves a
  corrupt record.
* Duplicates: a record with the same (start time, sequence number) as one of the last
  ``dedup_window`` records of its day file (including those already on disk when the file
  was opened) is skipped and counted (``stats.duplicates``).

Header format: SEED Reference Manual v2.4, ch. 8 "Fixed Section of Data Header" (48 bytes)
and blockettes 1000 (data only SEED) and 1001 (data extension, microseconds), parsed by
:func:`tianshan.stream.mseed_header.parse_record_header`.
"""

from __future__ import annotations

import collections
import datetime as _dt
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tianshan.core.errors import InputError
from tianshan.io.sds import sds_path
from tianshan.stream.mseed_header import RecordError, parse_record_header

log = logging.getLogger(__name__)

_NS = 1_000_000_000
JOURNAL_NAME = ".tianshan-live-archive.touched"


@dataclass
class ArchiveStats:
    """Counters of a :class:`LiveArchive` (since it was opened)."""

    records_written: int = 0
    bytes_written: int = 0
    duplicates: int = 0
    rejected: int = 0            #: not a valid record, or wrong record length
    truncated_records: int = 0   #: partial/corrupt trailing records removed at (re)open
    truncated_bytes: int = 0
    files_checked: int = 0
    fsyncs: int = 0
    reject_reasons: collections.Counter = field(default_factory=collections.Counter)


class _DayFile:
    __slots__ = ("path", "fd", "keys", "order", "unsynced", "last_sync")

    def __init__(self, path: Path, fd: int, keys: list, window: int, now: float) -> None:
        self.path = path
        self.fd = fd
        self.order: collections.deque = collections.deque(keys[-window:] if window else [], maxlen=window or None)
        self.keys = set(self.order)
        self.unsynced = 0
        self.last_sync = now


class LiveArchive:
    """Append incoming miniSEED records to an SDS archive under ``root`` as they arrive.

    ``record_length``: the only record length accepted (bytes, default 512).
    ``fsync_interval_s`` / ``sync_thread`` / ``fsync_every_records``: fsync policy (see the
    module docstring; ``fsync_every_records`` None = no count-based fsync).
    ``max_open_files``: least recently used day files beyond this are synced and closed
    (default: half the soft open-file limit, at most 4096; keep it above the channel count).
    ``dedup_window``: how many recent records per day file are remembered for duplicate checks.
    ``quality``: SDS type letter of the files (``D``).
    """

    def __init__(self, root: str | os.PathLike, *, record_length: int = 512, fsync_every_records: int | None = None,
                 fsync_interval_s: float = 5.0, sync_thread: bool = True, max_open_files: int | None = None,
                 dedup_window: int = 1024, quality: str = "D",
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if record_length not in (256, 512, 1024, 2048, 4096, 8192):
            raise InputError(f"record length must be a power of two in 256-8192, got {record_length}",
                             field="record_length")
        if max_open_files is None:  # half the soft descriptor limit, at most 4096
            import resource

            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            max_open_files = max(16, min(4096, (soft if soft > 0 else 1024) // 2))
        if ((fsync_every_records is not None and fsync_every_records < 1) or fsync_interval_s < 0
                or max_open_files < 1 or dedup_window < 0):
            raise InputError("fsync_every_records, max_open_files must be >= 1; fsync_interval_s, "
                             "dedup_window >= 0", field="LiveArchive settings")
        self.root = Path(root)
        self.record_length = record_length
        self.fsync_every_records = fsync_every_records
        self.fsync_interval_s = fsync_interval_s
        self.max_open_files = max_open_files
        self.dedup_window = dedup_window
        self.quality = quality
        self._monotonic = monotonic
        self.stats = ArchiveStats()
        self._files: collections.OrderedDict[Path, _DayFile] = collections.OrderedDict()
        self._journaled: set[Path] = set()
        self._last_sweep = monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        self._journal = self.root / JOURNAL_NAME
        self._recover()
        self._journal_fd: int | None = os.open(self._journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # The lock guards the open-file table and the unsynced counts (the writer and the syncer).
        self._lock = threading.RLock()
        self._stop_sync = threading.Event()
        self._syncer: threading.Thread | None = None
        if sync_thread and fsync_interval_s > 0:
            self._syncer = threading.Thread(target=self._sync_loop, name="live-archive-fsync", daemon=True)
            self._syncer.start()

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        """Check the tail of every file the journal names (files touched before a crash)."""
        if self._journal.exists():
            for line in self._journal.read_text(encoding="utf-8", errors="replace").splitlines():
                p = Path(line.strip())
                if line.strip() and p.is_file():
                    self.check_file(p)
            # Everything journaled is now clean: start a fresh journal (atomic replace).
            from tianshan.io.atomic import atomic_write_text
            atomic_write_text(self._journal, "")

    def check_file(self, path: str | os.PathLike) -> tuple[int, int]:
        """Truncate a trailing partial or corrupt record from ``path``; returns (records, bytes) removed.

        A trailing partial record (size not a multiple of the record length) is removed,
        then whole trailing records whose fixed header does not parse are removed too.
        """
        path = Path(path)
        self.stats.files_checked += 1
        rl = self.record_length
        with open(path, "r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            good = size - size % rl
            removed = 1 if good != size else 0
            while good >= rl:
                fh.seek(good - rl)
                try:
                    parse_record_header(fh.read(rl))
                    break
                except RecordError:
                    good -= rl
                    removed += 1
            if good != size:
                fh.truncate(good)
                fh.flush()
                os.fsync(fh.fileno())
        self.stats.truncated_records += removed
        self.stats.truncated_bytes += size - good
        return removed, size - good

    def _existing_keys(self, path: Path) -> list:
        """(start_ns, sequence) of the last ``dedup_window`` records already in ``path``."""
        if not self.dedup_window:
            return []
        rl = self.record_length
        size = path.stat().st_size
        start = max(0, size - self.dedup_window * rl)
        keys = []
        with open(path, "rb") as fh:
            fh.seek(start)
            blob = fh.read()
        for off in range(0, len(blob) - rl + 1, rl):
            try:
                h = parse_record_header(blob[off:off + rl])
            except RecordError:
                continue
            keys.append((h.start_ns, h.sequence))
        return keys

    # ------------------------------------------------------------------ writing

    def _open(self, path: Path) -> _DayFile:
        df = self._files.get(path)
        if df is not None:
            self._files.move_to_end(path)
            return df
        while len(self._files) >= self.max_open_files:
            _, old = self._files.popitem(last=False)
            self._close_file(old)
        if path not in self._journaled:
            os.write(self._journal_fd, (str(path.resolve()) + "\n").encode())
            os.fsync(self._journal_fd)
            self._journaled.add(path)
        existed = path.exists()
        if existed:
            self.check_file(path)
            keys = self._existing_keys(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            keys = []
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if not existed:
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)  # the new directory entry survives a power loss
            finally:
                os.close(dfd)
        df = _DayFile(path, fd, keys, self.dedup_window, self._monotonic())
        self._files[path] = df
        return df

    def _sync(self, df: _DayFile) -> None:
        if df.unsynced:
            os.fsync(df.fd)
            self.stats.fsyncs += 1
        df.unsynced = 0
        df.last_sync = self._monotonic()

    def _sync_loop(self) -> None:
        """Background syncer: every ``fsync_interval_s``, fsync the files written since their last sync."""
        while not self._stop_sync.wait(self.fsync_interval_s):
            try:
                self._background_sweep()
            except Exception:  # noqa: BLE001 - a failed fsync is retried next sweep; the writer goes on
                log.exception("live archive: background fsync failed")

    def _background_sweep(self) -> None:
        todo = []
        with self._lock:
            now = self._monotonic()
            for df in self._files.values():
                if df.unsynced:
                    todo.append((df, os.dup(df.fd), df.unsynced))
                    df.unsynced = 0
                    df.last_sync = now
        failed = []
        try:
            for df, fd, n in todo:
                try:
                    os.fsync(fd)
                except OSError:
                    failed.append((df, n))
                    raise
        finally:
            for _, fd, _ in todo:
                os.close(fd)
            with self._lock:
                self.stats.fsyncs += len(todo) - len(failed)
                for df, n in failed:  # synced again on the next sweep
                    df.unsynced += n

    def _close_file(self, df: _DayFile) -> None:
        try:
            self._sync(df)
        finally:
            os.close(df.fd)

    def _reject(self, reason: str) -> None:
        self.stats.rejected += 1
        self.stats.reject_reasons[reason] += 1

    def write(self, record: bytes) -> Path | None:
        """Append one record; returns the day file written, or None when skipped (duplicate/invalid).

        Invalid records (wrong length, unparsable header) are counted in ``stats.rejected``
        with the reason in ``stats.reject_reasons``, never raised: a live feed keeps going.
        """
        record = bytes(record)
        if len(record) != self.record_length:
            self._reject("length")
            return None
        try:
            h = parse_record_header(record)
        except RecordError:
            self._reject("header")
            return None
        if h.record_length_bytes != self.record_length:
            self._reject("length")
            return None
        day = _dt.datetime.fromtimestamp(h.start_ns // _NS, tz=_dt.timezone.utc).date()
        path = sds_path(self.root, h.stream_id, day, self.quality)
        with self._lock:
            return self._append(path, h, record)

    def _append(self, path: Path, h, record: bytes) -> Path | None:
        df = self._open(path)
        key = (h.start_ns, h.sequence)
        if key in df.keys:
            self.stats.duplicates += 1
            return None
        before = os.lseek(df.fd, 0, os.SEEK_END)
        try:
            n = os.write(df.fd, record)
        except OSError:
            os.ftruncate(df.fd, before)
            raise
        if n != len(record):  # short write (disk full): undo, never leave a partial record
            os.ftruncate(df.fd, before)
            raise OSError(f"short write to {path} ({n} of {len(record)} bytes)")
        if self.dedup_window:
            if len(df.order) == df.order.maxlen:
                df.keys.discard(df.order[0])
            df.order.append(key)
            df.keys.add(key)
        self.stats.records_written += 1
        self.stats.bytes_written += n
        df.unsynced += 1
        if self.fsync_every_records is not None and df.unsynced >= self.fsync_every_records:
            self._sync(df)
        if self._syncer is None:
            now = self._monotonic()
            if now - self._last_sweep >= self.fsync_interval_s:
                self._last_sweep = now
                self.flush()
        return path

    def write_many(self, records) -> int:
        """Write an iterable of records (or a bytes blob of concatenated records); returns the number written."""
        if isinstance(records, (bytes, bytearray, memoryview)):
            blob = bytes(records)
            rl = self.record_length
            if len(blob) % rl:
                self._reject("length")
                blob = blob[:len(blob) - len(blob) % rl]
            records = (blob[i:i + rl] for i in range(0, len(blob), rl))
        return sum(1 for r in records if self.write(r) is not None)

    def flush(self) -> None:
        """fsync every file with unsynced records (inline)."""
        with self._lock:
            for df in self._files.values():
                self._sync(df)

    def close(self) -> None:
        """Sync and close every file; the journal is emptied (a clean shutdown leaves nothing to check)."""
        if self._syncer is not None:
            self._stop_sync.set()
            self._syncer.join()
            self._syncer = None
        while self._files:
            _, df = self._files.popitem(last=False)
            self._close_file(df)
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
            from tianshan.io.atomic import atomic_write_text
            atomic_write_text(self._journal, "")
            self._journaled.clear()

    @property
    def open_files(self) -> list[Path]:
        return list(self._files)

    def __enter__(self) -> "LiveArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
