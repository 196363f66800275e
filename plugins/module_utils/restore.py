# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore backups into Milvus (engine side): milvus_restore's logic. This file orchestrates; each format
puts the rows in (binlog_format.BinlogRestore: Milvus imports the segments; logical.LogicalRestore: the
Parquet files are bulk imported or inserted).

Per selected collection of a complete backup (ours or milvus-backup's):

1. plan: target name (``suffix`` / ``rename``), conflicts, staging; everything is checked before the
   first write, so bad input creates nothing;
2. stage: Milvus bulk import reads only Milvus's own bucket, so a backup stored elsewhere is copied
   into ``<milvus root>/restore-temp-<id>/`` first (removed afterwards, also on failure);
3. create the database, the collection with the backed-up schema (raw proto: field order, ids,
   types, primary key, auto_id, dynamic field, partition key, shards, consistency level,
   properties) and its partitions;
4. the rows, by the backup's format: one backup-mode bulk import per segment (binlog), or the Parquet
   files by bulk import or batched inserts (logical), each job awaited with a timeout;
5. verify row counts, then build indexes, restore the load state and the aliases, and mark the
   collection with the backup it came from (``vectorops.restored_from``), which makes a second run a
   no-op. A collection whose restore fails is dropped again.

``existing: replace`` restores into a temporary collection and swaps it in only after the row counts
match, so a failed restore never touches the live collection.

Every collection a restore creates is marked as being restored from the moment it exists, and a
``replace`` journals its swap; a run that dies leaves markers the next run uses to finish or undo
its work (restore_state.py). Staging prefixes carry a marker too, so that the next restore (and
milvus_backup_prune) removes those of dead runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import concurrent.futures
import threading
import uuid

from ansible_collections.vectorops.milvus.plugins.module_utils import (
    binlog_format,
    catalog,
    fingerprint,
    layout,
    logical,
    manifest,
    restore_plan,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    ConsistencyError,
    InputError,
    MilvusOperationError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.features import has_feature
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection, describe_collection_proto, kv_dict
from ansible_collections.vectorops.milvus.plugins.module_utils.preflight import milvus_storage_preflight
from ansible_collections.vectorops.milvus.plugins.module_utils.progress import HEARTBEAT_SECONDS, writer_state
from ansible_collections.vectorops.milvus.plugins.module_utils.restore_state import (
    ASIDE_INFIX,
    RESTORED_FROM,
    RESTORING,
    TEMP_INFIX,
    STAGING_MARKER,
    RestoreState,
    encode,
    run_fields,
    sweep_stale_staging,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import parse_renames, validate_suffix
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import S3Store, copy_object, stores_from_params
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import Timer, wait_until

try:
    from google.protobuf import json_format
    from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2
except ImportError:  # pragma: no cover - MilvusConnection reports the missing library
    json_format = common_pb2 = milvus_pb2 = schema_pb2 = None

FUNC_RUNTIME_CHECK = "disable_func_runtime_check"
# Database properties a restore does not set on a database it creates (prefixes).
NOT_RESTORED_DB_PROPERTIES = ("database.force.deny.", "cipher.")
# Each format puts the data in behind one interface (the job orchestrates naming, conflicts, staging, DDL,
# indexes, load, aliases, marks, safe replace): preflight(), check(src), schema(raw, fields),
# check_created(db, name, want, have), marker_fields(), resumable(unfinished, src), expected(src),
# load(plan, db, name, prefix, fields, phases); attributes name, method, index_fallback, reads_milvus_bucket,
# requires_milvus_storage.
RESTORE_FORMATS = {"binlog": binlog_format.BinlogRestore, "logical": logical.LogicalRestore}


# ------------------------------------------------------------------ naming
META_ONLY_SUFFIX = "#meta"


def function_runtime_check(src, version):
    """Collection properties to create with, and to set right after the create (or None), for the
    collection's functions: pure.

    From Milvus 2.6.8 a collection with functions (TextEmbedding calls a model provider) is checked at
    create time against the provider, which a DR site may not reach; milvus-backup creates it with
    ``disable_func_runtime_check=true`` and sets the backup's value (``false`` unless it was ``true``)
    right after (``core/restore/coll_ddl_task.go`` ``properties``/``restoreFuncRuntimeCheck``; feature
    flag ``FuncRuntimeCheck`` ``>= 2.6.8`` in ``internal/client/milvus/grpc.go``).
    """
    properties = dict(src.get("properties") or {})
    if not (src.get("schema") or {}).get("functions") or not has_feature(version, "func_runtime_check"):
        return properties, None
    original = properties.get(FUNC_RUNTIME_CHECK, "false")
    properties[FUNC_RUNTIME_CHECK] = "true"
    return properties, (None if original == "true" else {FUNC_RUNTIME_CHECK: original})


def restored_marker(backup, meta_only=False):
    """The mark a finished restore of ``backup`` leaves: ``<name>@<backup id>``, ``#meta`` appended when it
    imported no data (so that a later data restore with skip_create fills it instead of skipping it)."""
    summary = backup.summary()
    return "%s@%s%s" % (backup.name, summary.get("backup_id") or "", META_ONLY_SUFFIX if meta_only else "")


# ------------------------------------------------------------------ the job
class RestoreJob:
    def __init__(self, conn, milvus_store, backup_store, backup, options, warn=None):
        self.conn = conn
        self.milvus_store = milvus_store
        self.backup_store = backup_store
        self.backup = backup
        self.opts = options
        self.existing = restore_plan.existing_policy(options)
        self.warn = warn or (lambda msg: None)
        self.restore_id = uuid.uuid4().hex[:12]
        self.marker = restored_marker(backup, options.get("meta_only"))
        # state=absent removes what a data restore and a meta_only restore of this backup left alike
        self.markers = (restored_marker(backup), restored_marker(backup, True))
        self.timer = Timer()
        version_text = conn.server_version()
        self.lite = logical.is_milvus_lite(version_text)
        self.version = None if self.lite else layout.parse_version(version_text)
        if self.lite:
            # Milvus Lite has no bucket (and gives every collection id 0, so records keyed by id would collide):
            # a milvus_storage configured for other servers is not Lite's; its marks live in its properties.
            milvus_store = self.milvus_store = None
        self.data = RESTORE_FORMATS[backup.data_format](self)
        self.method = self.data.method
        self.state = RestoreState(conn, milvus_store, self.warn)
        self.run_fields = run_fields(self.restore_id, self.marker)
        self.recovered = []
        self.databases_created = []  # [{name, properties}] of the databases this run created
        self.working = {}  # (db, name) -> marker fields of the collections this run is building
        self.staging_marker = None  # key of this run's staging marker, once written
        self._stop = threading.Event()

    # -------------------------------------------------------------- plan
    def plan(self, recover=False):
        """What to do per selected collection; with ``recover``, first finish or undo what dead runs left."""
        sources = catalog.collections_of(self.backup)
        selected = catalog.select_sources(sources, self.opts.get("collections"), self.conn.default_db,
                                          self.backup.name)
        renames = parse_renames(self.opts.get("rename"), self.conn.default_db)
        targets = restore_plan.targets(selected, renames, self.opts.get("suffix") or "")
        for src in selected:
            if not self.opts.get("meta_only"):
                self.data.check(src)
        plans = []
        for src, db, name in targets:
            if recover and db in self._databases():
                self.recovered.extend(self.state.recover(db, name, origin=self.marker))
            plans.append(self._plan_one(src, db, name))
        return plans

    def _plan_one(self, src, db, name):
        """What is at the target now (the reads); restore_plan decides what to do about it."""
        exists = db in self._databases() and self.conn.call(
            "check collection %s.%s" % (db, name), self.conn.client(db).has_collection, name)
        unfinished = self.state.unfinished(db, name) if exists else None
        restored_from = self.state.restored_from(db, name) if exists and not unfinished else None
        changed = None
        if restored_from == self.marker and self.existing == "replace":
            # A replace is skipped only when the target still holds what the backup restores.
            _same, changed = fingerprint.matches_backup(self.conn, src, db, name)
        found = restore_plan.Found(
            exists=exists, unfinished=unfinished,
            writer=writer_state(unfinished) if unfinished else (False, None),
            resumable=self.data.resumable(unfinished, src) if unfinished else None,
            restored_from=restored_from, changed=changed)
        action, reason = restore_plan.target_action(self.existing, self.marker, db, name, found)
        return restore_plan.plan_entry(src, db, name, action, reason, self.opts.get("meta_only"), unfinished)

    def _databases(self):
        if not hasattr(self, "_dbs"):
            self._dbs = set(self.conn.list_databases())
        return self._dbs

    def staging_needed(self):
        """Milvus imports only from its own bucket: anything else is copied there first (logical backups
        restored by insert are read from where they are)."""
        if self.opts.get("meta_only") or not self.data.reads_milvus_bucket:
            return False
        same_bucket = (isinstance(self.backup_store, S3Store) and isinstance(self.milvus_store, S3Store)
                       and self.backup_store.same_endpoint(self.milvus_store)
                       and self.backup_store.bucket == self.milvus_store.bucket)
        return not same_bucket

    def preflight(self):
        self.data.preflight()

    # -------------------------------------------------------------- run
    def run(self, check_mode):
        self.preflight()
        swept = []
        if not check_mode and not self.opts.get("meta_only") and self.milvus_store is not None:
            # Before anything changes (recovery included): Milvus's bucket is the right one, and writable, since
            # completion records and swap journals go there (restore_state.py).
            with self.timer.phase("preflight"):
                milvus_storage_preflight(self.milvus_store)
                self.milvus_store.probe_write()
                swept = self._sweep_stale_staging()
        plans = self.plan(recover=not check_mode)
        staging = self.staging_needed() and not self.opts.get("meta_only")
        milvus_bucket = self.milvus_store.url(self.milvus_store.key()) if self.milvus_store else None
        staging_prefix = self.milvus_store.key("restore-temp-%s" % self.restore_id) + "/" if self.milvus_store else None
        summary = dict(backup=self.backup.summary(), logical_restore=self.method,
                       milvus_reads_from=milvus_bucket,
                       staging=dict(needed=staging, location=self.milvus_store.url(staging_prefix) if staging else None,
                                    swept=swept))
        conflicts = [p["reason"] for p in plans if p["action"] == "conflict"]
        if check_mode:
            planned = [self._plan_view(p) for p in plans]
            for conflict in conflicts:
                self.warn(conflict)
            return dict(summary, changed=any(p["action"] not in ("skip", "conflict") for p in plans), status="planned",
                        conflicts=conflicts, collections=planned,
                        totals=manifest.totals_of(planned, rows=lambda e: e["rows_expected"]))
        if conflicts:
            raise VectoropsError(conflicts[0], result=dict(summary, changed=False, status="conflict", conflicts=conflicts))
        summary["recovered"] = self.recovered
        summary["databases_created"] = self.databases_created
        results = []
        heartbeat = threading.Thread(target=self._heartbeat, name="vectorops-restore-heartbeat", daemon=True)
        heartbeat.start()
        try:
            if staging and any((p["segments"] or p["files"]) and p["action"] != "skip" for p in plans):
                self._write_staging_marker(staging_prefix)
            for plan in plans:
                results.append(self._restore_collection(plan, staging, staging_prefix))
        except VectoropsError as exc:
            exc.details.setdefault("result", dict(summary, changed=bool(results) or bool(self.recovered),
                                                  status="failed", collections=results))
            raise
        finally:
            self._stop.set()
            heartbeat.join(60)  # so that it cannot write the staging marker again after the clean-up
            if staging:
                self._cleanup_staging(staging_prefix)
        changed = any(r["action"] != "skip" for r in results) or bool(self.recovered)
        durations = self.timer.total()
        for entry in results:
            for phase, seconds in (entry.get("durations") or {}).items():
                durations[phase] = round(durations.get(phase, 0) + seconds, 3)
        return dict(summary, changed=changed, status="restored", collections=results,
                    totals=manifest.totals_of(results, rows=lambda e: e["rows_restored"]),
                    durations=durations)

    def remove(self, check_mode):
        """``state=absent``: drop the targets this backup was restored into, and nothing else."""
        removed, kept = [], []
        sources = catalog.select_sources(catalog.collections_of(self.backup), self.opts.get("collections"),
                                         self.conn.default_db, self.backup.name)
        renames = parse_renames(self.opts.get("rename"), self.conn.default_db)
        for _src, db, name in restore_plan.targets(sources, renames, self.opts.get("suffix") or ""):
            label = "%s.%s" % (db, name)
            if db not in self._databases():
                continue
            if not check_mode:
                # Dead runs' swaps are finished or undone and their temporary copies dropped first; an
                # unfinished target of this backup is removed below, with the finished ones.
                self.recovered.extend(self.state.recover(db, name))
            if not self.state.exists(db, name):
                continue
            marker, restoring = self.state.restored_from(db, name), self.state.unfinished(db, name)
            unfinished = bool(restoring) and restoring.get("origin") in self.markers and not writer_state(restoring)[0]
            if marker not in self.markers and not unfinished:
                kept.append(dict(target=label, reason="not restored from %s (its mark: %s): left alone"
                                 % (self.marker, marker or (restoring or {}).get("origin") or "none")))
                continue
            if not check_mode:
                self._drop(db, name)
            removed.append(label)
        changed = bool(removed) or bool(self.recovered)
        return dict(changed=changed, status="absent", backup=self.backup.summary(), removed=removed, kept=kept,
                    recovered=self.recovered,
                    msg="%s %d restored collection(s)" % ("would remove" if check_mode else "removed", len(removed)))

    def _plan_view(self, plan):
        src = plan["source"]
        return dict(source="%s.%s" % (src["db_name"], src["name"]), target="%s.%s" % (plan["db_name"], plan["name"]),
                    action=plan["action"], reason=plan["reason"], segments=len(plan["segments"]),
                    format=self.data.name, method=self.method,
                    objects=plan["objects"], bytes=plan["bytes"], rows_expected=self._expected(src)[0],
                    partitions=len(src["partitions"]), indexes=len(src["indexes"]) if self.opts.get("restore_index", True) else 0,
                    load=self._wants_load(src), aliases=src["aliases"] if self.opts.get("restore_aliases", True) else [])

    # -------------------------------------------------------------- one collection
    def _restore_collection(self, plan, staging, staging_prefix):
        src = plan["source"]
        view = self._plan_view(plan)
        if plan["action"] == "skip":
            return dict(view, rows_restored=None, skipped=plan["reason"], durations={})
        phases = Timer()
        final_db, final_name = plan["db_name"], plan["name"]
        work_name = final_name
        if plan["action"] == "replace":
            work_name = ("%s%s%s" % (final_name, TEMP_INFIX, self.restore_id))[:255]
        created = False
        prefix = self.backup.paths.prefix
        if plan["segments"] or plan["files"]:
            # Staging and the checksum checks come before any DDL: a damaged backup creates nothing, and no
            # damaged object reaches Milvus (Milvus 2.3 crashes on a binlog whose Parquet CRC does not match).
            with phases.phase("staging"):
                self._warn_unverifiable(plan)
                if staging:
                    self._stage(plan, staging_prefix)
                    prefix = staging_prefix
                elif self.opts.get("verify_checksums", True):
                    self._verify_objects(plan)
        try:
            with phases.phase("create"):
                self._ensure_database(final_db, plan["source"]["db_name"])
                if plan["action"] == "drop_and_create":
                    self._drop(final_db, final_name)
                fields = None
                if plan["action"] == "resume":
                    # A dead insert restore's collection: this run takes its marker (and checkpoint) over.
                    fields = dict(plan["marker"], **self.run_fields)
                    self.state.alter(final_db, work_name, {RESTORING: encode(fields)})
                    self.working[(final_db, work_name)] = fields
                    created = False
                elif plan["action"] != "import_into_existing":
                    role = "temp" if plan["action"] == "replace" else "target"
                    fields = dict(self.run_fields, role=role, final=final_name, state="importing",
                                  **self.data.marker_fields())
                    self._create(src, final_db, work_name, fields)
                    self.working[(final_db, work_name)] = fields
                    created = True
                else:
                    self._check_existing_schema(src, final_db, work_name)
            loaded = self.data.load(plan, final_db, work_name, prefix, fields, phases)
            jobs, indexes, inserted, moment = (loaded["import_jobs"], loaded["indexes"], loaded["inserted"],
                                               loaded["moment"])
            inserting = inserted is not None
            expected, live = self._expected(src)
            rows = self._count(final_db, work_name) if moment == "after_import" else None
            if moment == "after_import":
                self._check_rows(final_db, work_name, rows, expected, live)
            if indexes is None:
                with phases.phase("index"):
                    indexes = self._indexes(src, final_db, work_name) if self.opts.get("restore_index", True) else []
            with phases.phase("load"):
                load_state = self._load(src, final_db, work_name, bool(indexes) or inserting)
            if moment == "after_load" and expected is not None:
                if inserting:
                    rows = self._count_live(final_db, work_name)
                    self._check_rows(final_db, work_name, rows, expected, live)
                    if load_state != "Loaded":
                        self.conn.call("release %s.%s" % (final_db, work_name),
                                       self.conn.client(final_db).release_collection, work_name)
                elif load_state == "Loaded" and not self._partial_load(src):
                    rows = self._count_live(final_db, work_name)
                    self._check_rows(final_db, work_name, rows, expected, live)
                else:
                    self.warn("%s.%s was restored with L0 deletes, whose rows Milvus only subtracts in a loaded "
                              "collection: its row count was not checked (load it, then run milvus_verify "
                              "level=collection)" % (final_db, work_name))
            swap = None
            if plan["action"] == "replace":
                swap = self._swap(final_db, final_name, work_name)
                self.working.pop((final_db, work_name), None)
            moved = swap["aliases_moved"] if swap else []
            aliases = dict(restored=[], skipped=[], moved=moved)
            if self.opts.get("restore_aliases", True):
                aliases.update(self._aliases([a for a in src["aliases"] if a not in moved], final_db, final_name))
            self._mark(final_db, final_name)
            if swap:
                self.state.records.delete(swap.pop("journal"))
            self.working.pop((final_db, final_name), None)
            created = False  # done: keep it
        except Exception:
            self.working.pop((final_db, work_name), None)
            if created:
                self._drop(final_db, work_name, quiet=True)
            raise
        return dict(view, rows_restored=rows, rows_match=None if expected is None else rows == expected,
                    live_rows_expected=src.get("live_row_count"), rows_in_backup_segments=src.get("row_count"),
                    import_jobs=jobs, inserted=inserted, indexes_created=indexes, load_state=load_state,
                    aliases=aliases, swap=swap,
                    skipped=None, durations=phases.durations)

    def _expected(self, src):
        """(expected row count, whether it counts live rows): live rows when the backup recorded them."""
        if self.opts.get("meta_only"):
            return 0, True
        return self.data.expected(src)

    # -------------------------------------------------------------- DDL
    def _ensure_database(self, db, source_db):
        """Create a missing target database with the source database's recorded properties (replicas,
        resource groups, quotas: what milvus-backup records but does not restore,
        ``core/restore/database_task.go``). Deny flags are left out (they would block the import) and so is
        encryption (never backed up). An existing database is left as it is."""
        if db in self._databases():
            return
        recorded = catalog.database_properties_of(self.backup).get(source_db) or {}
        properties = dict((k, v) for k, v in recorded.items() if not k.startswith(NOT_RESTORED_DB_PROPERTIES))
        left_out = sorted(set(recorded) - set(properties))
        if left_out:
            self.warn("database %s is created without %s of the source database %s (they would block the restore "
                      "or cannot be restored); set them afterwards if you need them" % (db, left_out, source_db))
        try:
            self.conn.call("create database %s" % db, self.conn.client().create_database, db, properties=properties)
        except MilvusOperationError as exc:
            if not properties:
                raise
            self.warn("Milvus refused to create database %s with the source database's properties %s (%s); it was "
                      "created without them" % (db, properties, exc.message))
            self.conn.call("create database %s" % db, self.conn.client().create_database, db)
        self._dbs.add(db)
        self.databases_created.append(dict(name=db, properties=properties))

    def _drop(self, db, name, quiet=False):
        self.state.drop(db, name, quiet=quiet)

    def _schema(self, src, name):
        raw = dict(src["schema"])
        fields = [dict(f) for f in raw.get("fields", []) if not f.get("is_dynamic") and f.get("name") != "$meta"]
        for field in fields:
            encoded = field.pop("default_value_base64", None)
            field.pop("default_value_proto", None)
            if encoded and not field.get("default_value"):
                # milvus-backup keeps a field's default value as a base64 ValueField (core/restore/conv).
                value = schema_pb2.ValueField()
                value.ParseFromString(base64.b64decode(encoded))
                field["default_value"] = json_format.MessageToDict(value, preserving_proto_field_name=True)
        self.data.schema(raw, fields)
        raw["fields"] = fields
        schema = json_format.ParseDict(raw, schema_pb2.CollectionSchema(), ignore_unknown_fields=True)
        schema.name = name
        return schema

    def _create(self, src, db, name, marker_fields):
        schema = self._schema(src, name)
        create_properties, after_create = function_runtime_check(src, self.version)
        has_partition_key = any(f.is_partition_key for f in schema.fields)
        request = milvus_pb2.CreateCollectionRequest(
            db_name=db, collection_name=name, schema=schema.SerializeToString(), shards_num=int(src["shards_num"]),
            consistency_level=common_pb2.ConsistencyLevel.Value(src["consistency_level"])
            if src["consistency_level"] in common_pb2.ConsistencyLevel.keys() else 2,
            properties=[common_pb2.KeyValuePair(key=k, value=v) for k, v in sorted(create_properties.items())
                        if k not in (RESTORED_FROM, RESTORING)]
            + [common_pb2.KeyValuePair(key=RESTORING, value=encode(marker_fields))],
            num_partitions=len(src["partitions"]) if has_partition_key else 0)
        self.conn.rpc("create collection %s.%s" % (db, name), "CreateCollection", request, db_name=db)
        created = describe_collection_proto(self.conn, db, name)
        want = dict((f.name, f.fieldID) for f in schema.fields)
        have = dict((f.name, f.fieldID) for f in created.schema.fields)
        self.data.check_created(db, name, want, have)
        if after_create:
            self.state.alter(db, name, after_create)
        if not has_partition_key:
            for part in src["partitions"]:
                if part["name"] != "_default":
                    self._create_partition(db, name, part["name"])

    def _check_existing_schema(self, src, db, name):
        want = [(f.name, f.data_type) for f in self._schema(src, name).fields]
        resp = describe_collection_proto(self.conn, db, name)
        have = [(f.name, f.data_type) for f in resp.schema.fields if not f.is_dynamic]
        if want != have:
            raise VectoropsError("existing=skip_create but %s.%s has fields %s, the backup has %s" % (db, name, have, want))
        parts = set(self.conn.call("list partitions", self.conn.client(db).list_partitions, name))
        for part in [p["name"] for p in src["partitions"] if p["name"] not in parts]:
            self._create_partition(db, name, part)

    def _create_partition(self, db, name, partition):
        self.conn.rpc("create partition %s of %s.%s" % (partition, db, name), "CreatePartition",
                      milvus_pb2.CreatePartitionRequest(db_name=db, collection_name=name, partition_name=partition),
                      db_name=db)

    # -------------------------------------------------------------- data
    def _stage(self, plan, staging_prefix):
        """Copy the collection's segment files into Milvus's bucket, checking each copy's size and SHA-256.

        Every copy comes with the SHA-256 of what was stored (hashed on the way, read back, or the storage
        service's checksum), so the check against the manifest costs nothing and is always made.
        """
        def stage(obj):
            result = copy_object(self.backup_store, self.backup.paths.key(obj["key"]), self.milvus_store,
                                 staging_prefix + obj["key"], obj["size"])
            if obj.get("sha256") and result.sha256 != obj["sha256"]:
                raise damaged(obj["key"], result.sha256, obj["sha256"])
            return result

        with concurrent.futures.ThreadPoolExecutor(max_workers=int(self.opts.get("concurrency", 4)) * 4) as pool:
            list(pool.map(stage, restore_plan.objects_of(plan)))

    def _verify_objects(self, plan):
        """Hash every object where Milvus will read it (the backup is in Milvus's bucket) before any import."""
        def verify(obj):
            actual = self.backup_store.sha256(self.backup.paths.key(obj["key"]))
            if actual != obj["sha256"]:
                raise damaged(obj["key"], actual, obj["sha256"])

        tasks = [obj for obj in restore_plan.objects_of(plan) if obj.get("sha256")]
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(self.opts.get("concurrency", 4)) * 4) as pool:
            list(pool.map(verify, tasks))

    def _warn_unverifiable(self, plan):
        unchecked = [obj["key"] for obj in restore_plan.objects_of(plan) if not obj.get("sha256")]
        if unchecked:
            self.warn("%d object(s) of %s.%s have no SHA-256 in the backup (e.g. %s; milvus-backup records none): "
                      "they are checked by size only before Milvus imports them"
                      % (len(unchecked), plan["source"]["db_name"], plan["source"]["name"], unchecked[0]))

    def _cleanup_staging(self, prefix):
        try:
            self.milvus_store.delete([o.key for o in self.milvus_store.list(prefix)])
        except VectoropsError as exc:
            self.warn("could not remove the staging objects under %s: %s" % (self.milvus_store.url(prefix), exc))

    def save_marker(self, db, name, fields):
        """Record a collection's restore marker fields now (an insert restore's checkpoint)."""
        self.state.alter(db, name, {RESTORING: encode(fields)})

    def _check_rows(self, db, name, rows, expected, live):
        if expected is not None and rows != expected:
            raise ConsistencyError("restored %s.%s holds %d rows, the backup says %d%s; the restored collection was "
                                   "dropped" % (db, name, rows, expected, "" if live else " (rows in its segments)"))

    def _count_live(self, db, name):
        """Live rows of a loaded collection: count(*) applies every delete, L0 ones included."""
        rows = self.conn.call("count rows of %s.%s" % (db, name), self.conn.client(db).query, name, filter="",
                              output_fields=["count(*)"], consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def _partial_load(self, src):
        """The backup had only some partitions loaded and the restore loads just those."""
        return (self.opts.get("load") is None and src.get("load_state") != "Loaded"
                and any(p.get("load_state") == "Loaded" for p in src["partitions"]))

    def _count(self, db, name):
        resp = self.conn.rpc("statistics of %s.%s" % (db, name), "GetCollectionStatistics",
                             milvus_pb2.GetCollectionStatisticsRequest(db_name=db, collection_name=name), db_name=db)
        return int(kv_dict(resp.stats).get("row_count", 0))

    # -------------------------------------------------------------- index, load, aliases
    def _indexes(self, src, db, name, resume=False):
        """Create the backup's indexes and wait until they are built; ``resume``: a dead run's target, whose
        fields that already have an index keep it."""
        vector_fields = set(f["name"] for f in src["schema"].get("fields", []) if int(f.get("data_type", 0)) >= 100)
        indexed = self._indexed_fields(db, name) if resume else set()
        created = []
        for index in src["indexes"]:
            if index["field_name"] in indexed:
                continue
            params = dict((k, v) for k, v in index["params"].items() if v not in (None, ""))
            if self.opts.get("use_autoindex") and index["field_name"] in vector_fields:
                params = dict(index_type="AUTOINDEX", metric_type=params.get("metric_type", ""))
            try:
                self._create_index(db, name, index, params)
            except MilvusOperationError as exc:
                # A logical backup may go into another kind of server (Milvus Lite knows fewer index types):
                # vector indexes fall back to AUTOINDEX; a scalar index only speeds up filters and is left out.
                if not self.data.index_fallback:
                    raise
                if index["field_name"] not in vector_fields:
                    self.warn("index %s on %s.%s was not restored: %s (a scalar index; the rows are all there)"
                              % (index["index_name"], db, name, exc.message))
                    continue
                params = dict(index_type="AUTOINDEX", metric_type=params.get("metric_type", ""))
                self.warn("index %s on %s.%s is restored as AUTOINDEX: %s" % (index["index_name"], db, name, exc.message))
                self._create_index(db, name, index, params)
            created.append(dict(field_name=index["field_name"], index_name=index["index_name"],
                                index_type=params.get("index_type"), metric_type=params.get("metric_type")))

        def built():
            resp = self.conn.rpc("describe index of %s.%s" % (db, name), "DescribeIndex",
                                 milvus_pb2.DescribeIndexRequest(db_name=db, collection_name=name), db_name=db)
            descriptions = list(resp.index_descriptions)
            if any(d.state == common_pb2.IndexState.Failed for d in descriptions):
                reasons = [d.index_state_fail_reason for d in descriptions if d.index_state_fail_reason]
                raise MilvusOperationError("index build on %s.%s failed: %s" % (db, name, "; ".join(reasons)))
            # "Finished" alone can be reported before the build was scheduled: the row counts must agree too.
            return len(descriptions) >= len(created) and all(
                d.state == common_pb2.IndexState.Finished and d.pending_index_rows == 0
                and d.indexed_rows >= d.total_rows for d in descriptions)

        if created:
            wait_until(built, self.opts.get("index_timeout", 3600),
                       lambda: "indexes of %s.%s not built within index_timeout" % (db, name))
        return created

    def _indexed_fields(self, db, name):
        try:
            resp = self.conn.rpc("describe index of %s.%s" % (db, name), "DescribeIndex",
                                 milvus_pb2.DescribeIndexRequest(db_name=db, collection_name=name), db_name=db)
        except VectoropsError:  # Milvus answers "index not found" for a collection without any
            return set()
        return set(d.field_name for d in resp.index_descriptions)

    def _create_index(self, db, name, index, params):
        request = milvus_pb2.CreateIndexRequest(
            db_name=db, collection_name=name, field_name=index["field_name"], index_name=index["index_name"] or "",
            extra_params=[common_pb2.KeyValuePair(key=k, value=str(v)) for k, v in sorted(params.items())])
        self.conn.rpc("create index %s on %s.%s" % (index["index_name"], db, name), "CreateIndex", request, db_name=db)

    def _wants_load(self, src):
        load = self.opts.get("load")
        if load is not None:
            return bool(load)
        return src.get("load_state") == "Loaded" or any(p.get("load_state") == "Loaded" for p in src["partitions"])

    def _load(self, src, db, name, indexed, force=False):
        if not force and not self._wants_load(src):
            return "NotLoad"
        if not indexed:
            self.warn("%s.%s was not loaded: it has no index (restore_index=false)" % (db, name))
            return "NotLoad"
        partitions = []
        if self.opts.get("load") is None and src.get("load_state") != "Loaded":
            partitions = [p["name"] for p in src["partitions"] if p.get("load_state") == "Loaded"]
        if partitions:
            self.conn.rpc("load partitions of %s.%s" % (db, name), "LoadPartitions",
                          milvus_pb2.LoadPartitionsRequest(db_name=db, collection_name=name, partition_names=partitions),
                          db_name=db)
        else:
            self.conn.rpc("load %s.%s" % (db, name), "LoadCollection",
                          milvus_pb2.LoadCollectionRequest(db_name=db, collection_name=name), db_name=db)
        request = milvus_pb2.GetLoadStateRequest(db_name=db, collection_name=name, partition_names=partitions)
        wait_until(lambda: self.conn.rpc("load state of %s.%s" % (db, name), "GetLoadState", request,
                                         db_name=db).state == common_pb2.LoadState.LoadStateLoaded,
                   self.opts.get("load_timeout", 600),
                   lambda: "%s.%s did not finish loading within load_timeout" % (db, name))
        return "Loaded"

    def _aliases(self, aliases, db, name):
        restored, skipped = [], []
        for alias in aliases:
            try:
                self.conn.rpc("create alias %s" % alias, "CreateAlias",
                              milvus_pb2.CreateAliasRequest(db_name=db, collection_name=name, alias=alias), db_name=db)
                restored.append(alias)
            except VectoropsError as exc:
                skipped.append(dict(alias=alias, reason=exc.message))
                self.warn("alias %s not restored: %s" % (alias, exc.message))
        return dict(restored=restored, skipped=skipped)

    def _mark(self, db, name):
        self.state.mark_complete(db, name, self.marker)

    def _heartbeat(self):
        """Renew the markers of the collections (and the staging prefix) this run is working on."""
        while not self._stop.wait(HEARTBEAT_SECONDS):
            for (db, name), fields in list(self.working.items()):
                try:
                    self.state.alter(db, name, {RESTORING: encode(fields)})
                except VectoropsError:
                    pass
            if self.staging_marker:
                try:
                    self.milvus_store.write(self.staging_marker, encode(self.run_fields).encode("utf-8"))
                except VectoropsError:
                    pass

    def _write_staging_marker(self, prefix):
        self.staging_marker = prefix + STAGING_MARKER
        self.milvus_store.write(self.staging_marker, encode(self.run_fields).encode("utf-8"))

    def _sweep_stale_staging(self):
        """Remove the staging prefixes of restores that are no longer running; returns their URLs."""
        return sweep_stale_staging(self.milvus_store, self.warn)

    def _swap(self, db, live, temp):
        """Put ``temp`` in place of ``live`` and move the aliases; keep or drop the old collection.

        Milvus (2.3 to 2.5) renames only collections without aliases, so the aliases are dropped,
        the collections renamed and the aliases created on the new one: for well under a second
        neither the aliases nor the name resolve. The swap journal, written to Milvus's bucket before
        anything moves (restore_state.py), lets the next run finish a swap this process did not live
        to complete; it is deleted once the restored collection is marked. Any failure here puts
        the old collection and its aliases back.
        """
        aside = ("%s%s%s" % (live, ASIDE_INFIX, self.restore_id))[:255]
        aliases = self.state.aliases(db, live)
        kept = bool(self.opts.get("keep_replaced"))
        journal = self.state.records.write_journal(self.restore_id, dict(
            self.run_fields, db_name=db, live=live, aside=aside, temp=temp, aliases=aliases, keep_replaced=kept))
        for alias in aliases:
            self.state.drop_alias(db, alias)
        renamed_aside = renamed_in = False
        try:
            self.state.rename(db, live, aside)
            renamed_aside = True
            self.state.rename(db, temp, live)
            renamed_in = True
            for alias in aliases:
                self.state.create_alias(db, alias, live)
        except VectoropsError as exc:
            try:
                if renamed_in:
                    self.state.rename(db, live, temp)
                if renamed_aside:
                    self.state.rename(db, aside, live)
                for alias in aliases:
                    self.state.create_alias(db, alias, live)
                self.state.records.delete(journal)
            except VectoropsError as undo:
                raise ConsistencyError(
                    "replacing %s.%s failed (%s) and putting it back failed too (%s): the old collection is %s.%s, the "
                    "restored one %s.%s; the next run of this restore finishes the replace (or restore the aliases %s "
                    "by hand)" % (db, live, exc.message, undo.message, db, aside if renamed_aside else live, db,
                                  live if renamed_in else temp, ", ".join(aliases) or "none"))
            raise
        if not kept:
            self._drop(db, aside)
        return dict(replaced=live, old_collection=aside if kept else None, old_dropped=not kept, aliases_moved=aliases,
                    journal=journal)


def damaged(key, actual, expected):
    return ConsistencyError("backup object %s does not match its manifest SHA-256 (%s, manifest %s): the backup is "
                            "damaged; nothing was imported from it" % (key, (actual or "unreadable")[:16], expected[:16]))


def validate_options(params):
    """The checks the module's argument spec cannot express (``suffix``/``rename`` and the ``existing`` options
    are exclusive there)."""
    existing = restore_plan.existing_policy(params)
    validate_suffix(params.get("suffix"))
    if existing == "replace" and params.get("meta_only"):
        raise InputError("existing=replace and meta_only are mutually exclusive: replacing needs the data")
    if (params.get("logical_restore") or "auto") not in logical.LOGICAL_METHODS:
        raise InputError("logical_restore must be one of %s" % ", ".join(logical.LOGICAL_METHODS))
    for option, minimum in (("concurrency", 1), ("import_timeout", 1), ("load_timeout", 1), ("index_timeout", 1)):
        if params.get(option) is not None and params[option] < minimum:
            raise InputError("%s must be at least %d, got %s" % (option, minimum, params[option]))
    if not params.get("name"):
        raise InputError("name (the backup to restore) is required")
    layout.validate_backup_name(params["name"])


def run(ctx):
    """milvus_restore's engine: ``state=present`` restores, ``absent`` removes what a restore of the backup made."""
    params, check_mode = ctx.params, ctx.check_mode
    validate_options(params)
    needs_data = not params.get("meta_only") and params.get("state") != "absent"
    milvus_store, backup_store = stores_from_params(params, need_backup=True)
    backup = catalog.require_complete(backup_store, params["name"])
    if needs_data and RESTORE_FORMATS[backup.data_format].requires_milvus_storage:
        stores_from_params(params, need_milvus=True)  # a binlog restore needs Milvus's bucket: say so now
    with MilvusConnection(params) as conn:
        conn.connect()
        job = RestoreJob(conn, milvus_store, backup_store, backup, params, ctx.warn)
        if params.get("state") == "absent":
            return job.remove(check_mode)
        return job.run(check_mode)
