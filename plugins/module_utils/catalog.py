# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Reading what is stored under a backup root (engine side).

A folder under the root is a backup only when it carries a marker this collection or milvus-backup
writes: ``COMPLETE``, ``manifest.json``, anything under ``.vectorops/`` (``IN_PROGRESS``, ``VERIFIED``,
``DELETING``) or milvus-backup's ``meta/backup_meta.json``. Any other folder (Milvus's own ``insert_log``
when the backup root points into Milvus's bucket, a person's files) is not a backup: it is never listed as
one, and never deleted. A backup is:

* ours and ``complete`` when ``COMPLETE`` exists, names the manifest's SHA-256, and the manifest passes
  :mod:`manifest_schema`;
* ours and ``incomplete`` when data or meta exist without ``COMPLETE`` (a crash, a kill, or a run
  still in progress: ``.vectorops/IN_PROGRESS`` says who is writing it);
* ``corrupt`` when ``COMPLETE`` exists but it, or the manifest, is missing, damaged, does not match, or
  does not pass the schema; or when milvus-backup's meta cannot be read as a BackupInfo;
* ``unreadable`` when an object the listing shows cannot be read (a 404 for a listed key after a few
  tries, a storage error): what the backup holds cannot be told, so nothing acts on it;
* ``deleting`` when ``.vectorops/DELETING`` exists: a deletion started and did not finish;
* written by milvus-backup when it has ``meta/backup_meta.json`` but no manifest; complete when
  its meta can be read (``full_meta.json``, or the four level files).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import json
import os
import socket

from ansible_collections.vectorops.milvus.plugins.module_utils import layout, manifest_schema
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import NotFoundError, VectoropsError
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import consistency_level_name, kv_dict
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import is_glob, parse_pattern
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import retry

STATUS_COMPLETE = "complete"
STATUS_INCOMPLETE = "incomplete"
STATUS_CORRUPT = "corrupt"
STATUS_UNREADABLE = "unreadable"
STATUS_DELETING = "deleting"
STATUS_NOT_BACKUP = "not_a_backup"  # read_backup of a folder without markers; never listed as a backup
STATUS_ABSENT = "absent"  # in summaries only: nothing stored under the name
OURS = "vectorops"
MILVUS_BACKUP = "milvus-backup"
UNKNOWN = "unknown"

# The objects that make a folder a backup (anything under .vectorops/ too), in the order they are looked for.
MARKERS = (layout.COMPLETE, layout.OWN_DIR, layout.MANIFEST, layout.BACKUP_META)
NOT_A_BACKUP = ("it holds no COMPLETE, manifest.json, .vectorops/ marker or meta/backup_meta.json, so it was not "
                "written by vectorops.milvus or milvus-backup; left alone")
# A listed object that reads as "does not exist" is read again after these pauses (S3 listings and reads
# are not always consistent, and proxies return transient 404s) before the backup is called unreadable.
READ_RETRY_DELAYS = (0.25, 0.5, 1.0)
LOAD_ATTEMPTS = 3  # a folder that changes while it is read is read again from its listing


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


def is_marker(rel):
    """Whether a key relative to a backup folder is one of the markers that make the folder a backup."""
    return rel in (layout.COMPLETE, layout.MANIFEST, layout.BACKUP_META) or rel.startswith(layout.OWN_DIR)


def marker_keys(store, name):
    """The markers (relative keys) found in folder ``name``: small prefix listings, never the folder's data,
    so a foreign folder with millions of objects costs four requests. Stops at the first kind found."""
    paths = layout.BackupPaths(store, name)
    for rel in MARKERS:
        found = [paths.relative(o.key) for o in store.list(paths.key(rel))]
        found = [r for r in found if is_marker(r) and (r == rel or rel.endswith("/"))]
        if found:
            return found
    return []


def root_prefix(store):
    """The listing prefix of the backup root ("" for a root at the bucket's top)."""
    return store.key() + "/" if store.key() else ""


class _Unreadable(Exception):
    """A listed object could not be read: the backup's content cannot be told (``cause``: the storage error, if
    it was not a "does not exist")."""

    def __init__(self, message, cause=None):
        super(_Unreadable, self).__init__(message)
        self.cause = cause


class _Changed(Exception):
    """A listed object is gone from a fresh listing: the folder changed while it was read."""


def _parse(raw):
    """(document, None), or (None, why it is not JSON)."""
    if not raw.strip():
        return None, "is empty"
    try:
        return json.loads(raw.decode("utf-8")), None
    except ValueError as exc:
        return None, "is not valid JSON (%s)" % exc


class StoredBackup:
    """One backup folder and what its marker files say."""

    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.paths = layout.BackupPaths(store, name)
        self._clear()

    def _clear(self):
        self.complete_marker = None
        self.manifest = None
        self.full_meta = None
        self.in_progress = None
        self.deleting = None
        self.verified = None
        self.problems = []
        self.format = UNKNOWN
        self.status = STATUS_INCOMPLETE
        self.exists = False
        self.last_modified = None
        self.listed = {}
        self.read_error = None  # the storage error that made the backup unreadable, if any

    @classmethod
    def written(cls, store, name, manifest, complete_marker):
        """The backup this process has just marked complete, without reading it back."""
        backup = cls(store, name)
        backup.exists, backup.format, backup.status = True, OURS, STATUS_COMPLETE
        backup.manifest, backup.complete_marker = manifest, json.loads(complete_marker.decode("utf-8"))
        return backup

    # -------------------------------------------------------------- loading
    def load(self):
        for _attempt in range(LOAD_ATTEMPTS):
            self._clear()
            try:
                self._load_once()
                return self
            except _Changed:
                continue
            except _Unreadable as exc:
                self._unreadable(str(exc))
                self.read_error = exc.cause
                return self
        self._unreadable("its objects kept changing while they were read (%d listings); run again later"
                         % LOAD_ATTEMPTS)
        return self

    def _unreadable(self, problem):
        self.status = STATUS_UNREADABLE
        self.manifest = self.full_meta = self.complete_marker = None
        self.problems = [problem]

    def _load_once(self):
        # A listing that fails is the store's problem, not this backup's: its error goes to the caller as it is.
        objects = list(self.store.list(self.paths.prefix))
        self.listed = dict((self.paths.relative(o.key), o) for o in objects)
        self.exists = bool(objects)
        if not objects:
            return
        times = [o.modified for o in objects if o.modified is not None]
        self.last_modified = max(times) if times else None
        if not any(is_marker(rel) for rel in self.listed):
            self.status = STATUS_NOT_BACKUP
            self.problems.append(NOT_A_BACKUP)
            return

        def has(rel):
            return rel in self.listed

        if has(layout.IN_PROGRESS):
            self.in_progress = self._marker(layout.IN_PROGRESS)
        # milvus_verify records VERIFIED in milvus-backup's backups too: .vectorops/ alone does not make one ours.
        ours = has(layout.COMPLETE) or has(layout.MANIFEST) or has(layout.IN_PROGRESS)
        self.format = OURS if ours or not has(layout.BACKUP_META) else MILVUS_BACKUP
        if has(layout.DELETING):
            self._load_deleting()
        elif self.format == OURS:
            self._load_ours(has)
        else:
            self._load_milvus_backup(has)
        if has(layout.VERIFIED):
            verified, problem = _parse(self._read(layout.VERIFIED))
            if problem or not isinstance(verified, dict):
                self.problems.append("%s %s; ignored" % (layout.VERIFIED, problem or "is not a JSON object"))
            else:
                self.verified = verified

    def _read(self, rel):
        """Bytes of an object the listing showed. A "does not exist" is tried again (transient 404s); if it
        persists and a fresh listing still shows the object, the backup is unreadable, never "missing"."""
        key = self.paths.key(rel)
        try:
            return retry(lambda: self.store.read(key), lambda exc: isinstance(exc, NotFoundError), READ_RETRY_DELAYS)
        except NotFoundError:
            try:
                still = any(o.key == key for o in self.store.list(key))
            except VectoropsError as exc:
                raise _Unreadable("%s is listed but could not be read, nor listed again: %s" % (rel, exc.message),
                                  cause=exc)
            if not still:
                raise _Changed()
            raise _Unreadable("%s is listed but reading it answered \"does not exist\" %d times; kept as it is, "
                              "since what the backup holds cannot be told" % (rel, len(READ_RETRY_DELAYS) + 1))
        except VectoropsError as exc:
            raise _Unreadable("%s could not be read: %s" % (rel, exc.message), cause=exc)

    def _marker(self, rel):
        """A marker's body as a dict, with ``stored_at``: when the storage service last wrote it (its own clock,
        from the listing), which judges a writer whose heartbeat is dated in the future (see progress)."""
        body, problem = _parse(self._read(rel))
        if problem or not isinstance(body, dict):
            self.problems.append("%s %s" % (rel, problem or "is not a JSON object"))
            body = {}
        modified = self.listed[rel].modified
        return dict(body, stored_at=layout.iso(modified) if modified else None)

    def _load_deleting(self):
        self.deleting = self._marker(layout.DELETING)
        self.status = STATUS_DELETING
        started = _text(self.deleting.get("started_at")) or self.deleting.get("stored_at") or "at an unknown time"
        self.problems.append("a deletion started %s did not finish (%s): milvus_backup_prune or "
                             "milvus_backup state=absent finishes it" % (started, layout.DELETING))

    def _load_manifest(self, raw):
        """The parsed manifest, or None with the problem recorded."""
        doc, problem = _parse(raw)
        if problem:
            self.problems.append("%s %s" % (layout.MANIFEST, problem))
            return None
        problems = manifest_schema.manifest_problems(doc)
        if problems:
            self.problems.append(manifest_schema.summarize(layout.MANIFEST, problems))
            return None
        return doc

    def _load_ours(self, has):
        if not has(layout.COMPLETE):
            self.status = STATUS_INCOMPLETE
            if has(layout.MANIFEST):
                self.manifest = self._load_manifest(self._read(layout.MANIFEST))
            return
        marker, problem = _parse(self._read(layout.COMPLETE))
        if not problem and not (isinstance(marker, dict) and isinstance(marker.get("manifest_sha256"), str)):
            problem = "records no manifest_sha256"
        if problem:
            self.status = STATUS_CORRUPT
            self.problems.append("%s %s" % (layout.COMPLETE, problem))
            return
        self.complete_marker = marker
        if not has(layout.MANIFEST):
            self.status = STATUS_CORRUPT
            self.problems.append("COMPLETE exists but manifest.json is missing")
            return
        raw = self._read(layout.MANIFEST)
        digest = hashlib.sha256(raw).hexdigest()
        self.manifest = self._load_manifest(raw)
        expected = marker["manifest_sha256"]
        if self.manifest is None:
            self.status = STATUS_CORRUPT
            return
        if expected != digest:
            self.status = STATUS_CORRUPT
            self.problems.append("manifest.json SHA-256 %s does not match the %s recorded in COMPLETE"
                                 % (digest, expected))
            return
        self.status = STATUS_COMPLETE

    def _load_milvus_backup(self, has):
        if has(layout.FULL_META):
            tree, problem = _parse(self._read(layout.FULL_META))
            problems = [problem] if problem else manifest_schema.meta_problems(tree)
            if problems:
                self.status = STATUS_CORRUPT
                self.problems.append(manifest_schema.summarize(layout.FULL_META, problems))
                return
            self.full_meta = tree
            self.status = STATUS_COMPLETE
            return
        levels = (layout.COLLECTION_META, layout.PARTITION_META, layout.SEGMENT_META)
        if not all(has(rel) for rel in levels):
            self.status = STATUS_INCOMPLETE
            self.problems.append("milvus-backup meta has neither full_meta.json nor all level files")
            return
        docs = []
        for rel in (layout.BACKUP_META,) + levels:
            doc, problem = _parse(self._read(rel))
            if problem:
                problems = [problem]
            elif rel == layout.BACKUP_META:
                problems = [manifest_schema.top_level_problem(doc)] if manifest_schema.top_level_problem(doc) else []
            else:
                problems = manifest_schema.level_problems(doc)
            if problems:
                self.status = STATUS_CORRUPT
                self.problems.append(manifest_schema.summarize(rel, problems))
                return
            docs.append(doc)
        tree = level_files_to_tree(*docs)
        problems = manifest_schema.meta_problems(tree)
        if problems:
            self.status = STATUS_CORRUPT
            self.problems.append(manifest_schema.summarize("meta (level files)", problems))
            return
        self.full_meta = tree
        self.status = STATUS_COMPLETE

    # -------------------------------------------------------------- views
    @property
    def complete(self):
        return self.status == STATUS_COMPLETE

    @property
    def is_backup(self):
        """False for a folder without markers (and for nothing at all)."""
        return self.exists and self.status != STATUS_NOT_BACKUP

    def meta(self):
        """milvus-backup's BackupInfo tree (ours carry one in meta/full_meta.json too)."""
        if self.full_meta is None and self.format == OURS and self.complete:
            tree = read_json(self.store, self.paths.key(layout.FULL_META))
            problems = manifest_schema.meta_problems(tree) if tree is not None else []
            if problems:
                raise VectoropsError("backup %r: %s" % (self.name, manifest_schema.summarize(layout.FULL_META,
                                                                                             problems)),
                                     reason="corrupt")
            self.full_meta = tree
        return self.full_meta

    @property
    def data_format(self):
        """How the rows are stored: ``binlog`` (Milvus's segment files) or ``logical`` (Parquet rows)."""
        if self.manifest:
            return self.manifest.get("data_format") or "binlog"
        if self.in_progress and isinstance(self.in_progress.get("format"), str) and self.in_progress["format"]:
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
            totals = m.get("totals") or {}
            result.update(backup_id=backup.get("id"), created_at=backup.get("started_at"),
                          backup_time=backup.get("backup_time"), size=totals.get("bytes"),
                          objects=totals.get("objects"), rows=totals.get("rows"),
                          milvus_version=backup.get("milvus_version"),
                          tool_version=(m.get("tool") or {}).get("version"),
                          collections=["%s.%s" % (c["db_name"], c["name"]) for c in m.get("collections", [])])
        elif self.full_meta:
            meta = self.full_meta
            colls = meta.get("collection_backups") or []
            times = [c.get("backup_timestamp") for c in colls if c.get("backup_timestamp")]
            ts = meta.get("backup_timestamp") or (max(times) if times else None)
            result.update(backup_id=meta.get("id"), size=meta.get("size"), milvus_version=meta.get("milvus_version"),
                          backup_time=layout.iso(layout.hybrid_ts_to_datetime(ts)),
                          collections=["%s.%s" % (c.get("db_name") or "default", c.get("collection_name"))
                                       for c in colls],
                          rows=sum(s.get("num_of_rows") or 0 for c in colls for s in meta_segments(c)))
        elif self.in_progress:
            # Written by a run of this collection, but a damaged marker must not leak odd types into listings.
            marker = self.in_progress
            result.update(backup_id=_text(marker.get("id")), created_at=_text(marker.get("started_at")),
                          tool_version=_text(marker.get("tool_version")))
        if self.verified:
            result.update(verified_at=_text(self.verified.get("verified_at")),
                          verified_level=_text(self.verified.get("level")))
        return result


def _text(value):
    return value if isinstance(value, str) else None


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
        part["size"] = sum(s.get("size") or 0 for s in segs)
        by_coll.setdefault(part.get("collection_id"), []).append(part)
    colls = []
    for coll in (collections or {}).get("infos", []) or []:
        coll = dict(coll)
        parts = by_coll.get(coll.get("collection_id"), [])
        coll["partition_backups"] = parts
        coll["size"] = sum(p.get("size") or 0 for p in parts)
        colls.append(coll)
    backup["collection_backups"] = colls
    backup["size"] = sum(c.get("size") or 0 for c in colls)
    return backup


def read_backup(store, name):
    """The backup ``name`` (its folder may not exist: check ``.exists``; may not be a backup: ``.is_backup``)."""
    return StoredBackup(store, layout.validate_backup_name(name)).load()


def summary_for_failure(store, name):
    """The ``backup`` of a failed run's result: its summary, or only its name when the storage cannot be read."""
    try:
        return read_backup(store, name).summary()
    except Exception:  # pylint: disable=broad-except
        return dict(name=name)


def scan(store, name_pattern="*"):
    """(backups, not_backups) under the backup root whose names match ``name_pattern``.

    ``backups``: summaries of the folders with markers, newest first (by backup time, then name); one that
    cannot be read or interpreted is listed with status ``unreadable`` or ``corrupt`` and its problem, and the
    others are listed as usual. ``not_backups``: ``{name, location, reason}`` of the other folders, which
    nothing here reads further or deletes. The pattern is applied first: excluded folders are not read at all.
    """
    summaries, others = [], []
    for name in store.list_dirs(root_prefix(store)):
        if not fnmatch.fnmatchcase(name, name_pattern or "*"):
            continue
        location = store.url(store.key(name) + "/")
        if not layout.BACKUP_NAME_RE.fullmatch(name):
            others.append(dict(name=name, location=location,
                               reason="not a backup name (letters, digits and underscores, not starting with a digit)"))
            continue
        backup = StoredBackup(store, name)
        try:
            if not marker_keys(store, name):
                others.append(dict(name=name, location=location, reason=NOT_A_BACKUP))
                continue
            backup.load()
            if not backup.exists:
                continue  # deleted since the folder was listed
            if backup.status == STATUS_NOT_BACKUP:
                others.append(dict(name=name, location=location, reason=NOT_A_BACKUP))
                continue
            summaries.append(backup.summary())
        except VectoropsError as exc:
            backup.exists = True
            backup._unreadable("it could not be read: %s" % exc.message)  # pylint: disable=protected-access
            summaries.append(backup.summary())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Content the schema checks did not foresee: one odd backup must not hide every other one.
            backup.exists, backup.status, backup.manifest, backup.full_meta = True, STATUS_CORRUPT, None, None
            backup.problems = ["its metadata could not be interpreted (%s: %s)" % (type(exc).__name__, exc)]
            summaries.append(backup.summary())
    summaries.sort(key=lambda s: (_text(s["backup_time"]) or _text(s["created_at"]) or "", s["name"]), reverse=True)
    return summaries, others


def list_backups(store, name_pattern="*"):
    """Every backup under the backup root, newest first (see :func:`scan`)."""
    return scan(store, name_pattern)[0]


def require_complete(store, name):
    """The complete backup ``name``, or a NotFoundError/VectoropsError that says what is wrong."""
    backup = read_backup(store, name)
    if not backup.exists:
        raise NotFoundError("backup %r does not exist under %s" % (name, store.url(root_prefix(store))))
    problems = "; ".join(backup.problems)
    if backup.status == STATUS_NOT_BACKUP:
        raise NotFoundError("%s is not a backup: %s" % (store.url(backup.paths.prefix), NOT_A_BACKUP))
    if backup.status == STATUS_CORRUPT:
        raise VectoropsError("backup %r is corrupt: %s. Inspect it (milvus_backup_info name=%s), and delete it with "
                             "milvus_backup state=absent if it cannot be repaired" % (name, problems, name),
                             reason="corrupt")
    if backup.status == STATUS_UNREADABLE:
        if backup.read_error is not None:
            raise backup.read_error  # the storage's own error (access denied, unreachable, ...), its type kept
        raise VectoropsError("backup %r could not be read: %s" % (name, problems), reason="unreadable")
    if backup.status == STATUS_DELETING:
        raise VectoropsError("backup %r is being deleted or its deletion was interrupted: %s" % (name, problems),
                             reason="deleting")
    if not backup.complete:
        raise VectoropsError("backup %r is incomplete (no COMPLETE marker: interrupted or still running); "
                             "run milvus_backup again with the same name to finish it, or delete it with "
                             "state=absent" % name)
    return backup


def check_deletable(backup):
    """Raise unless ``backup`` (loaded) may be deleted: never a folder that is not a backup, never one whose
    content could not be read (a transient error must not cost a backup; run again)."""
    if backup.status == STATUS_NOT_BACKUP:
        raise VectoropsError("%s is not a backup: %s; nothing was deleted"
                             % (backup.store.url(backup.paths.prefix), NOT_A_BACKUP), reason="not_a_backup")
    if backup.status == STATUS_UNREADABLE:
        raise VectoropsError("backup %r was not deleted: %s. Run again once the storage answers"
                             % (backup.name, "; ".join(backup.problems)), reason="unreadable")


def delete_backup(store, name, expected_status=None):
    """Delete a backup folder so that an interrupted deletion is finished by the next one, and never reads as
    complete: ``.vectorops/DELETING`` first, then the completion markers (``COMPLETE``,
    ``meta/backup_meta.json``), then the data, then the other markers, ``DELETING`` last.

    Refuses a folder that is not a backup, one that cannot be read, and (``expected_status``) one whose status
    changed since a caller decided to delete it.
    """
    backup = StoredBackup(store, layout.validate_backup_name(name)).load()
    paths = backup.paths
    if not backup.exists:
        return dict(objects=0, bytes=0)
    check_deletable(backup)
    if expected_status is not None and backup.status != expected_status:
        raise VectoropsError("backup %r is %s now, not %s as when it was decided to delete it; not deleted (run "
                             "again)" % (name, backup.status, expected_status), reason="changed")
    objects = [backup.listed[rel] for rel in sorted(backup.listed)]
    store.write(paths.key(layout.DELETING), json.dumps(dict(
        started_at=layout.iso(layout.utcnow()), host=socket.gethostname(), pid=os.getpid(),
        status=backup.status, objects=len(objects)), indent=1, sort_keys=True).encode("utf-8"))
    present = set(backup.listed)
    completion = [paths.key(rel) for rel in (layout.COMPLETE, layout.BACKUP_META) if rel in present]
    if completion:
        store.delete(completion)
    data = [paths.key(rel) for rel in sorted(present) if not is_marker(rel)]
    if data:
        store.delete(data)
    rest = [paths.key(rel) for rel in sorted(present)
            if is_marker(rel) and rel not in (layout.COMPLETE, layout.BACKUP_META, layout.DELETING)]
    if rest:
        store.delete(rest)
    store.delete([paths.key(layout.DELETING)])
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
        if len(parts) >= 6 and parts[0] == layout.BINLOGS and parts[2] == str(coll["id"]) and parts[5].isdigit():
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
        segments.append(dict(id=seg["segment_id"], partition_id=pid, num_rows=seg.get("num_of_rows") or 0,
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
