# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Hot binlog backups (engine side): milvus_backup's logic.

Order of work, and why:

1. preflight: Milvus's bucket holds the binlogs, the backup location accepts writes;
2. ``.vectorops/IN_PROGRESS`` is claimed for this run (host, pid, run id, heartbeat; see
   progress.py), so exactly one run writes the folder and a crashed run can be resumed;
3. GC pause (advisory; the result says whether it held), flush each collection and record its flush
   timestamp: the backup holds at least everything written before it;
4. plan: persistent segments and their insert/delta logs, listed from Milvus's bucket;
5. copy every object (server-side when possible, streaming otherwise), each with its SHA-256;
   objects that a previous interrupted run already copied are kept (and re-hashed);
6. consistency: list the segments again. When compaction replaced a planned segment (or a source
   object vanished mid-copy), plan again from the current segments and copy what is new, up to
   ``consistency_attempts`` times; then fail rather than write a backup that lacks rows;
7. sweep leftovers of earlier attempts, then write milvus-backup's meta files, ``manifest.json``,
   ``meta/backup_meta.json`` and, last, ``COMPLETE``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import http.client
import threading
import time
import uuid
from collections import Counter

from ansible_collections.vectorops.milvus.plugins.module_utils import binlog, catalog, fingerprint, layout, logical, manifest
from ansible_collections.vectorops.milvus.plugins.module_utils.describe import CollectionReader, describe_collection
from ansible_collections.vectorops.milvus.plugins.module_utils.features import has_feature
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    ConsistencyError,
    InputError,
    MilvusOperationError,
    NotFoundError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection
from ansible_collections.vectorops.milvus.plugins.module_utils.preflight import (
    backup_storage_preflight,
    milvus_storage_preflight,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.progress import (
    HEARTBEAT_SECONDS,
    ProgressMarker,
    check_not_running,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.rest import MilvusRest, RestError
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import select_collections
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import copy_object, stores_from_params
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import Timer, wait_until

try:
    from pymilvus.grpc_gen import milvus_pb2
except ImportError:  # pragma: no cover - MilvusConnection reports the missing library
    milvus_pb2 = None

STRATEGIES = ("flush", "skip_flush", "meta_only")
FORMATS = ("auto", "binlog", "logical")
SEGMENT_LOG_SOURCES = ("auto", "rest", "listing")
CIPHER_PROPERTIES = ("cipher.ezID", "cipher.key")  # both set: the database is encrypted (Milvus 2.6)
TIMESTAMP_FIELD = 1  # every segment stores each row's timestamp as field 1 (field 0 is the row id)
SHORT_COLUMN_GROUP = 0  # storage v2: the column group holding RowID, Timestamp and the primary key


# ------------------------------------------------------------------ helpers
# Flush failures that pass by themselves: Milvus rate-limits Flush per collection, and after a data
# node restarts, data coord keeps routing to the old node until its etcd session expires (~30 s).
RETRYABLE_FLUSH_ERRORS = ("rate limit", "node not match", "node not found", "session not found")


def consistency_cut(flush_ts):
    """The backup's point in time: the flush timestamp, rounded down to its millisecond.

    Import's ``end_ts`` option takes physical milliseconds on Milvus 2.3 (``importutil/import_options.go
    ParseTSFromOptions``: ComposeTS(end_ts, 0)) and a hybrid timestamp from 2.4 on (see import_plan),
    so a cut on a millisecond boundary (logical 0) is what a restore on either can reproduce exactly. Everything up to the flush timestamp is persisted once the
    flush is done, so everything up to the cut is in the flushed segments.
    """
    return layout.compose_ts(layout.physical_ms(flush_ts)) if flush_ts else None


def flush_is_retryable(message):
    message = message.lower()
    return any(pattern in message for pattern in RETRYABLE_FLUSH_ERRORS)


def copy_counts(copied):
    """How the objects in the backup got there: server-side, streaming, reused from an earlier run, or
    exported (logical format: written from query results)."""
    counts = dict(server_side=0, streaming=0, reused=0, exported=0)
    for item in copied.values():
        method = item["method"]
        counts[method if method in ("reused", "exported") else "server_side" if method.startswith("server-side")
               else "streaming"] += 1
    return counts


def choose_format(requested, milvus_storage, server_is_lite, descriptions):
    """(format, {label: reason}) of one backup: pure, decided before anything is written.

    ``binlog`` needs Milvus's bucket (``milvus_storage``) and a server that names its segments
    (GetPersistentSegmentInfo; Milvus Lite has none); ``auto`` takes binlog when every selected
    collection allows it and logical otherwise, so that one backup has one format.
    """
    reasons = {}
    blockers = {}
    for desc in descriptions:
        label = "%s.%s" % (desc["db_name"], desc["name"])
        if server_is_lite:
            blockers[label] = "Milvus Lite keeps no binlogs"
        elif desc.get("segments") is None:
            blockers[label] = "the server does not list segments (%s)" % (desc.get("unavailable") or {}).get(
                "segments", "GetPersistentSegmentInfo")
        elif not milvus_storage:
            blockers[label] = "milvus_storage (Milvus's bucket) is not configured"
    if requested == "binlog":
        if blockers:
            label = sorted(blockers)[0]
            raise InputError("format=binlog cannot back up %s: %s; use format=logical (or auto)" % (label, blockers[label]))
        return "binlog", dict(("%s.%s" % (d["db_name"], d["name"]), "format=binlog") for d in descriptions)
    if requested == "logical":
        return "logical", dict(("%s.%s" % (d["db_name"], d["name"]), "format=logical") for d in descriptions)
    if blockers:
        first = sorted(blockers)[0]
        for desc in descriptions:
            label = "%s.%s" % (desc["db_name"], desc["name"])
            same = "logical like %s (%s): one format per backup" % (first, blockers[first])
            reasons[label] = "auto: %s" % blockers.get(label, same)
        return "logical", reasons
    return "binlog", dict(("%s.%s" % (d["db_name"], d["name"]), "auto: Milvus's bucket and segments are readable")
                          for d in descriptions)


class RateLimiter:
    """Token bucket over bytes, shared by all copy threads; ``rate`` <= 0 means unlimited."""

    def __init__(self, rate):
        self.rate = float(rate or 0)
        self.lock = threading.Lock()
        self.allowance = self.rate
        self.last = time.time()

    def acquire(self, nbytes):
        if self.rate <= 0:
            return
        while True:
            with self.lock:
                now = time.time()
                self.allowance = min(self.rate, self.allowance + (now - self.last) * self.rate)
                self.last = now
                if self.allowance >= min(nbytes, self.rate):
                    self.allowance -= nbytes
                    return
                wait = (min(nbytes, self.rate) - self.allowance) / self.rate
            time.sleep(wait)


class GcPause:
    """Milvus's DataCoord GC pause (management HTTP port, default 9091); advisory by design.

    Milvus < 2.6.8 pauses cluster-wide: ``GET /management/datacoord/garbage_collection/pause?pause_seconds=N``
    and ``.../resume``. Older servers (2.3.x) answer 404; the result says so.
    """

    def __init__(self, management_uri, seconds, mode):
        self.uri = management_uri
        self.seconds = int(seconds)
        self.mode = mode
        self.held = False
        self.reason = None

    def _get(self, path):
        scheme, _sep, rest = self.uri.partition("://")
        host = rest.split("/", 1)[0]
        conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = conn_class(host, timeout=10)
        try:
            conn.request("GET", "/management/datacoord/garbage_collection/" + path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace").strip()
        finally:
            conn.close()

    def pause(self):
        if self.mode == "skip":
            self.reason = "skipped (gc_pause=skip)"
            return self.report()
        try:
            status, body = self._get("pause?pause_seconds=%d" % self.seconds)
        except (OSError, http.client.HTTPException) as exc:
            status, body = None, str(exc)
        if status == 200:
            self.held = True
            self.reason = "paused for up to %ds" % self.seconds
        elif status == 404:
            self.reason = ("%s answered 404: this Milvus version has no GC pause API; segments compacted during "
                           "the copy are detected and re-planned instead" % self.uri)
        else:
            self.reason = "GC pause via %s failed: %s %s" % (self.uri, status or "", body[:200])
        if self.mode == "require" and not self.held:
            raise ConsistencyError("gc_pause=require but Milvus's garbage collection could not be paused: %s"
                                   % self.reason)
        return self.report()

    def renew(self):
        if self.held:
            try:
                self._get("pause?pause_seconds=%d" % self.seconds)
            except (OSError, http.client.HTTPException):
                pass

    def resume(self):
        if self.held:
            try:
                self._get("resume")
            except (OSError, http.client.HTTPException):
                pass  # the pause expires on its own after pause_seconds

    def report(self):
        return dict(mode=self.mode, held=self.held, reason=self.reason, management_uri=self.uri,
                    pause_seconds=self.seconds)


def segment_file_problem(storage_version, field_ids, files_per_dir):
    """Why a flushed segment's insert logs cannot be backed up as they are, or None.

    ``files_per_dir`` maps each directory under the segment (a field id in storage v1, a column group id
    in v2) to its number of log files. v1 (Milvus <= 2.5, and old 2.6 segments): one directory per field,
    RowID (0) and Timestamp (1) included, all with the same number of files. v2 (2.6 default): packed
    Parquet per column group -- group 0 holds RowID, Timestamp, the primary key and short scalars, large
    fields get a group named by their field id -- so only group 0 and even counts can be checked here
    (which fields a group holds is in Milvus's meta, not in the bucket). v3 (3.0, manifest-based, LOBs
    outside insert_log/) cannot be copied as binlogs (milvus#52930: its own backup-mode import cannot
    read it either).
    """
    version = int(storage_version or 0)
    if version >= 3:
        return ("uses storage format v%d, which a binlog backup cannot copy faithfully (Milvus 3.0 manifests and "
                "LOB files; milvus-io/milvus#52930)" % version)
    counts = set(files_per_dir.values())
    if version == 2:
        if SHORT_COLUMN_GROUP not in files_per_dir:
            return "has storage v2 insert logs without column group 0 (RowID, Timestamp, primary key)"
        unknown = sorted(set(files_per_dir) - set([SHORT_COLUMN_GROUP] + list(field_ids)))
        if unknown:
            return "has storage v2 column groups %s that are not fields of the collection" % unknown
    else:
        missing = set([0, 1] + list(field_ids)) - set(files_per_dir)
        if missing:
            return ("has inconsistent binlogs (missing fields %s): orphan or missing log files in Milvus's bucket"
                    % sorted(missing))
    if len(counts) > 1:
        return ("has inconsistent binlogs (%s have different file counts %s): orphan or missing log files in Milvus's "
                "bucket" % ("column groups" if version == 2 else "fields", dict(sorted(files_per_dir.items()))))
    return None


def logs_named_by_milvus(described, insert, delta):
    """The segment's objects Milvus's meta names, and the orphans beside them: pure.

    ``described`` is one entry of REST ``segments/describe``'s ``segmentInfos`` (``insertLogs`` and
    ``deltaLogs``: ``[{fieldID, logIDs}]``; for storage v2 the fieldID is the column group);
    ``insert`` maps a directory id to the listed objects, ``delta`` lists the delta objects. A log file
    is named by its log id. Returns ``(insert, delta, orphans)``: the named objects only, and the keys
    of listed objects Milvus does not name (DataNode upload retries leave them; milvus-backup #635,
    #971). A named log missing from the bucket raises ConsistencyError, as milvus-backup's
    ``core/backup/coll_dml_task.go listInsertLogByAPI`` does ("log ... not exist").
    """
    def by_log_id(objects):
        return dict((o.key.rsplit("/", 1)[1], o) for o in objects)

    named_insert, orphans = {}, []
    wanted = {}
    for entry in described.get("insertLogs") or []:
        wanted.setdefault(int(entry["fieldID"]), set()).update(str(i) for i in entry.get("logIDs") or [])
    for field_id in sorted(set(wanted) | set(insert)):
        listed = by_log_id(insert.get(field_id, []))
        names = wanted.get(field_id, set())
        absent = sorted(names - set(listed))
        if absent:
            raise ConsistencyError("Milvus names insert log %s of field/column group %d, which is not in its bucket"
                                   % (absent[0], field_id))
        if names:
            named_insert[field_id] = [listed[n] for n in sorted(names, key=lambda n: (len(n), n))]
        orphans.extend(sorted(o.key for n, o in listed.items() if n not in names))
    delta_names = set(str(i) for entry in described.get("deltaLogs") or [] for i in entry.get("logIDs") or [])
    listed = by_log_id(delta)
    absent = sorted(delta_names - set(listed))
    if absent:
        raise ConsistencyError("Milvus names delta log %s, which is not in its bucket" % absent[0])
    orphans.extend(sorted(o.key for n, o in listed.items() if n not in delta_names))
    return named_insert, [listed[n] for n in sorted(delta_names, key=lambda n: (len(n), n))], orphans


class SegmentFiles:
    """One persistent segment and its objects in Milvus's bucket."""

    def __init__(self, info):
        self.id = info["id"]
        self.partition_id = info["partition_id"]
        self.num_rows = info["num_rows"]
        self.level = info["level"]
        self.channel = info.get("channel", "")
        self.storage_version = info.get("storage_version", 0)
        self.insert = {}  # field id -> [ObjectInfo]
        self.delta = []

    @property
    def size(self):
        return sum(o.size for objs in self.insert.values() for o in objs) + sum(o.size for o in self.delta)

    def insert_keys(self, paths, collection_id, field_id):
        """Backup-relative keys of one field's insert logs, oldest first (log ids grow with time), so that
        the n-th files of two fields hold the same rows."""
        names = sorted((o.key.rsplit("/", 1)[1] for o in self.insert.get(field_id, [])), key=lambda n: (len(n), n))
        return [paths.insert_log(collection_id, self.partition_id, self.id, field_id, n) for n in names]

    def delta_keys(self, paths, collection_id):
        return sorted(paths.delta_log(collection_id, self.partition_id, self.id, o.key.rsplit("/", 1)[1])
                      for o in self.delta)

    def tasks(self, paths, collection_id):
        """(source key, backup-relative key, size) of every object of the segment."""
        result = []
        for field_id, objs in sorted(self.insert.items()):
            for obj in objs:
                rel = paths.insert_log(collection_id, self.partition_id, self.id, field_id, obj.key.rsplit("/", 1)[1])
                result.append((obj.key, rel, obj.size))
        for obj in self.delta:
            rel = paths.delta_log(collection_id, self.partition_id, self.id, obj.key.rsplit("/", 1)[1])
            result.append((obj.key, rel, obj.size))
        return result


class CollectionPlan:
    def __init__(self, desc, task_id):
        self.desc = desc
        self.task_id = task_id
        self.flush_ts = None
        self.seal_time = None
        self.cut_ts = None  # rows up to this timestamp are what the backup restores (None: all in its segments)
        self.live_rows = None
        self.verification = None
        self.golden = []  # golden query candidates, searched before the copy
        self.skipped = []  # why some verification data could not be recorded
        self.segments = {}  # id -> SegmentFiles
        self.attempts = 0
        self.log_source = "listing"  # "rest": binlogs named by Milvus's segments/describe
        self.orphans = []  # keys of listed binlogs Milvus does not name (not copied)
        self.format = "binlog"
        self.format_reason = None
        self.export = None  # logical format: the export record (files, rows, fingerprints, read timestamp)

    @property
    def label(self):
        return "%s.%s" % (self.desc["db_name"], self.desc["name"])

    def segments_of(self, partition_id):
        return [s for _sid, s in sorted(self.segments.items()) if s.partition_id == partition_id]


# ------------------------------------------------------------------ the job
class BackupJob:
    """One ``milvus_backup state=present`` run."""

    def __init__(self, conn, milvus_store, backup_store, options, warn=None):
        self.conn = conn
        self.milvus_store = milvus_store
        self.store = backup_store
        self.opts = options
        self.warn = warn or (lambda msg: None)
        self.name = options["name"]
        self.paths = layout.BackupPaths(backup_store, self.name)
        self.timer = Timer()
        self.backup_id = str(uuid.uuid4())
        self.limiter = RateLimiter(options.get("max_bytes_per_second") or 0)
        self.plans = []
        self.copied = {}  # backup-relative key -> dict(size, sha256, sha256_source, method, source)
        self.segments_replanned = 0
        self._stop = threading.Event()
        self.progress = ProgressMarker(backup_store, self.paths.key(layout.IN_PROGRESS), self.name,
                                       lambda: dict(id=self.backup_id, name=self.name, collections=self._selected,
                                                    format=self.format))
        self._selected = []
        self.gc = None
        self.started_at = layout.iso(layout.utcnow())
        self._version = None
        self.database_properties = {}
        self._rest = None
        self._rest_failure = None  # why segments/describe is not used any more in this run (auto)
        self.format = "binlog"
        self.format_reasons = {}

    # -------------------------------------------------------------- entry
    def run(self):
        existing = catalog.read_backup(self.store, self.name)
        if existing.exists:
            outcome = self._existing(existing)
            if outcome is not None:
                return outcome
        with self.timer.phase("select"):
            selected = select_collections(self.conn, self.opts.get("collections"), self.opts.get("databases"))
        if not selected:
            raise NotFoundError("no collections selected: the server has none matching collections=%s databases=%s"
                                % (self.opts.get("collections") or [], self.opts.get("databases") or []))
        with self.timer.phase("select"):
            self.database_properties = self._database_properties(sorted(set(db for db, _name in selected)))
            self._choose_format(selected)
        if self.opts.get("check_mode"):
            return self._predict(selected, existing)
        return self._create(selected, resumed=existing.exists)

    def _database_properties(self, databases):
        """``{db: {key: value}}`` of the selected databases (empty where the server cannot describe one).
        Encrypted databases are refused before anything is written: their binlogs need the encryption-zone
        key, which milvus-backup fetches from Milvus's management API (``core/backup/database_task.go``
        ``cipherEnabled``, ``GetEZK``) and this collection does not."""
        properties = {}
        for db in databases:
            props = self.conn.database_properties(db)
            if props is None:
                continue
            cipher = sorted(k for k, v in props.items() if k in CIPHER_PROPERTIES and v)
            if len(cipher) == len(CIPHER_PROPERTIES):
                raise VectoropsError(
                    "database %s is encrypted (%s): its binlogs can only be read with Milvus's encryption-zone key, "
                    "which vectorops.milvus does not back up; nothing was written. Leave its collections out, or use "
                    "milvus-backup for it" % (db, ", ".join(cipher)), reason="unsupported")
            properties[db] = props
        return properties

    def _choose_format(self, selected):
        requested = self.opts.get("format") or "auto"
        lite = logical.is_milvus_lite(self.server_version)
        descriptions = [dict(db_name=db, name=name, segments=[]) for db, name in selected]
        if requested != "logical" and not lite and self.milvus_store is not None:
            descriptions = [describe_collection(self.conn, db, name, exact_count=False, segments=True,
                                                partition_details=False) for db, name in selected]
        self.format, self.format_reasons = choose_format(requested, self.milvus_store is not None, lite, descriptions)

    def _existing(self, existing):
        if existing.status == catalog.STATUS_COMPLETE:
            summary = existing.summary()
            return dict(changed=False, name=self.name, status="complete", existing=True,
                        backup_id=summary["backup_id"], format=existing.data_format, written_by=existing.format,
                        location=summary["location"],
                        summary=summary, msg="backup %r already exists and is complete" % self.name)
        if existing.status == catalog.STATUS_CORRUPT:
            raise VectoropsError("backup %r exists but is corrupt (%s); delete it with state=absent or use another "
                                 "name" % (self.name, "; ".join(existing.problems)))
        if existing.format == catalog.MILVUS_BACKUP:
            raise VectoropsError("backup %r exists, written by milvus-backup, and cannot be read completely (%s); "
                                 "use another name" % (self.name, "; ".join(existing.problems)))
        check_not_running(self.name, existing.in_progress)
        if self.opts.get("on_incomplete", "resume") == "fail":
            raise VectoropsError(
                "backup %r exists but is incomplete (no COMPLETE marker; started %s). Run again with "
                "on_incomplete=resume to finish it, or delete it with state=absent."
                % (self.name, (existing.in_progress or {}).get("started_at", "at an unknown time")))
        return None

    # -------------------------------------------------------------- check mode
    def _predict(self, selected, existing):
        strategy = self.opts["strategy"]
        collections = []
        for db, name in selected:
            desc = describe_collection(self.conn, db, name, exact_count=False, segments=True,
                                       partition_details=False)
            entry = dict(db_name=db, name=name, id=desc["id"], partitions=len(desc["partitions"]),
                         segments=0, rows=0, objects=0, bytes=0, format=self.format,
                         format_reason=self.format_reasons.get("%s.%s" % (db, name)))
            if strategy != "meta_only" and self.format == "logical":
                entry.update(rows=desc["row_count"])
            elif strategy != "meta_only":
                plan = self._plan_segments(CollectionPlan(desc, ""))
                entry.update(segments=len(plan.segments), rows=sum(s.num_rows for s in plan.segments.values()),
                             objects=sum(len(s.tasks(self.paths, desc["id"])) for s in plan.segments.values()),
                             bytes=sum(s.size for s in plan.segments.values()))
            collections.append(entry)
        return dict(changed=True, name=self.name, status="planned", would_resume=existing.exists,
                    location=self.store.url(self.paths.prefix), strategy=strategy, format=self.format,
                    collections=collections,
                    totals=totals_of(collections),
                    msg="check mode: would %s backup %r of %d collection(s)"
                    % ("resume" if existing.exists else "create", self.name, len(collections)))

    # -------------------------------------------------------------- create
    def _create(self, selected, resumed):
        strategy = self.opts["strategy"]
        binlogs = strategy != "meta_only" and self.format == "binlog"
        # Every store is checked before the first write, so that a wrong bucket, root path or credential
        # leaves nothing behind.
        with self.timer.phase("preflight"):
            backup_storage_preflight(self.store, write_check=True)
            if binlogs:
                before = [describe_collection(self.conn, db, name, exact_count=False, segments=True,
                                              partition_details=False) for db, name in selected]
                check = milvus_storage_preflight(self.milvus_store, before)
                if not check["ok"]:
                    raise VectoropsError("; ".join(check["problems"]))
        self._selected = ["%s.%s" % item for item in selected]
        self.progress.claim()
        heartbeat = threading.Thread(target=self._heartbeat, name="vectorops-heartbeat", daemon=True)
        heartbeat.start()
        try:
            if binlogs:
                with self.timer.phase("gc_pause"):
                    self.gc = GcPause(self.opts["management_uri"], self.opts.get("gc_pause_seconds", 3600),
                                      self.opts.get("gc_pause", "try"))
                    self.gc.pause()
                    if not self.gc.held and self.gc.mode != "skip":
                        self.warn("GC pause did not hold: %s" % self.gc.reason)
            if strategy == "flush" and binlogs:
                with self.timer.phase("flush"):
                    flushed = dict(((db, name), self._flush(db, name)) for db, name in selected)
            with self.timer.phase("describe"):
                for db, name in selected:
                    desc = describe_collection(self.conn, db, name, exact_count=False, segments=binlogs)
                    plan = CollectionPlan(desc, str(uuid.uuid4()))
                    plan.format, plan.format_reason = self.format, self.format_reasons.get(plan.label)
                    if strategy == "flush" and binlogs:
                        plan.flush_ts, plan.seal_time = flushed[(db, name)]
                        plan.cut_ts = consistency_cut(plan.flush_ts)
                    self.plans.append(plan)
            if strategy == "meta_only":
                for plan in self.plans:
                    plan.verification = dict(measured_at=layout.iso(layout.utcnow()), pk_fingerprint=None,
                                             golden_queries=[], skipped=["metadata-only backup: it holds no rows"])
            elif self.format == "logical":
                self._export()
            else:
                if self.opts.get("fingerprint", True):
                    with self.timer.phase("golden_queries"):
                        for plan in self.plans:
                            self._golden_candidates(plan)
                self._copy_consistently()
                with self.timer.phase("sweep"):
                    self.progress.check("about to sweep leftovers")
                    self._sweep()
                with self.timer.phase("fingerprint"):
                    for plan in self.plans:
                        self._measure(plan)
            with self.timer.phase("meta"):
                result = self._write_meta(resumed)
        finally:
            self._stop.set()
            if self.gc is not None:
                self.gc.resume()
        return result

    # -------------------------------------------------------------- logical format
    def _export(self):
        """Export every planned collection as Parquet (logical.py); verification data come from the export."""
        exporter = logical.Exporter(self.conn, self.store, self.paths,
                                    attempts=int(self.opts.get("consistency_attempts", 5)), check=self.progress.check)
        for plan in self.plans:
            if self.opts.get("fingerprint", True):
                with self.timer.phase("golden_queries"):
                    self._golden_candidates(plan)
            watch = set(pk for query in plan.golden for pk, _distance in query["candidates"])
            with self.timer.phase("export"):
                record = exporter.export(plan.desc, watch)
            plan.export = record
            plan.live_rows = record["rows"]
            plan.attempts = record.get("attempts", 0)
            plan.flush_ts = record["read_timestamp"]  # the backup's point in time (None on Milvus Lite)
            plan.log_source = None
            for item in record["files"]:
                self.copied[item["key"]] = dict(size=item["size"], sha256=item["sha256"],
                                                sha256_source="read-back" if record["reused"] else "streamed",
                                                method="reused" if record["reused"] else "exported",
                                                source="query %s" % plan.label)
            skipped = list(plan.skipped)
            golden = []
            if record["reused"]:
                skipped.append("export finished by an earlier, interrupted run: no golden queries")
            else:
                golden = fingerprint.golden_queries_at_cut(plan.golden, set(record["found"]))
            plan.verification = None if not self.opts.get("fingerprint", True) else dict(
                measured_at=layout.iso(layout.utcnow()), measured_from="export",
                read_timestamp=record["read_timestamp"], pk_fingerprint=record["pk_fingerprint"],
                content_fingerprint=record["content_fingerprint"], golden_queries=golden, skipped=skipped)

    # -------------------------------------------------------------- verification data
    def _golden_candidates(self, plan):
        """Sample query vectors and search their nearest rows now, while the collection is loaded.

        Rows written after the cut are among the hits; :meth:`_measure` drops them.
        """
        desc = plan.desc
        if desc["load_state"] != "Loaded":
            plan.skipped.append("collection not loaded at backup time: Milvus searches only loaded collections, so "
                                "no golden queries")
            return
        schema = desc["schema"]
        indexed = dict((i["field_name"], i) for i in desc["indexes"])
        vector = [f for f in schema["fields"] if f["data_type"] == "FloatVector" and f["name"] in indexed]
        if not vector:
            plan.skipped.append("no indexed FloatVector field: no golden queries")
            return
        field = vector[0]["name"]
        plan.golden = fingerprint.golden_candidates(
            self.conn, desc["db_name"], desc["name"], field, indexed[field]["metric_type"], indexed[field],
            schema["primary_field"], int(self.opts.get("golden_queries", 5)), int(self.opts.get("golden_top_k", 10)))

    def _measure(self, plan):
        """Live rows and PK fingerprint of what the copied segments restore to at the cut, read from their binlogs.

        A query of the live collection would count rows written after the cut too, and the backup would then
        claim rows it cannot restore; the binlogs say exactly what it holds, however busy the collection is.
        """
        desc = plan.desc
        data = dict(measured_at=layout.iso(layout.utcnow()), measured_from="binlogs", cut_timestamp=plan.cut_ts,
                    pk_fingerprint=None, golden_queries=[], skipped=list(plan.skipped))
        pk_name = desc["schema"]["primary_field"]
        pk_field = [f for f in desc["schema"]["fields"] if f["name"] == pk_name][0]["field_id"]
        partition_names = None
        if fingerprint.partitions_to_fingerprint(desc) is not None:
            partition_names = dict((p["id"], p["name"]) for p in desc["partitions"])
        watch = set(pk for query in plan.golden for pk, _distance in query["candidates"])
        measured = fingerprint.cut_fingerprint(self._segment_contents(plan, pk_field), plan.cut_ts, partition_names,
                                               watch, digest=self.opts.get("fingerprint", True))
        plan.live_rows = measured["count"]
        if not self.opts.get("fingerprint", True):
            plan.verification = None
            return
        data["pk_fingerprint"] = dict(collection=measured["collection"], partitions=measured["partitions"])
        data["golden_queries"] = fingerprint.golden_queries_at_cut(plan.golden, measured["found"])
        plan.verification = data

    def _segment_contents(self, plan, pk_field):
        """(partition id, insert batches, delete records) of every planned segment, read from the backup copies."""
        cid = plan.desc["id"]

        def values(rel):
            return binlog.read_binlog(self.store.read(self.paths.key(rel)), self.store.url(self.paths.key(rel)))[1]

        def batches(pk_keys, ts_keys):
            for pk_key, ts_key in zip(pk_keys, ts_keys):
                yield values(pk_key), values(ts_key)

        def packed_batches(keys):
            # storage v2: the primary key and the timestamps are columns of column group 0's files
            for rel in keys:
                url = self.store.url(self.paths.key(rel))
                columns = binlog.read_columns(self.store.read(self.paths.key(rel)), [pk_field, TIMESTAMP_FIELD], url)
                yield columns[pk_field], columns[TIMESTAMP_FIELD]

        def delete_records(seg):
            records = []
            for rel in seg.delta_keys(self.paths, cid):
                records.extend(binlog.delete_records(self.store.read(self.paths.key(rel)),
                                                     self.store.url(self.paths.key(rel))))
            return records

        # L0 segments (Milvus 2.4+) hold deletes only; they apply to every segment of their partition, or of
        # the whole collection for partition -1, as Milvus applies them after an L0 import.
        l0_deletes = {}
        for _sid, seg in sorted(plan.segments.items()):
            if seg.level == "L0":
                l0_deletes.setdefault(seg.partition_id, []).extend(delete_records(seg))
        for _sid, seg in sorted(plan.segments.items()):
            if seg.level == "L0":
                continue
            deletes = delete_records(seg) + l0_deletes.get(seg.partition_id, []) + l0_deletes.get(layout.COLLECTION_WIDE, [])
            if int(seg.storage_version or 0) >= 2:
                yield seg.partition_id, packed_batches(seg.insert_keys(self.paths, cid, SHORT_COLUMN_GROUP)), deletes
                continue
            pk_keys = seg.insert_keys(self.paths, cid, pk_field)
            ts_keys = seg.insert_keys(self.paths, cid, TIMESTAMP_FIELD)
            if len(pk_keys) != len(ts_keys):
                raise ConsistencyError("segment %d of %s has %d primary-key logs but %d timestamp logs; nothing was "
                                       "marked complete" % (seg.id, plan.label, len(pk_keys), len(ts_keys)))
            yield seg.partition_id, batches(pk_keys, ts_keys), deletes

    # -------------------------------------------------------------- flush
    def _flush(self, db, name):
        """Flush one collection (raw RPC: pymilvus hides the flush timestamp); wait until persisted."""
        label = "%s.%s" % (db, name)
        request = milvus_pb2.FlushRequest(db_name=db, collection_names=[name])
        delay = 1.0
        for attempt in range(8):
            try:
                resp = self.conn.rpc("flush %s" % label, "Flush", request, db_name=db)
                break
            except MilvusOperationError as exc:
                if not flush_is_retryable(exc.message) or attempt == 7:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 30)
        segment_ids = list(resp.coll_segIDs[name].data) if name in resp.coll_segIDs else []
        flush_ts = resp.coll_flush_ts[name] if name in resp.coll_flush_ts else 0
        seal_time = resp.coll_seal_times[name] if name in resp.coll_seal_times else 0
        state = milvus_pb2.GetFlushStateRequest(segmentIDs=segment_ids, flush_ts=flush_ts, db_name=db,
                                                collection_name=name)
        flush_timeout = self.opts.get("flush_timeout", 600)
        wait_until(lambda: self.conn.rpc("flush state of %s" % label, "GetFlushState", state, db_name=db).flushed,
                   flush_timeout,
                   lambda: "flush of %s did not finish within flush_timeout=%ss; nothing was marked complete"
                   % (label, flush_timeout),
                   interval=0.05, max_interval=1.0)
        return flush_ts, seal_time

    # -------------------------------------------------------------- plan
    def _list_segments(self, desc):
        reader = CollectionReader(self.conn, desc["db_name"], desc["name"])
        return dict((s["id"], s) for s in reader.segments() if s["state"] == "Flushed")

    @property
    def server_version(self):
        if self._version is None:
            self._version = self.conn.server_version()
        return self._version

    @property
    def rest(self):
        if self._rest is None:
            self._rest = MilvusRest(self.opts.get("rest_uri") or self.conn.full_uri, self.conn.params,
                                    timeout=self.conn.timeout)
        return self._rest

    def _uses_segment_describe(self):
        mode = self.opts.get("segment_logs") or "auto"
        if mode == "listing" or self._rest_failure:
            return False
        return mode == "rest" or has_feature(layout.parse_version(self.server_version), "segment_describe")

    def _describe_segments(self, plan, files):
        """Replace listed binlogs by those Milvus's meta names (REST segments/describe, Milvus >= 2.5.8),
        one request per segment as milvus-backup sends (``internal/client/milvus/restful.go GetSegmentInfo``).
        ``segment_logs=auto`` falls back to the listing when the API does not answer; ``rest`` fails."""
        described = {}
        try:
            for sid in sorted(files):
                request = dict(dbName=plan.desc["db_name"], collectionId=plan.desc["id"], segmentIds=[sid])
                data = self.rest.post("/v2/vectordb/segments/describe", request) or {}
                infos = [i for i in data.get("segmentInfos") or [] if int(i.get("segmentID", sid)) == sid]
                if not infos:
                    raise RestError("%s/v2/vectordb/segments/describe has no answer for segment %d"
                                    % (self.rest.uri.rstrip("/"), sid))
                described[sid] = infos[0]
        except RestError as exc:
            if (self.opts.get("segment_logs") or "auto") == "rest":
                raise MilvusOperationError("segment_logs=rest, but Milvus's REST API did not describe the segments "
                                           "of %s: %s. Enable Milvus's REST API (proxy.http.enabled), set rest_uri, or "
                                           "use segment_logs=listing" % (plan.label, exc.message))
            self._rest_failure = exc.message
            self.warn("Milvus's REST API did not describe the segments of %s (%s); binlogs are listed from the bucket "
                      "instead, where orphan binlogs fail the backup. Check that Milvus's REST API is enabled, or set "
                      "rest_uri" % (plan.label, exc.message))
            return False
        orphans = []
        for sid, seg in sorted(files.items()):
            try:
                seg.insert, seg.delta, seg_orphans = logs_named_by_milvus(described[sid], seg.insert, seg.delta)
            except ConsistencyError as exc:
                raise ConsistencyError("segment %d of %s: %s (milvus_storage is not the bucket and root_path Milvus "
                                       "writes to, or the object was deleted); nothing was marked complete"
                                       % (sid, plan.label, exc.message))
            orphans.extend(seg_orphans)
        plan.orphans = orphans
        return True

    def _plan_segments(self, plan, segments=None):
        """Fill ``plan.segments`` with the flushed segments and their binlog objects."""
        desc = plan.desc
        segments = segments if segments is not None else self._list_segments(desc)
        cid = desc["id"]
        files = dict((sid, SegmentFiles(info)) for sid, info in segments.items())
        for obj in self.milvus_store.list(self.milvus_store.key("insert_log", cid) + "/"):
            match = layout.INSERT_LOG_RE.match(obj.key)
            if match and int(match.group(4)) in files:
                files[int(match.group(4))].insert.setdefault(int(match.group(5)), []).append(obj)
        for obj in self.milvus_store.list(self.milvus_store.key("delta_log", cid) + "/"):
            match = layout.DELTA_LOG_RE.match(obj.key)
            if match and int(match.group(4)) in files:
                files[int(match.group(4))].delta.append(obj)
        plan.orphans = []
        plan.log_source = "rest" if files and self._uses_segment_describe() and self._describe_segments(plan, files) \
            else "listing"
        field_ids = [f["field_id"] for f in desc["schema"]["fields"]]
        for seg in files.values():
            if seg.level == "L0":
                continue
            if seg.num_rows and not seg.insert:
                raise ConsistencyError(
                    "segment %d of %s has %d rows but no insert logs under %s: milvus_storage.bucket/root_path do "
                    "not match Milvus's storage" % (seg.id, plan.label, seg.num_rows,
                                                    self.milvus_store.url(self.milvus_store.key("insert_log", cid))))
            problem = segment_file_problem(seg.storage_version, field_ids,
                                           dict((k, len(v)) for k, v in seg.insert.items())) if seg.num_rows else None
            if problem:
                if plan.log_source == "listing" and "inconsistent binlogs" in problem:
                    problem += ("; Milvus 2.5.8+ names each segment's binlogs through its REST API "
                                "(segment_logs=auto or rest), which leaves orphans out")
                raise ConsistencyError("segment %d of %s %s; nothing was marked complete" % (seg.id, plan.label, problem))
        plan.segments = files
        return plan

    # -------------------------------------------------------------- copy
    def _copy_consistently(self):
        attempts = int(self.opts.get("consistency_attempts", 5))
        with self.timer.phase("plan"):
            for plan in self.plans:
                self._plan_segments(plan)
                plan.attempts = 1
        reusable = self._reusable_objects()
        pending = list(self.plans)
        while pending:
            with self.timer.phase("copy"):
                vanished = self._copy_plans(pending, reusable)
            with self.timer.phase("consistency"):
                changed = []
                for plan in pending:
                    current = self._list_segments(plan.desc)
                    lost = set(plan.segments) - set(current)
                    if lost or plan.label in vanished:
                        if plan.attempts >= attempts:
                            raise ConsistencyError(
                                "%s kept changing during the backup (segments %s compacted away) after %d attempts; "
                                "nothing was marked complete. Run again, ideally with compaction paused."
                                % (plan.label, sorted(lost) or "with vanished objects", plan.attempts))
                        self.segments_replanned += len(lost)
                        plan.attempts += 1
                        self._plan_segments(plan, current)
                        changed.append(plan)
                pending = changed

    def _reusable_objects(self):
        """Objects an interrupted earlier run already wrote (key -> size)."""
        return dict((self.paths.relative(o.key), o.size)
                    for o in self.store.list(self.paths.key(layout.BINLOGS) + "/"))

    def _copy_plans(self, plans, reusable):
        tasks = []
        for plan in plans:
            for seg in plan.segments.values():
                for src, rel, size in seg.tasks(self.paths, plan.desc["id"]):
                    if rel not in self.copied:
                        tasks.append((plan.label, src, rel, size))
        vanished = set()
        errors = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(self.opts.get("concurrency", 16))) as pool:
            futures = dict((pool.submit(self._copy_one, src, rel, size, reusable), (label, src, rel))
                           for label, src, rel, size in tasks)
            for future in concurrent.futures.as_completed(futures):
                label, src, rel = futures[future]
                try:
                    self.copied[rel] = future.result()
                except NotFoundError:
                    vanished.add(label)  # compacted away mid-copy: re-planned by the caller
                except VectoropsError as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]
        return vanished

    def _copy_one(self, src, rel, size, reusable):
        dst = self.paths.key(rel)
        if reusable.get(rel) == size:
            return dict(size=size, sha256=self.store.sha256(dst), sha256_source="read-back", method="reused",
                        source=src)
        self.limiter.acquire(size)
        result = copy_object(self.milvus_store, src, self.store, dst, size,
                             concurrency=max(1, int(self.opts.get("concurrency", 16)) // 4))
        return dict(size=result.size, sha256=result.sha256, sha256_source=result.sha256_source,
                    method=result.method, source=src)

    def _sweep(self):
        """Remove objects from earlier attempts that the final plan does not contain."""
        wanted = set()
        for plan in self.plans:
            for seg in plan.segments.values():
                wanted.update(rel for _src, rel, _size in seg.tasks(self.paths, plan.desc["id"]))
        for rel in list(self.copied):
            if rel not in wanted:
                del self.copied[rel]
        extra = [o.key for o in self.store.list(self.paths.key(layout.BINLOGS) + "/")
                 if self.paths.relative(o.key) not in wanted]
        self.store.delete(extra)
        missing = wanted - set(self.copied)
        if missing:
            raise ConsistencyError("%d planned object(s) were not copied, e.g. %s; nothing was marked complete"
                                   % (len(missing), sorted(missing)[0]))

    # -------------------------------------------------------------- metadata
    def _write_meta(self, resumed):
        version = self.server_version
        databases = sorted(set(p.desc["db_name"] for p in self.plans))
        full = manifest.backup_info(self.backup_id, self.name, version, self.plans, databases,
                                    self.database_properties,
                                    manifest.LOGICAL_META_FORMAT if self.format == "logical" else "")
        files = manifest.meta_files(full)
        for rel in (layout.COLLECTION_META, layout.PARTITION_META, layout.SEGMENT_META, layout.FULL_META):
            self.store.write(self.paths.key(rel), files[rel])
        collections = [self._collection_entry(p) for p in self.plans]
        totals = totals_of(collections)
        backup_ts = full["backup_timestamp"]
        backup_time = layout.iso(layout.hybrid_ts_to_datetime(backup_ts)) or self.started_at
        sources = dict(Counter(item["sha256_source"] for item in self.copied.values()))
        consistency = dict(strategy=self.opts["strategy"], gc_pause=self.gc.report() if self.gc else None,
                           backup_timestamp=backup_ts, backup_time=backup_time,
                           attempts=dict((p.label, p.attempts) for p in self.plans),
                           segments_replanned=self.segments_replanned, consistent=True,
                           note=("every planned segment was still present after the copy"
                                 if self.opts["strategy"] != "meta_only" else "metadata only, no data"))
        if self.format == "logical" and self.opts["strategy"] != "meta_only":
            pinned = all(p.export["snapshot"] for p in self.plans)
            consistency["strategy"] = "snapshot_read" if pinned else "stable_read"
            consistency["note"] = (
                "logical format: each collection's rows were read as of one timestamp (its read_timestamp), in every "
                "partition, so rows written or deleted during the export are wholly out" if pinned else
                "logical format from a server that does not pin reads to a timestamp (Milvus 2.3, Milvus Lite): each "
                "collection's primary keys were read again after its export and matched (it did not change)")
        elif self.opts["strategy"] == "flush":
            consistency["note"] += ("; each collection is restored as of its cut_time (rows and deletes up to its "
                                    "flush, to the millisecond); rows written later that the copied segments hold "
                                    "are dropped at restore (import end_ts), and live_row_count and the fingerprints "
                                    "describe the collection at the cut")
        if self.opts["strategy"] == "skip_flush":
            consistency["note"] += "; skip_flush: rows not yet flushed when the backup started are NOT included"
        body = dict(
            format=layout.FORMAT, format_version=layout.FORMAT_VERSION, data_format=self.format,
            tool=dict(name=layout.TOOL_NAME, version=layout.TOOL_VERSION),
            backup=dict(name=self.name, id=self.backup_id, started_at=self.started_at,
                        completed_at=layout.iso(layout.utcnow()), backup_timestamp=backup_ts,
                        backup_time=backup_time, milvus_version=version, milvus_uri=self.conn.uri,
                        source=self.milvus_store.describe() if self.milvus_store else None,
                        resumed=resumed),
            consistency=consistency,
            checksums=dict(algorithm="sha256", sources=sources,
                           note="streamed: hashed while copying; read-back: the stored copy was read and hashed; "
                                "s3-checksum: computed by the storage service"),
            databases=databases, database_properties=self.database_properties,
            collections=collections, totals=totals,
            objects=[dict(key=rel, size=item["size"], sha256=item["sha256"], sha256_source=item["sha256_source"],
                          source=item["source"]) for rel, item in sorted(self.copied.items())])
        body_bytes = manifest.encode_pretty(body)
        self.progress.check("writing its metadata")
        self._check_stored(body["objects"])
        self.store.write(self.paths.key(layout.MANIFEST), body_bytes)
        self.store.write(self.paths.key(layout.BACKUP_META), files[layout.BACKUP_META])
        completed_at = body["backup"]["completed_at"]
        self.progress.check("marking it complete")
        self.store.write(self.paths.key(layout.COMPLETE),
                         manifest.complete_marker(self.name, self.backup_id, body_bytes, totals, completed_at))
        self._stop.set()
        self.progress.release()
        durations = self.timer.total()
        return dict(changed=True, name=self.name, backup_id=self.backup_id, status="complete", resumed=resumed,
                    location=self.store.url(self.paths.prefix), milvus_version=version, format=self.format,
                    collections=[result_view(c) for c in collections],
                    totals=totals, consistency=consistency, checksums=body["checksums"],
                    copy=dict(copy_counts(self.copied), concurrency=int(self.opts.get("concurrency", 16))),
                    durations=durations)

    def _collection_entry(self, plan):
        desc = plan.desc
        segments = [dict(id=s.id, partition_id=s.partition_id, num_rows=s.num_rows, level=s.level,
                         storage_version=s.storage_version, channel=s.channel,
                         insert_logs=sum(len(v) for v in s.insert.values()), delta_logs=len(s.delta), size=s.size)
                    for _sid, s in sorted(plan.segments.items())]
        partitions = []
        for part in desc["partitions"]:
            segs = [s for s in segments if s["partition_id"] == part["id"]]
            partitions.append(dict(name=part["name"], id=part["id"], load_state=part.get("load_state"),
                                   segments=[s["id"] for s in segs], row_count=sum(s["num_rows"] for s in segs)))
        objects = [rel for s in plan.segments.values() for _src, rel, _size in s.tasks(self.paths, desc["id"])]
        export = None
        if plan.export is not None:
            files = plan.export["files"]
            for part in partitions:
                part["row_count"] = sum(f["rows"] for f in files if f["partition"] == part["name"])
            objects = [f["key"] for f in files]
            keys = ("read_timestamp", "read_timestamp_source", "snapshot", "attempts", "columns", "content_fingerprint")
            export = dict((k, plan.export[k]) for k in keys)
            export["files"] = [dict((k, f[k]) for k in ("key", "partition", "rows", "size")) for f in files]
        nbytes = sum(f["size"] for f in plan.export["files"]) if plan.export else sum(s["size"] for s in segments)
        return dict(
            format=plan.format, format_reason=plan.format_reason, logical=export,
            db_name=desc["db_name"], name=desc["name"], id=desc["id"], description=desc["description"],
            schema=desc["schema_proto"], shards_num=desc["shards_num"], consistency_level=desc["consistency_level"],
            properties=desc["properties"], indexes=desc["index_protos"], aliases=desc["aliases"],
            load_state=desc["load_state"], partitions=partitions, segments=segments,
            row_count=plan.export["rows"] if plan.export else sum(s["num_rows"] for s in segments),
            live_row_count=plan.live_rows,
            verification=plan.verification,
            backup_timestamp=(plan.export or {}).get("read_timestamp") or plan.flush_ts or 0,
            backup_time=layout.iso(layout.hybrid_ts_to_datetime((plan.export or {}).get("read_timestamp") or plan.flush_ts)),
            cut_timestamp=plan.cut_ts, cut_time=layout.iso(layout.hybrid_ts_to_datetime(plan.cut_ts)),
            binlog_source=plan.log_source, orphan_binlogs_skipped=len(plan.orphans),
            objects=len(objects), bytes=nbytes)

    def _check_stored(self, objects):
        """The manifest's objects, checked against a fresh listing of the store (not this run's memory)."""
        stored = dict((self.paths.relative(o.key), o.size)
                      for prefix in (layout.BINLOGS, logical.LOGICAL)
                      for o in self.store.list(self.paths.key(prefix) + "/"))
        missing = [o["key"] for o in objects if stored.get(o["key"]) != o["size"]]
        if missing:
            raise ConsistencyError("%d object(s) of the manifest are missing from the store or have another size, "
                                   "e.g. %s; nothing was marked complete" % (len(missing), missing[0]))

    # -------------------------------------------------------------- progress marker
    def _heartbeat(self):
        renew_every = max(60, (self.gc.seconds // 2) if self.gc else 600)
        last_renew = time.time()
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                if not self.progress.beat():
                    return  # another run took the name over; the main thread stops at its next check
            except VectoropsError:
                pass
            if self.gc is not None and time.time() - last_renew > renew_every:
                self.gc.renew()
                last_renew = time.time()


def result_view(entry):
    """A manifest collection entry without the bulky parts (schema, indexes, golden query vectors)."""
    view = dict((k, v) for k, v in entry.items() if k not in ("schema", "indexes", "verification", "logical"))
    if entry.get("logical"):
        view["logical"] = dict((k, v) for k, v in entry["logical"].items() if k != "files")
        view["logical"]["files"] = len(entry["logical"]["files"])
    verification = entry.get("verification")
    if verification:
        view["verification"] = dict(pk_fingerprint=verification["pk_fingerprint"],
                                    golden_queries=len(verification["golden_queries"]), skipped=verification["skipped"])
    return view


def totals_of(collections):
    """Totals over collection entries (lists of partitions/segments, or their counts in check mode)."""
    def count(value):
        return len(value) if isinstance(value, list) else value

    return dict(collections=len(collections),
                partitions=sum(count(c["partitions"]) for c in collections),
                segments=sum(count(c["segments"]) for c in collections),
                rows=sum(c.get("row_count", c.get("rows", 0)) for c in collections),
                objects=sum(c["objects"] for c in collections),
                bytes=sum(c["bytes"] for c in collections))


def default_management_uri(uri):
    host = uri.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return "http://%s:9091" % host


def delete(params, check_mode):
    """``state=absent``: remove a backup (complete, incomplete, or milvus-backup's)."""
    _milvus_store, backup_store = stores_from_params(params, need_backup=True)
    name = layout.validate_backup_name(params.get("name"))
    existing = catalog.read_backup(backup_store, name)
    if not existing.exists:
        return dict(changed=False, name=name, status="absent", msg="backup %r does not exist" % name)
    objects = list(backup_store.list(existing.paths.prefix))
    planned = dict(objects=len(objects), bytes=sum(o.size for o in objects))
    if check_mode:
        return dict(changed=True, name=name, status="absent", deleted=planned, previous_status=existing.status,
                    msg="check mode: would delete backup %r (%d objects)" % (name, planned["objects"]))
    check_not_running(name, existing.in_progress)
    deleted = catalog.delete_backup(backup_store, name)
    return dict(changed=True, name=name, status="absent", deleted=deleted, previous_status=existing.status,
                msg="deleted backup %r (%d objects)" % (name, deleted["objects"]))


def create(params, check_mode, warn=None):
    """``state=present``: create (or resume, or find) a backup."""
    strategy = params.get("strategy") or "flush"
    if strategy not in STRATEGIES:
        raise InputError("strategy must be one of %s" % ", ".join(STRATEGIES))
    if (params.get("format") or "auto") not in FORMATS:
        raise InputError("format must be one of %s" % ", ".join(FORMATS))
    if (params.get("segment_logs") or "auto") not in SEGMENT_LOG_SOURCES:
        raise InputError("segment_logs must be one of %s" % ", ".join(SEGMENT_LOG_SOURCES))
    name = layout.validate_backup_name(params.get("name") or layout.default_backup_name())
    for option, minimum in (("concurrency", 1), ("consistency_attempts", 1), ("flush_timeout", 1),
                            ("gc_pause_seconds", 1), ("max_bytes_per_second", 0), ("golden_queries", 0),
                            ("golden_top_k", 1)):
        if params.get(option) is not None and params[option] < minimum:
            raise InputError("%s must be at least %d, got %s" % (option, minimum, params[option]))
    if params.get("rest_uri"):
        MilvusRest(params["rest_uri"], params)  # a malformed rest_uri fails before anything is read or written
    milvus_store, backup_store = stores_from_params(
        params, need_milvus=strategy != "meta_only" and params.get("format") == "binlog", need_backup=True)
    options = dict(params, name=name, strategy=strategy, check_mode=check_mode,
                   management_uri=params.get("management_uri") or default_management_uri(params.get("uri") or ""))
    with MilvusConnection(params) as conn:
        conn.connect()
        try:
            return BackupJob(conn, milvus_store, backup_store, options, warn).run()
        except VectoropsError as exc:
            exc.details.setdefault("result", dict(name=name, status="incomplete" if not check_mode else "planned"))
            raise
