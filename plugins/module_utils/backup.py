# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Backups (engine side): milvus_backup's logic. This file orchestrates; each format moves the data
(binlog_format.BinlogBackup: Milvus's binlogs copied; logical.LogicalBackup: rows exported as Parquet).

Order of work, and why:

1. the format: ``format=auto`` takes binlog where Milvus's bucket and segments are readable for every
   selected collection, logical otherwise (choose_format: one format per backup);
2. preflight: the backup location accepts writes, and what the format reads is there (Milvus's bucket
   holds the binlogs);
3. ``.vectorops/IN_PROGRESS`` is claimed for this run (host, pid, run id, heartbeat; see
   progress.py), so exactly one run writes the folder and a crashed run can be resumed;
4. the format starts (binlog: GC pause and flush, whose timestamp is the backup's cut), the
   collections are described, and the format copies or exports their data with a SHA-256 per object,
   keeping what an interrupted earlier run finished, and records the verification data (live rows,
   PK fingerprint, golden queries) of what it stored;
5. milvus-backup's meta files, ``manifest.json``, ``meta/backup_meta.json`` and, last, ``COMPLETE``,
   after every object of the manifest was found in the store.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
import uuid
from collections import Counter

from ansible_collections.vectorops.milvus.plugins.module_utils import (
    binlog_format,
    catalog,
    fingerprint,
    layout,
    logical,
    manifest,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.describe import describe_collection
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    ConsistencyError,
    InputError,
    NotFoundError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.management import default_management_uri
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection
from ansible_collections.vectorops.milvus.plugins.module_utils.preflight import backup_storage_preflight
from ansible_collections.vectorops.milvus.plugins.module_utils.progress import (
    HEARTBEAT_SECONDS,
    ProgressMarker,
    check_not_running,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.rest import MilvusRest
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import select_collections
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import stores_from_params
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import Timer

STRATEGIES = ("flush", "skip_flush", "meta_only")
# Each format moves the data behind one interface (the job orchestrates selection, the progress marker,
# heartbeat, manifest, COMPLETE): preflight(selected), start(selected), planned(plan), predict(plan),
# copy(), renew()/renew_every(), stop(), consistency(section), entry(plan, partitions); attributes name,
# prefix (its folder in the backup), meta_format (milvus-backup meta "format"), needs_segments.
BACKUP_FORMATS = {"binlog": binlog_format.BinlogBackup, "logical": logical.LogicalBackup}
FORMATS = ("auto",) + tuple(sorted(BACKUP_FORMATS))
SEGMENT_LOG_SOURCES = ("auto", "rest", "listing")
CIPHER_PROPERTIES = ("cipher.ezID", "cipher.key")  # both set: the database is encrypted (Milvus 2.6)


# ------------------------------------------------------------------ helpers

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


class CollectionPlan:
    def __init__(self, desc, task_id):
        self.desc = desc
        self.task_id = task_id
        self.flush_ts = None
        self.seal_time = None
        self.cut_ts = None  # rows up to this timestamp are what the backup restores (None: all in its segments)
        self.cut_segments = None  # ids of the segments that held the collection at the flush (None: unknown)
        self.live_rows = None
        self.verification = None
        self.golden = []  # golden query candidates, searched before the backup's moment and confirmed after
        self.skipped = []  # why some verification data could not be recorded
        self.segments = {}  # id -> segment_plan.SegmentFiles
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
        self._stop = threading.Event()
        self.progress = ProgressMarker(backup_store, self.paths.key(layout.IN_PROGRESS), self.name,
                                       lambda: dict(id=self.backup_id, name=self.name, collections=self._selected,
                                                    format=self.format))
        self._selected = []
        self.started_at = layout.iso(layout.utcnow())
        self._version = None
        self.database_properties = {}
        self.format = "binlog"
        self.format_reasons = {}
        self.data = None  # the format's data movement (BACKUP_FORMATS), once the format is chosen

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
        self.data = BACKUP_FORMATS[self.format](self)

    def _existing(self, existing):
        if existing.status == catalog.STATUS_COMPLETE:
            return dict(changed=False, status="complete", existing=True, backup=existing.summary(),
                        msg="backup %r already exists and is complete" % self.name)
        if existing.status == catalog.STATUS_CORRUPT:
            raise VectoropsError("backup %r exists but is corrupt (%s); delete it with state=absent or use another "
                                 "name" % (self.name, "; ".join(existing.problems)))
        if existing.status == catalog.STATUS_UNREADABLE:
            # A COMPLETE that cannot be read now may be there: resuming would rewrite a complete backup.
            raise VectoropsError("backup %r exists but could not be read (%s); nothing was written. Run again once "
                                 "the storage answers" % (self.name, "; ".join(existing.problems)), reason="unreadable")
        if existing.status in (catalog.STATUS_DELETING, catalog.STATUS_NOT_BACKUP):
            raise VectoropsError("%s is %s; nothing was written. Finish the deletion with state=absent, or use another "
                                 "name" % (existing.store.url(existing.paths.prefix),
                                           "a backup being deleted" if existing.status == catalog.STATUS_DELETING
                                           else "a folder that is not a backup (no markers)"))
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
            desc = describe_collection(self.conn, db, name, exact_count=False, segments=self.data.needs_segments,
                                       partition_details=False)
            entry = dict(db_name=db, name=name, id=desc["id"], partitions=len(desc["partitions"]),
                         segments=0, rows=0, objects=0, bytes=0, format=self.format,
                         format_reason=self.format_reasons.get("%s.%s" % (db, name)))
            if strategy != "meta_only":
                entry.update(self.data.predict(CollectionPlan(desc, "")))
            collections.append(entry)
        return dict(changed=True, status="planned", would_resume=existing.exists,
                    backup=dict(existing.summary(), format=self.format), strategy=strategy, collections=collections,
                    totals=manifest.totals_of(collections),
                    msg="check mode: would %s backup %r of %d collection(s)"
                    % ("resume" if existing.exists else "create", self.name, len(collections)))

    # -------------------------------------------------------------- create
    def _create(self, selected, resumed):
        strategy = self.opts["strategy"]
        moves_data = strategy != "meta_only"
        # Every store is checked before the first write, so that a wrong bucket, root path or credential
        # leaves nothing behind.
        with self.timer.phase("preflight"):
            backup_storage_preflight(self.store, write_check=True)
            if moves_data:
                self.data.preflight(selected)
        self._selected = ["%s.%s" % item for item in selected]
        self.progress.claim()
        heartbeat = threading.Thread(target=self._heartbeat, name="vectorops-heartbeat", daemon=True)
        heartbeat.start()
        try:
            if moves_data:
                self.data.start(selected)
            with self.timer.phase("describe"):
                for db, name in selected:
                    desc = describe_collection(self.conn, db, name, exact_count=False,
                                               segments=moves_data and self.data.needs_segments)
                    plan = CollectionPlan(desc, str(uuid.uuid4()))
                    plan.format, plan.format_reason = self.format, self.format_reasons.get(plan.label)
                    self.data.planned(plan)
                    self.plans.append(plan)
            if moves_data:
                self.data.copy()
            else:
                for plan in self.plans:
                    plan.verification = dict(measured_at=layout.iso(layout.utcnow()), pk_fingerprint=None,
                                             golden_queries=[], skipped=["metadata-only backup: it holds no rows"])
            with self.timer.phase("meta"):
                result = self._write_meta(resumed)
        finally:
            self._stop.set()
            self.data.stop()
        return result

    # -------------------------------------------------------------- verification data
    def golden_candidates(self, desc, skipped):
        """Sample query vectors of ``desc``'s collection and search their nearest rows now, while it is loaded; why
        there are none goes to ``skipped``. Both formats search before their moment (the flush, the export) and
        again after it (:meth:`confirm_golden`).

        Rows written after the backup's moment are among the hits; the format drops them.
        """
        if desc["load_state"] != "Loaded":
            skipped.append("collection not loaded at backup time: Milvus searches only loaded collections, so "
                           "no golden queries")
            return []
        schema = desc["schema"]
        indexed = dict((i["field_name"], i) for i in desc["indexes"])
        vector = [f for f in schema["fields"] if f["data_type"] == "FloatVector" and f["name"] in indexed]
        if not vector:
            skipped.append("no indexed FloatVector field: no golden queries")
            return []
        field = vector[0]["name"]
        return fingerprint.golden_candidates(
            self.conn, desc["db_name"], desc["name"], field, indexed[field]["metric_type"], indexed[field],
            schema["primary_field"], int(self.opts.get("golden_queries", 5)), int(self.opts.get("golden_top_k", 10)))

    def confirm_golden(self, plan):
        """Keep the golden candidates that no write changed since they were searched (after the backup's moment)."""
        plan.golden = fingerprint.confirm_candidates(self.conn, plan.desc["db_name"], plan.desc["name"], plan.golden)

    @property
    def server_version(self):
        if self._version is None:
            self._version = self.conn.server_version()
        return self._version

    # -------------------------------------------------------------- metadata
    def _write_meta(self, resumed):
        version = self.server_version
        databases = sorted(set(p.desc["db_name"] for p in self.plans))
        full = manifest.backup_info(self.backup_id, self.name, version, self.plans, databases,
                                    self.database_properties, self.data.meta_format)
        files = manifest.meta_files(full)
        for rel in (layout.COLLECTION_META, layout.PARTITION_META, layout.SEGMENT_META, layout.FULL_META):
            self.store.write(self.paths.key(rel), files[rel])
        collections = [self._collection_entry(p) for p in self.plans]
        totals = manifest.totals_of(collections)
        backup_ts = full["backup_timestamp"]
        backup_time = layout.iso(layout.hybrid_ts_to_datetime(backup_ts)) or self.started_at
        sources = dict(Counter(item["sha256_source"] for item in self.copied.values()))
        consistency = dict(strategy=self.opts["strategy"], gc_pause=None,
                           backup_timestamp=backup_ts, backup_time=backup_time,
                           attempts=dict((p.label, p.attempts) for p in self.plans),
                           segments_replanned=0, consistent=True,
                           note=("every segment that held the collection at its cut was copied from its own binlogs"
                                 if self.opts["strategy"] != "meta_only" else "metadata only, no data"))
        self.data.consistency(consistency)
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
        marker = manifest.complete_marker(self.name, self.backup_id, body_bytes, totals, completed_at)
        self.store.write(self.paths.key(layout.COMPLETE), marker)
        self._stop.set()
        try:
            self.progress.release()
        except VectoropsError as exc:
            # The backup is complete (COMPLETE is written, and it outranks a left-over IN_PROGRESS): a marker that
            # cannot be removed now must not turn a finished backup into a failed run.
            marker_url = self.store.url(self.paths.key(layout.IN_PROGRESS))
            self.warn("backup %r is complete, but its in-progress marker %s could not be removed (%s); it is ignored "
                      "now that COMPLETE exists" % (self.name, marker_url, exc.message))
        durations = self.timer.total()
        return dict(changed=True, status="complete", resumed=resumed,
                    backup=catalog.StoredBackup.written(self.store, self.name, body, marker).summary(),
                    collections=[result_view(c) for c in collections],
                    totals=totals, consistency=consistency, checksums=body["checksums"],
                    copy=dict(copy_counts(self.copied), concurrency=int(self.opts.get("concurrency", 16))),
                    durations=durations)

    def _collection_entry(self, plan):
        desc = plan.desc
        partitions = [dict(name=part["name"], id=part["id"], load_state=part.get("load_state"))
                      for part in desc["partitions"]]
        data = self.data.entry(plan, partitions)
        moment = data.pop("backup_timestamp")
        return dict(
            format=plan.format, format_reason=plan.format_reason, logical=data.pop("logical"),
            db_name=desc["db_name"], name=desc["name"], id=desc["id"], description=desc["description"],
            schema=desc["schema_proto"], shards_num=desc["shards_num"], consistency_level=desc["consistency_level"],
            properties=desc["properties"], indexes=desc["index_protos"], aliases=desc["aliases"],
            load_state=desc["load_state"], partitions=partitions, segments=data.pop("segments"),
            row_count=data.pop("row_count"), live_row_count=plan.live_rows, verification=plan.verification,
            backup_timestamp=moment, backup_time=layout.iso(layout.hybrid_ts_to_datetime(moment)),
            cut_timestamp=plan.cut_ts, cut_time=layout.iso(layout.hybrid_ts_to_datetime(plan.cut_ts)),
            **data)

    def _check_stored(self, objects):
        """The manifest's objects, checked against a fresh listing of the store (not this run's memory)."""
        stored = dict((self.paths.relative(o.key), o.size)
                      for prefix in (binlog_format.BinlogBackup.prefix, logical.LogicalBackup.prefix)
                      for o in self.store.list(self.paths.key(prefix) + "/"))
        missing = [o["key"] for o in objects if stored.get(o["key"]) != o["size"]]
        if missing:
            raise ConsistencyError("%d object(s) of the manifest are missing from the store or have another size, "
                                   "e.g. %s; nothing was marked complete" % (len(missing), missing[0]))

    # -------------------------------------------------------------- progress marker
    def _heartbeat(self):
        renew_every = self.data.renew_every()
        last_renew = time.time()
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                if not self.progress.beat():
                    return  # another run took the name over; the main thread stops at its next check
            except VectoropsError:
                pass
            if time.time() - last_renew > renew_every:
                self.data.renew()
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


def run(ctx):
    """milvus_backup's engine: ``state=present`` creates (or resumes, or finds) a backup, ``absent`` deletes it."""
    if ctx.params.get("state") == "absent":
        return delete(ctx.params, ctx.check_mode)
    return create(ctx.params, ctx.check_mode, ctx.warn)


def delete(params, check_mode):
    """``state=absent``: remove a backup (complete, incomplete, or milvus-backup's)."""
    _milvus_store, backup_store = stores_from_params(params, need_backup=True)
    name = layout.validate_backup_name(params.get("name"))
    existing = catalog.read_backup(backup_store, name)
    if not existing.exists:
        return dict(changed=False, status="absent", backup=existing.summary(), msg="backup %r does not exist" % name)
    catalog.check_deletable(existing)  # check mode too: never "would delete" what the real run refuses
    objects = list(backup_store.list(existing.paths.prefix))
    planned = dict(objects=len(objects), bytes=sum(o.size for o in objects))
    if check_mode:
        return dict(changed=True, status="absent", deleted=planned, backup=existing.summary(),
                    msg="check mode: would delete backup %r (%d objects)" % (name, planned["objects"]))
    check_not_running(name, existing.in_progress)
    deleted = catalog.delete_backup(backup_store, name)
    return dict(changed=True, status="absent", deleted=deleted, backup=existing.summary(),
                msg="deleted backup %r (%d objects)" % (name, deleted["objects"]))


def create(params, check_mode, warn):
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
            exc.details.setdefault("result", dict(status="incomplete" if not check_mode else "planned",
                                                  backup=catalog.summary_for_failure(backup_store, name)))
            raise
