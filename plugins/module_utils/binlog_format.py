# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The binlog format's data movement (engine side): backup.py and restore.py orchestrate, this moves data.

:class:`BinlogBackup` (for backup.BackupJob; the interface is listed at backup.BACKUP_FORMATS) copies
Milvus's binlogs; :class:`BinlogRestore` (for restore.RestoreJob, see restore.RESTORE_FORMATS) has
Milvus import them again. A backup, in the order the job calls it:

1. preflight: Milvus's bucket holds the binlogs of the selected collections;
2. start: GC pause (advisory; the result says whether it held), flush each collection and record its
   flush timestamp: the backup holds at least everything written before it;
3. copy: golden query candidates; persistent segments and their insert/delta logs, listed from
   Milvus's bucket (or named by Milvus's REST API); every object copied (server-side when possible,
   streaming otherwise) with its SHA-256, objects an interrupted earlier run copied kept (re-hashed);
   then the segments listed again: when compaction replaced a planned segment (or a source object
   vanished mid-copy), plan again and copy what is new, up to ``consistency_attempts`` times, then fail
   rather than write a backup that lacks rows; leftovers of earlier attempts swept; live rows and the
   PK fingerprint at the cut read from the copied binlogs;
4. entry: the segments, partitions' row counts and objects of a collection's manifest entry.

A restore: the backup's Milvus version is not newer than the target's, every segment is one Milvus's
backup-mode import reads (import_plan.unsupported_segments), the created collection got the field ids
the binlogs use, then one import per segment (data, then partition L0, then collection-wide L0 deletes)
with ``end_ts`` at the backup's cut.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import time

from ansible_collections.vectorops.milvus.plugins.module_utils import binlog, fingerprint, layout
from ansible_collections.vectorops.milvus.plugins.module_utils.describe import CollectionReader, describe_collection
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    ConsistencyError,
    MilvusOperationError,
    NotFoundError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.features import has_feature
from ansible_collections.vectorops.milvus.plugins.module_utils.import_plan import (
    STAGES,
    plan_imports,
    row_check_moment,
    unsupported_segments,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.management import GcPause
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import wait_for_import
from ansible_collections.vectorops.milvus.plugins.module_utils.preflight import milvus_storage_preflight
from ansible_collections.vectorops.milvus.plugins.module_utils.rest import MilvusRest, RestError
from ansible_collections.vectorops.milvus.plugins.module_utils.segment_plan import (
    SHORT_COLUMN_GROUP,
    UNFINISHED_STATES,
    check_segments,
    logs_named_by_milvus,
    segment_files,
    segments_at_cut,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import copy_object
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import doubling_delays, retry, wait_until

try:
    from pymilvus.grpc_gen import common_pb2, milvus_pb2
except ImportError:  # pragma: no cover - MilvusConnection reports the missing library
    common_pb2 = milvus_pb2 = None

TIMESTAMP_FIELD = 1  # every segment stores each row's timestamp as field 1 (field 0 is the row id)

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


class BinlogBackup:
    """The binlog format of one BackupJob: it shares the job's connection, stores, options, timer,
    progress marker and ``copied`` record, and fills each plan's segments and verification data."""

    name = "binlog"
    prefix = layout.BINLOGS  # where its objects live in the backup folder
    meta_format = ""  # milvus-backup's meta "format": its own binlog layout
    needs_segments = True  # describe_collection(segments=...) for plans

    def __init__(self, job):
        self.job = job
        self.conn, self.store, self.paths, self.opts = job.conn, job.store, job.paths, job.opts
        self.milvus_store, self.timer, self.progress, self.warn = job.milvus_store, job.timer, job.progress, job.warn
        self.copied, self.plans, self.limiter = job.copied, job.plans, job.limiter
        self.gc = None
        self.flushed = {}  # (db, name) -> (flush_ts, seal_time, ids of the segments at the flush or None)
        self.described = {}  # (db, name) -> its description before the cut
        self.before_cut = {}  # (db, name) -> (golden candidates searched before the cut, why there are none)
        self.segments_replanned = 0
        self._rest = None
        self._rest_failure = None  # why segments/describe is not used any more in this run (auto)

    @property
    def server_version(self):
        return self.job.server_version

    # -------------------------------------------------------------- interface
    def preflight(self, selected):
        """Milvus's bucket is the one holding the selected collections' binlogs (before the first write)."""
        before = [describe_collection(self.conn, db, name, exact_count=False, segments=True,
                                      partition_details=False) for db, name in selected]
        self.described = dict(((d["db_name"], d["name"]), d) for d in before)
        check = milvus_storage_preflight(self.milvus_store, before)
        if not check["ok"]:
            raise VectoropsError("; ".join(check["problems"]))

    def start(self, selected):
        """GC pause, then (strategy=flush) flush every selected collection and record its flush timestamp."""
        with self.timer.phase("gc_pause"):
            self.gc = GcPause(self.opts["management_uri"], self.opts.get("gc_pause_seconds", 3600),
                              self.opts.get("gc_pause", "try"))
            self.gc.pause()
            if not self.gc.held and self.gc.mode != "skip":
                self.warn("GC pause did not hold: %s" % self.gc.reason)
        for db, name in selected:
            # Golden candidates are searched before the cut and confirmed after it (copy): a row written in between
            # is left out of them, whichever version of it the backup holds.
            if self.opts.get("fingerprint", True):
                with self.timer.phase("golden_queries"):
                    skipped = []
                    self.before_cut[(db, name)] = (self.job.golden_candidates(self.described[(db, name)], skipped),
                                                   skipped)
            if self.opts["strategy"] == "flush":
                with self.timer.phase("flush"):
                    self.flushed[(db, name)] = self._flush(db, name)

    def planned(self, plan):
        """A new plan gets its collection's flush timestamp and cut."""
        if (plan.desc["db_name"], plan.desc["name"]) in self.flushed:
            plan.flush_ts, plan.seal_time, plan.cut_segments = self.flushed[(plan.desc["db_name"], plan.desc["name"])]
            plan.cut_ts = consistency_cut(plan.flush_ts)

    def predict(self, plan):
        """Check mode: what copying this collection would take."""
        self._plan_segments(plan)
        segments = plan.segments.values()
        return dict(segments=len(segments), rows=sum(s.num_rows for s in segments),
                    objects=sum(len(s.tasks(self.paths, plan.desc["id"])) for s in segments),
                    bytes=sum(s.size for s in segments))

    def copy(self):
        """Copy every plan's segments consistently, sweep leftovers, measure what the copies restore to."""
        if self.opts.get("fingerprint", True):
            with self.timer.phase("golden_queries"):
                for plan in self.plans:
                    plan.golden, skipped = self.before_cut[(plan.desc["db_name"], plan.desc["name"])]
                    plan.skipped.extend(skipped)
                    self.job.confirm_golden(plan)
        self._copy_consistently()
        with self.timer.phase("sweep"):
            self.progress.check("about to sweep leftovers")
            self._sweep()
        with self.timer.phase("fingerprint"):
            for plan in self.plans:
                self._measure(plan)

    def renew(self):
        if self.gc is not None:
            self.gc.renew()

    def renew_every(self):
        return max(60, (self.gc.seconds // 2) if self.gc else 600)

    def stop(self):
        if self.gc is not None:
            self.gc.resume()

    def consistency(self, consistency):
        """The manifest's consistency section, completed for binlog copies."""
        consistency.update(gc_pause=self.gc.report() if self.gc else None,
                           segments_replanned=self.segments_replanned)
        if self.opts["strategy"] == "flush":
            consistency["note"] += ("; each collection is restored as of its cut_time (rows and deletes up to its "
                                    "flush, to the millisecond); rows written later that the copied segments hold "
                                    "are dropped at restore (import end_ts), and live_row_count and the fingerprints "
                                    "describe the collection at the cut")
        elif self.opts["strategy"] == "skip_flush":
            consistency["note"] += "; skip_flush: rows not yet flushed when the backup started are NOT included"

    def entry(self, plan, partitions):
        """The binlog parts of a collection's manifest entry; fills each partition's segments and row count."""
        desc = plan.desc
        segments = [dict(id=s.id, partition_id=s.partition_id, num_rows=s.num_rows, level=s.level,
                         storage_version=s.storage_version, channel=s.channel,
                         insert_logs=sum(len(v) for v in s.insert.values()), delta_logs=len(s.delta), size=s.size)
                    for _sid, s in sorted(plan.segments.items())]
        for part in partitions:
            segs = [s for s in segments if s["partition_id"] == part["id"]]
            part.update(segments=[s["id"] for s in segs], row_count=sum(s["num_rows"] for s in segs))
        objects = [rel for s in plan.segments.values() for _src, rel, _size in s.tasks(self.paths, desc["id"])]
        return dict(logical=None, segments=segments, row_count=sum(s["num_rows"] for s in segments),
                    backup_timestamp=plan.flush_ts or 0, binlog_source=plan.log_source,
                    orphan_binlogs_skipped=len(plan.orphans), objects=len(objects),
                    bytes=sum(s["size"] for s in segments))

    # -------------------------------------------------------------- flush
    def _flush(self, db, name):
        """Flush one collection (raw RPC: pymilvus hides the flush timestamp); wait until persisted."""
        label = "%s.%s" % (db, name)
        request = milvus_pb2.FlushRequest(db_name=db, collection_names=[name])
        resp = retry(lambda: self.conn.rpc("flush %s" % label, "Flush", request, db_name=db),
                     lambda exc: isinstance(exc, MilvusOperationError) and flush_is_retryable(exc.message),
                     doubling_delays(1.0, 30, count=7))
        segment_ids = list(resp.coll_segIDs[name].data) if name in resp.coll_segIDs else []
        # The segments that hold the collection at the flush: those it sealed, and those flushed before it (None
        # when the server does not say, then the segments are listed after the flush).
        at_cut = set(segment_ids) | set(resp.flush_coll_segIDs[name].data) if name in resp.flush_coll_segIDs else None
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
        return flush_ts, seal_time, at_cut

    # -------------------------------------------------------------- plan
    def _list_segments(self, desc):
        reader = CollectionReader(self.conn, desc["db_name"], desc["name"])
        return dict((s["id"], s) for s in reader.segments() if s["state"] == "Flushed")

    def _segments_settled(self, plan):
        """``{id: info}`` of the collection's segments once none of those at the cut is still being flushed."""
        reader = CollectionReader(self.conn, plan.desc["db_name"], plan.desc["name"])
        listed = {}

        def settled():
            listed.clear()
            listed.update((s["id"], s) for s in reader.segments())
            return not [sid for sid in plan.cut_segments if listed.get(sid, {}).get("state") in UNFINISHED_STATES]
        flush_timeout = self.opts.get("flush_timeout", 600)
        wait_until(settled, flush_timeout,
                   lambda: "segments of %s were still being flushed after flush_timeout=%ss; nothing was marked "
                   "complete" % (plan.label, flush_timeout), interval=0.05, max_interval=1.0)
        return listed

    def _count_rows(self, seg):
        """Rows of a segment counted from its timestamp logs (field 1, or column group 0 in storage v2)."""
        if int(seg.storage_version or 0) >= 2:
            return sum(len(binlog.read_columns(self.milvus_store.read(o.key), [TIMESTAMP_FIELD],
                                               self.milvus_store.url(o.key))[TIMESTAMP_FIELD])
                       for o in seg.insert.get(SHORT_COLUMN_GROUP, []))
        return sum(len(binlog.read_binlog(self.milvus_store.read(o.key), self.milvus_store.url(o.key))[1])
                   for o in seg.insert.get(TIMESTAMP_FIELD, []))

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
        """Fill ``plan.segments`` with the segments of the collection at its cut (the flushed ones when the flush
        did not name them) and their binlog objects; a new cut when binlogs of the cut are already gone."""
        desc = plan.desc
        cid = desc["id"]
        insert_root = self.milvus_store.key("insert_log", cid)
        insert_listing = list(self.milvus_store.list(insert_root + "/"))
        delta_listing = list(self.milvus_store.list(self.milvus_store.key("delta_log", cid) + "/"))
        if segments is None and plan.cut_segments is not None:
            segments, gone = segments_at_cut(plan.cut_segments, self._segments_settled(plan), insert_listing,
                                             delta_listing)
            if gone:
                if plan.attempts >= int(self.opts.get("consistency_attempts", 5)):
                    raise ConsistencyError(
                        "%s kept changing during the backup (the binlogs of segments %s were removed before they "
                        "could be copied) after %d attempts; nothing was marked complete. Run again, ideally with "
                        "compaction or garbage collection paused." % (plan.label, gone[:3], plan.attempts))
                return self._plan_again(plan)
        elif segments is None:
            segments = self._list_segments(desc)
        files = segment_files(segments, insert_listing, delta_listing)
        for seg in files.values():
            if seg.num_rows is None:  # compacted away since the cut: counted from its own binlogs
                seg.num_rows = self._count_rows(seg)
        dropped = set(sid for sid, info in segments.items() if info.get("state") == "Dropped")
        plan.orphans = []
        described = dict((sid, f) for sid, f in files.items() if sid not in dropped)
        plan.log_source = "rest" if described and self._uses_segment_describe() and \
            self._describe_segments(plan, described) else "listing"
        check_segments(files, [f["field_id"] for f in desc["schema"]["fields"]], plan.log_source, plan.label,
                       self.milvus_store.url(insert_root))
        plan.segments = files
        return plan

    # -------------------------------------------------------------- copy
    def _copy_consistently(self):
        """Copy every plan's segments as listed right after the cut.

        A segment that compaction replaces after it was listed is still copied from its own binlogs: they stay
        in the bucket until Milvus's garbage collection removes them (paused when Milvus can, else after its
        drop tolerance), and only they hold the collection as of the cut. The segment compaction made instead
        has applied deletes written after the cut, so copying it would lose rows the cut still had. When
        objects vanished before they were copied, the collection is flushed again (a new cut, with everything
        compaction applied before it) and planned and copied again, up to ``consistency_attempts`` times.
        """
        attempts = int(self.opts.get("consistency_attempts", 5))
        with self.timer.phase("plan"):
            for plan in self.plans:
                plan.attempts = 1
                self._plan_segments(plan)
        reusable = self._reusable_objects()
        pending = list(self.plans)
        while pending:
            with self.timer.phase("copy"):
                vanished = self._copy_plans(pending, reusable)
            with self.timer.phase("consistency"):
                changed = []
                for plan in pending:
                    if plan.label not in vanished:
                        continue
                    if plan.attempts >= attempts:
                        raise ConsistencyError(
                            "%s kept changing during the backup (binlogs of %s were removed before they were copied) "
                            "after %d attempts; nothing was marked complete. Run again, ideally with compaction or "
                            "garbage collection paused." % (plan.label, ", ".join(sorted(vanished[plan.label])[:3]),
                                                            plan.attempts))
                    self._plan_again(plan)
                    changed.append(plan)
                pending = changed

    def _plan_again(self, plan):
        """A new cut (flush) and plan for a collection whose binlogs at the last cut are no longer all there."""
        where = (plan.desc["db_name"], plan.desc["name"])
        if self.opts["strategy"] == "flush":
            self.flushed[where] = self._flush(*where)
            self.planned(plan)
        before = set(plan.segments)
        plan.attempts += 1
        self._plan_segments(plan)
        self.segments_replanned += len(before - set(plan.segments))

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
        vanished = {}  # label -> keys of source objects gone before they were copied
        errors = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(self.opts.get("concurrency", 16))) as pool:
            futures = dict((pool.submit(self._copy_one, src, rel, size, reusable), (label, src, rel))
                           for label, src, rel, size in tasks)
            for future in concurrent.futures.as_completed(futures):
                label, src, rel = futures[future]
                try:
                    self.copied[rel] = future.result()
                except NotFoundError:
                    vanished.setdefault(label, []).append(src)  # garbage-collected: the caller plans again
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

    # -------------------------------------------------------------- verification data
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


class BinlogRestore:
    """The binlog format of one RestoreJob: Milvus's backup-mode bulk import of the copied segments."""

    name = "binlog"
    method = "import"
    index_fallback = False  # the target is the kind of server the binlogs came from: a failed index fails
    reads_milvus_bucket = True  # Milvus imports only from its own bucket: a backup elsewhere is staged there
    requires_milvus_storage = True

    def __init__(self, job):
        self.job = job
        self.conn, self.opts, self.backup = job.conn, job.opts, job.backup

    def preflight(self):
        """Binlogs go into the same or a newer Milvus only."""
        backup_version = layout.parse_version(self.backup.summary().get("milvus_version"))
        version = self.job.version
        if backup_version and version and backup_version[:2] > version[:2]:
            raise VectoropsError("backup %r comes from Milvus %s, newer than the target's %s: restore into the same or "
                                 "a newer Milvus version" % (self.backup.name, self.backup.summary()["milvus_version"],
                                                             "%d.%d.%d" % version))

    def check(self, src):
        problem = unsupported_segments(src["segments"])
        if problem:
            raise VectoropsError("backup %r cannot restore %s.%s: %s; nothing was created"
                                 % (self.backup.name, src["db_name"], src["name"], problem), reason="unsupported")

    def schema(self, raw, fields):
        """The backed-up schema as it is: the binlogs hold the row ids and auto ids it describes."""

    def check_created(self, db, name, want, have):
        """Milvus gave the new collection the field ids the binlogs use (``want``/``have``: name -> id)."""
        if want and all(want.values()) and any(have.get(k) != v for k, v in want.items()):
            self.job._drop(db, name, quiet=True)  # pylint: disable=protected-access
            raise ConsistencyError("Milvus gave %s.%s field ids %s, the backup's binlogs use %s; binlog import needs them "
                                   "equal (a schema with gaps from dropped or added fields cannot be restored this way)"
                                   % (db, name, have, want))

    def marker_fields(self):
        """Nothing beyond the job's own marker fields: an import is redone whole."""
        return {}

    def resumable(self, unfinished, src):  # pylint: disable=unused-argument
        """A dead run's half-imported collection is dropped and restored again, never resumed."""
        return None

    def expected(self, src):
        """(expected row count, whether it counts live rows): live rows when the backup recorded them."""
        if src.get("live_row_count") is not None:
            return src["live_row_count"], True
        if not any(s["objects"] and any(o["key"].startswith("binlogs/delta_log/") for o in s["objects"])
                   for s in src["segments"]):
            return src.get("row_count"), False  # no deletes in the backup: every row is live
        return None, False

    def load(self, plan, db, name, prefix, fields, phases):  # pylint: disable=unused-argument
        """Import the planned segments; what the job needs next (no rows inserted, indexes still to build)."""
        jobs = []
        if plan["segments"]:
            with phases.phase("import"):
                jobs = self._import(plan["source"], plan["segments"], db, name, prefix)
        return dict(import_jobs=jobs, inserted=None, indexes=None, moment=row_check_moment(plan["segments"]))

    def _import(self, src, segments, db, name, prefix):
        """Run the planned Import requests stage by stage (data, then partition L0, then collection-wide L0)."""
        partitions = dict((p["id"], p["name"]) for p in src["partitions"])
        # The backup's point in time (end_ts): rows and deletes written after it, which the copied segments
        # may hold, are left out.
        stages = plan_imports(segments, partitions, self.job.version, prefix, src.get("cut_timestamp"))
        timeout = float(self.opts.get("import_timeout", 3600))
        deadline = time.time() + timeout  # one deadline for the whole import phase, shared by every task

        def run(stage, spec):
            seg_id = spec["segments"][0]
            what = "import of segment %s into %s.%s" % (seg_id, db, name)
            request = milvus_pb2.ImportRequest(
                db_name=db, collection_name=name, partition_name=spec["partition_name"], files=spec["files"],
                options=[common_pb2.KeyValuePair(key=k, value=v) for k, v in spec["options"]])
            resp = self.conn.rpc("import segment %s into %s.%s" % (seg_id, db, name), "Import", request, db_name=db)
            return dict(segment=seg_id, segments=spec["segments"], stage=stage, partition_name=spec["partition_name"],
                        files=spec["files"], options=dict(spec["options"]),
                        tasks=[wait_for_import(self.conn, db, task, what, deadline, timeout) for task in resp.tasks])

        jobs = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(self.opts.get("concurrency", 4))) as pool:
            for stage, specs in stages:  # L0 deletes go in only after the rows they delete
                futures = [pool.submit(run, stage, spec) for spec in specs]
                errors = []
                for future in concurrent.futures.as_completed(futures):
                    try:
                        jobs.append(future.result())
                    except VectoropsError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
        return sorted(jobs, key=lambda j: (STAGES.index(j["stage"]), j["segment"]))
