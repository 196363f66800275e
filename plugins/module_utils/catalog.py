# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Reading what is stored under a backup root (engine side).

A backup is one folder under the root. It is:

* ours and ``complete`` when ``COMPLETE`` exists and names the manifest's SHA-256;
* ours and ``incomplete`` when data or meta exist without ``COMPLETE`` (a crash, a kill, or a run
  still in progress: ``.vectorops/IN_PROGRESS`` says who is writing it);
* ``corrupt`` when ``COMPLETE`` exists but the manifest is missing or does not match it;
* written by milvus-backup when it has ``meta/backup_meta.json`` but no manifest; complete when
  its meta can be read (``full_meta.json``, or the four level files).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import json

from ansible_collections.vectorops.milvus.plugins.module_utils import layout
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import NotFoundError, VectoropsError
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import consistency_level_name, kv_dict
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import is_glob, parse_pattern

STATUS_COMPLETE = "complete"
STATUS_INCOMPLETE = "incomplete"
STATUS_CORRUPT = "corrupt"
STATUS_ABSENT = "absent"  # in summaries only: nothing stored under the name
OURS = "vectorops"
MILVUS_BACKUP = "milvus-backup"
UNKNOWN = "unknown"


def read_json(store, key):
    """Parsed JSON object at ``key``, or None when it does not exist."""
    try:
        data = store.read(key)
    except NotFoundError:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise VectoropsError("%s is not valid JSON: %s" % (store.url(key), exc))


class StoredBackup:
    """One backup folder and what its marker files say."""

    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.paths = layout.BackupPaths(store, name)
        self.complete_marker = None
        self.manifest = None
        self.full_meta = None
        self.in_progress = None
        self.verified = None
        self.problems = []
        self.format = UNKNOWN
        self.status = STATUS_INCOMPLETE
        self.exists = False
        self.last_modified = None

    @classmethod
    def written(cls, store, name, manifest, complete_marker):
        """The backup this process has just marked complete, without reading it back."""
        backup = cls(store, name)
        backup.exists, backup.format, backup.status = True, OURS, STATUS_COMPLETE
        backup.manifest, backup.complete_marker = manifest, json.loads(complete_marker.decode("utf-8"))
        return backup

    # -------------------------------------------------------------- loading
    def load(self):
        objects = list(self.store.list(self.paths.prefix))
        keys = set(o.key for o in objects)
        self.exists = bool(keys)
        if not keys:
            return self
        times = [o.modified for o in objects if o.modified is not None]
        self.last_modified = max(times) if times else None

        def has(rel):
            return self.paths.key(rel) in keys

        self.in_progress = read_json(self.store, self.paths.key(layout.IN_PROGRESS)) if has(layout.IN_PROGRESS) else None
        if has(layout.COMPLETE) or has(layout.MANIFEST) or self.in_progress is not None:
            self.format = OURS
            self._load_ours(has)
        elif has(layout.BACKUP_META):
            self.format = MILVUS_BACKUP
            self._load_milvus_backup(has)
        if has(layout.VERIFIED):
            self.verified = read_json(self.store, self.paths.key(layout.VERIFIED))
        return self

    def _load_ours(self, has):
        if not has(layout.COMPLETE):
            self.status = STATUS_INCOMPLETE
            if has(layout.MANIFEST):
                self.manifest = read_json(self.store, self.paths.key(layout.MANIFEST))
            return
        self.complete_marker = read_json(self.store, self.paths.key(layout.COMPLETE))
        if not has(layout.MANIFEST):
            self.status = STATUS_CORRUPT
            self.problems.append("COMPLETE exists but manifest.json is missing")
            return
        raw = self.store.read(self.paths.key(layout.MANIFEST))
        digest = hashlib.sha256(raw).hexdigest()
        expected = (self.complete_marker or {}).get("manifest_sha256")
        try:
            self.manifest = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            self.status = STATUS_CORRUPT
            self.problems.append("manifest.json is not valid JSON: %s" % exc)
            return
        if expected != digest:
            self.status = STATUS_CORRUPT
            self.problems.append("manifest.json SHA-256 %s does not match the %s recorded in COMPLETE"
                                 % (digest, expected))
            return
        self.status = STATUS_COMPLETE

    def _load_milvus_backup(self, has):
        if has(layout.FULL_META):
            self.full_meta = read_json(self.store, self.paths.key(layout.FULL_META))
            self.status = STATUS_COMPLETE
            return
        levels = (layout.COLLECTION_META, layout.PARTITION_META, layout.SEGMENT_META)
        if not all(has(rel) for rel in levels):
            self.status = STATUS_INCOMPLETE
            self.problems.append("milvus-backup meta has neither full_meta.json nor all level files")
            return
        self.full_meta = level_files_to_tree(read_json(self.store, self.paths.key(layout.BACKUP_META)),
                                             *[read_json(self.store, self.paths.key(rel)) for rel in levels])
        self.status = STATUS_COMPLETE

    # -------------------------------------------------------------- views
    @property
    def complete(self):
        return self.status == STATUS_COMPLETE

    def meta(self):
        """milvus-backup's BackupInfo tree (ours carry one in meta/full_meta.json too)."""
        if self.full_meta is None and self.format == OURS and self.complete:
            self.full_meta = read_json(self.store, self.paths.key(layout.FULL_META))
        return self.full_meta

    @property
    def data_format(self):
        """How the rows are stored: ``binlog`` (Milvus's segment files) or ``logical`` (Parquet rows)."""
        if self.manifest:
            return self.manifest.get("data_format") or "binlog"
        if self.in_progress and self.in_progress.get("format"):
            return self.in_progress["format"]
        return "binlog" if self.format in (OURS, MILVUS_BACKUP) else None

    def summary(self):
        """The ``backup`` of every module's result: ``format`` is how the rows are stored (binlog, logical),
        ``written_by`` which tool wrote it; ``status`` is ``absent`` for a backup that does not exist."""
        result = dict(name=self.name, backup_id=None, format=self.data_format, written_by=self.format,
                      status=self.status if self.exists else STATUS_ABSENT, complete=self.complete,
                      location=self.store.url(self.paths.prefix), problems=list(self.problems),
                      created_at=None, backup_time=None, size=None, objects=None,
                      collections=[], rows=None, milvus_version=None, tool_version=None,
                      verified_at=None, verified_level=None, in_progress=self.in_progress,
                      last_modified=layout.iso(self.last_modified))
        if self.manifest:
            m = self.manifest
            backup = m.get("backup", {})
            totals = m.get("totals", {})
            result.update(backup_id=backup.get("id"), created_at=backup.get("started_at"),
                          backup_time=backup.get("backup_time"), size=totals.get("bytes"),
                          objects=totals.get("objects"), rows=totals.get("rows"),
                          milvus_version=backup.get("milvus_version"),
                          tool_version=m.get("tool", {}).get("version"),
                          collections=["%s.%s" % (c["db_name"], c["name"]) for c in m.get("collections", [])])
        elif self.full_meta:
            meta = self.full_meta
            colls = meta.get("collection_backups", [])
            times = [c.get("backup_timestamp") for c in colls if c.get("backup_timestamp")]
            ts = meta.get("backup_timestamp") or (max(times) if times else None)
            result.update(backup_id=meta.get("id"), size=meta.get("size"), milvus_version=meta.get("milvus_version"),
                          backup_time=layout.iso(layout.hybrid_ts_to_datetime(ts)),
                          collections=["%s.%s" % (c.get("db_name") or "default", c.get("collection_name"))
                                       for c in colls],
                          rows=sum(s.get("num_of_rows", 0) for c in colls for s in meta_segments(c)))
        elif self.in_progress:
            result.update(backup_id=self.in_progress.get("id"), created_at=self.in_progress.get("started_at"),
                          tool_version=self.in_progress.get("tool_version"))
        if self.verified:
            result.update(verified_at=self.verified.get("verified_at"), verified_level=self.verified.get("level"))
        return result


def meta_segments(collection_backup):
    """All segments of one milvus-backup CollectionBackupInfo, partition and collection-level L0."""
    segments = []
    for part in collection_backup.get("partition_backups", []) or []:
        segments.extend(part.get("segment_backups", []) or [])
    segments.extend(collection_backup.get("l0_segments", []) or [])
    return segments


def level_files_to_tree(backup, collections, partitions, segments):
    """milvus-backup's levelToTree: reassemble a BackupInfo from the four level files."""
    backup = dict(backup or {})
    by_part = {}
    for seg in (segments or {}).get("infos", []) or []:
        by_part.setdefault((seg.get("collection_id"), seg.get("partition_id")), []).append(seg)
    by_coll = {}
    for part in (partitions or {}).get("infos", []) or []:
        part = dict(part)
        segs = by_part.get((part.get("collection_id"), part.get("partition_id")), [])
        part["segment_backups"] = segs
        part["size"] = sum(s.get("size", 0) for s in segs)
        by_coll.setdefault(part.get("collection_id"), []).append(part)
    colls = []
    for coll in (collections or {}).get("infos", []) or []:
        coll = dict(coll)
        parts = by_coll.get(coll.get("collection_id"), [])
        coll["partition_backups"] = parts
        coll["size"] = sum(p.get("size", 0) for p in parts)
        colls.append(coll)
    backup["collection_backups"] = colls
    backup["size"] = sum(c.get("size", 0) for c in colls)
    return backup


def read_backup(store, name):
    """The backup ``name`` (its folder may not exist: check ``.exists``)."""
    return StoredBackup(store, layout.validate_backup_name(name)).load()


def summary_for_failure(store, name):
    """The ``backup`` of a failed run's result: its summary, or only its name when the storage cannot be read."""
    try:
        return read_backup(store, name).summary()
    except Exception:  # pylint: disable=broad-except
        return dict(name=name)


def list_backups(store):
    """Every folder under the backup root, newest first (by backup time, then name)."""
    summaries = []
    for name in store.list_dirs(store.key() + "/"):
        if not layout.BACKUP_NAME_RE.match(name):
            continue  # not a backup (e.g. a probe or a foreign folder)
        backup = StoredBackup(store, name).load()
        if backup.exists:
            summaries.append(backup.summary())
    summaries.sort(key=lambda s: (s["backup_time"] or s["created_at"] or "", s["name"]), reverse=True)
    return summaries


def require_complete(store, name):
    """The complete backup ``name``, or a NotFoundError/VectoropsError that says what is wrong."""
    backup = read_backup(store, name)
    if not backup.exists:
        raise NotFoundError("backup %r does not exist under %s" % (name, store.url(store.key() + "/")))
    if backup.status == STATUS_CORRUPT:
        raise VectoropsError("backup %r is corrupt: %s" % (name, "; ".join(backup.problems)))
    if not backup.complete:
        raise VectoropsError("backup %r is incomplete (no COMPLETE marker: interrupted or still running); "
                             "run milvus_backup again with the same name to finish it, or delete it with "
                             "state=absent" % name)
    return backup


def delete_backup(store, name):
    """Delete a backup folder: completion markers first, so a half-deleted backup is never 'complete'."""
    paths = layout.BackupPaths(store, name)
    objects = list(store.list(paths.prefix))
    markers = [paths.key(rel) for rel in (layout.COMPLETE, layout.BACKUP_META)]
    present = set(o.key for o in objects)
    store.delete([k for k in markers if k in present])
    store.delete(sorted(o.key for o in objects if o.key not in markers))
    left = list(store.list(paths.prefix))
    if left:
        raise VectoropsError("deleting backup %r left %d object(s) behind, e.g. %s"
                             % (name, len(left), store.url(left[0].key)))
    return dict(objects=len(objects), bytes=sum(o.size for o in objects))


def _group_dir(kind, coll, part, group):
    return "binlogs/%s/%s/%s/%s/" % (kind, coll, part, group)


def _segment_key(kind, coll, part, group, seg, field=None, log=None):
    parts = ["binlogs", kind, str(coll), str(part)]
    if group:
        parts.append(str(group))
    parts.append(str(seg))
    if field is not None:
        parts.append(str(field))
    if log is not None:
        parts.append(str(log))
    return "/".join(parts)


BINLOG_FORMATS = ("", "binlog")  # milvus-backup BackupInfo.format: "" = binlog, "snapshot"


def database_properties_of(backup):
    """``{db: {key: value}}`` recorded by the backup (ours: the manifest; milvus-backup's:
    ``database_backups[].properties``, recorded from Milvus 2.4.3 on); databases without any are absent."""
    if backup.manifest:
        return dict((db, dict(props)) for db, props in (backup.manifest.get("database_properties") or {}).items()
                    if props)
    result = {}
    for entry in (backup.meta() or {}).get("database_backups") or []:
        props = kv_dict(entry.get("properties"))
        if props:
            result[entry.get("db_name") or "default"] = props
    return result


def collections_of(backup):
    """The backup's collections in one shape, whichever tool wrote it.

    Each: db_name, name, id, schema (proto field names), shards_num, consistency_level (name),
    properties (dict), indexes ([{field_name, index_name, params}]), aliases, load_state,
    partitions ([{name, id, load_state}]), segments ([{id, partition_id, num_rows, level, storage_version,
    import_paths: (insert group dir, delta group dir or ""), objects: [{key, size, sha256}]}]),
    row_count, live_row_count, cut_timestamp (restore rows up to it: import end_ts; None for all).
    Keys of objects and import paths are relative to the backup folder.
    """
    if backup.manifest:
        return [_from_manifest(backup, coll) for coll in backup.manifest.get("collections", [])]
    meta = backup.meta() or {}
    data_format = meta.get("format") or ""
    if data_format not in BINLOG_FORMATS:
        # A snapshot-format backup (milvus-backup's default on Milvus >= 3.0) has no segments in its meta:
        # read as binlog it would "restore" empty collections (milvus-backup core/restore/task.go NewTask
        # refuses unknown formats for the same reason).
        raise VectoropsError("backup %r is in milvus-backup's %r format, which vectorops.milvus cannot read (it restores "
                             "binlog backups only); restore it with milvus-backup" % (backup.name, data_format),
                             reason="unsupported_format")
    return [_from_meta(coll) for coll in meta.get("collection_backups", [])]


def _from_manifest(backup, coll):
    by_segment = {}
    for obj in backup.manifest.get("objects", []):
        parts = obj["key"].split("/")
        if len(parts) >= 6 and parts[2] == str(coll["id"]):
            by_segment.setdefault(int(parts[5]), []).append(dict(key=obj["key"], size=obj["size"],
                                                                 sha256=obj.get("sha256")))
    segments = []
    for seg in coll.get("segments", []):
        segments.append(dict(
            id=seg["id"], partition_id=seg["partition_id"], num_rows=seg["num_rows"], level=seg.get("level"),
            objects=sorted(by_segment.get(seg["id"], []), key=lambda o: o["key"]),
            storage_version=seg.get("storage_version") or 0,
            # The group directory (group id = segment id), as milvus-backup imports: Milvus 2.4+ lists an
            # import prefix one level deep and takes every child for a segment.
            import_paths=(_group_dir("insert_log", coll["id"], seg["partition_id"], seg["id"]),
                          _group_dir("delta_log", coll["id"], seg["partition_id"], seg["id"]) if seg.get("delta_logs")
                          else "")))
    indexes = [dict(field_name=i.get("field_name"), index_name=i.get("index_name"),
                    params=kv_dict(i.get("params")))
               for i in coll.get("indexes", [])]
    return dict(db_name=coll["db_name"], name=coll["name"], id=coll["id"], schema=coll["schema"],
                shards_num=coll.get("shards_num") or 1, consistency_level=coll.get("consistency_level") or "Bounded",
                properties=coll.get("properties") or {}, indexes=indexes, aliases=coll.get("aliases", []),
                load_state=coll.get("load_state"), partitions=[dict(name=p["name"], id=p["id"], load_state=p.get("load_state"))
                                                               for p in coll.get("partitions", [])],
                segments=segments, row_count=coll.get("row_count"), live_row_count=coll.get("live_row_count"),
                verification=coll.get("verification"), cut_timestamp=coll.get("cut_timestamp"),
                format=coll.get("format") or "binlog", files=_logical_files(backup, coll))


def _logical_files(backup, coll):
    """A logical collection's Parquet files with their manifest SHA-256 ([] for binlog collections)."""
    sha = dict((o["key"], o.get("sha256")) for o in backup.manifest.get("objects", []))
    return [dict(f, sha256=sha.get(f["key"])) for f in (coll.get("logical") or {}).get("files", [])]


def _from_meta(coll):
    cid = coll.get("collection_id")
    segments = []
    for seg in meta_segments(coll):
        group = seg.get("group_id") or 0
        pid = seg.get("partition_id")
        objects = []
        for field in seg.get("binlogs", []) or []:
            for log in field.get("binlogs", []) or []:
                log_id = log.get("log_id") or log.get("log_path", "").rsplit("/", 1)[-1]
                objects.append(dict(key=_segment_key("insert_log", cid, pid, group, seg["segment_id"], field.get("fieldID"),
                                                     log_id), size=log.get("log_size"), sha256=None))
        for field in seg.get("deltalogs", []) or []:
            for log in field.get("binlogs", []) or []:
                log_id = log.get("log_id") or log.get("log_path", "").rsplit("/", 1)[-1]
                objects.append(dict(key=_segment_key("delta_log", cid, pid, group, seg["segment_id"], log=log_id),
                                    size=log.get("log_size"), sha256=None))
        has_delta = any(o["key"].startswith("binlogs/delta_log/") for o in objects)
        if group:
            paths = (_group_dir("insert_log", cid, pid, group), _group_dir("delta_log", cid, pid, group) if has_delta else "")
        else:  # very old backups (group id 0): one import per partition directory
            paths = ("binlogs/insert_log/%s/%s/" % (cid, pid), "binlogs/delta_log/%s/%s/" % (cid, pid) if has_delta else "")
        segments.append(dict(id=seg["segment_id"], partition_id=pid, num_rows=seg.get("num_of_rows", 0),
                             level="L0" if seg.get("is_l0") else "Legacy", objects=objects, import_paths=paths,
                             storage_version=seg.get("storage_version") or 0))
    schema = dict(coll.get("schema") or {})
    indexes = [dict(field_name=i.get("field_name"), index_name=i.get("index_name"),
                    params=dict(i.get("params") or {}, index_type=(i.get("params") or {}).get("index_type") or i.get("index_type")))
               for i in coll.get("index_infos", []) or []]
    return dict(db_name=coll.get("db_name") or "default", name=coll.get("collection_name"), id=cid, schema=schema,
                shards_num=coll.get("shards_num") or 1,
                consistency_level=consistency_level_name(coll.get("consistency_level", 0)),
                properties=kv_dict(coll.get("properties")),
                indexes=indexes, aliases=coll.get("aliases", []) or [], load_state=coll.get("load_state"),
                partitions=[dict(name=p.get("partition_name"), id=p.get("partition_id"), load_state=p.get("load_state"))
                            for p in coll.get("partition_backups", []) or []],
                segments=segments, row_count=sum(s["num_rows"] for s in segments if s["level"] != "L0"),
                live_row_count=None, verification=None, cut_timestamp=None, format="binlog", files=[])


def select_sources(sources, patterns, default_db, backup_name):
    """The backup's collections named by ``patterns`` (coll, db.coll, db.*); all when empty.

    A pattern without wildcards that matches nothing is an error naming what the backup holds.
    """
    if not patterns:
        return sources
    chosen, missing = [], []
    for pattern in patterns:
        db_pat, coll_pat = parse_pattern(pattern, default_db)
        hits = [s for s in sources if fnmatch.fnmatchcase(s["db_name"], db_pat) and fnmatch.fnmatchcase(s["name"], coll_pat)]
        if not hits and not is_glob(db_pat + coll_pat):
            missing.append(pattern)
        chosen.extend(h for h in hits if h not in chosen)
    if missing:
        raise NotFoundError("backup %r has no collection %s (it has: %s)" % (
            backup_name, ", ".join(missing), ", ".join("%s.%s" % (s["db_name"], s["name"]) for s in sources)))
    if not chosen:
        raise NotFoundError("collections=%s select nothing in backup %r" % (patterns, backup_name))
    return chosen
