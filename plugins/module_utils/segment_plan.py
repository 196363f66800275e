# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What a binlog backup copies (pure): the flushed segments and their binlog objects, planned from the listing
of Milvus's bucket (or from the logs Milvus's meta names), and the checks that refuse segments a restore could
not import whole. binlog_format.BinlogBackup does the listing and the copy; this decides.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vectorops.milvus.plugins.module_utils import layout
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError

SHORT_COLUMN_GROUP = 0  # storage v2: the column group holding RowID, Timestamp and the primary key


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


UNFINISHED_STATES = ("Growing", "Sealed", "Flushing")


def segments_at_cut(cut_ids, listed, insert_objects, delta_objects):
    """The segments that held the collection at its cut, and those whose binlogs are gone: pure.

    ``cut_ids`` are the segments Milvus's Flush named (sealed by it, or flushed before it: its response's
    ``coll_segIDs`` and ``flush_coll_segIDs``); ``listed`` is ``{id: info}`` of the segments listed now. A
    segment compaction has replaced since the cut is not listed any more (or is Dropped), but its binlogs stay
    in the bucket until garbage collection: its info is rebuilt from them (``num_rows`` None: the caller counts
    them), because the segment that replaced it has applied deletes written after the cut. Segments listed now
    that the flush did not name (compaction results, segments of rows written after the cut) are left out.
    Returns ``({id: info}, [ids whose binlogs are gone])``.
    """
    def most_common(values, default):
        return max(set(values), key=values.count) if values else default

    default_level = most_common([i["level"] for i in listed.values() if i.get("level") not in (None, "L0")], "Legacy")
    default_version = most_common([int(i.get("storage_version") or 0) for i in listed.values()], 0)
    partitions = {}
    has_insert = set()
    for obj in insert_objects:
        match = layout.INSERT_LOG_RE.match(obj.key)
        if match:
            partitions.setdefault(int(match.group(4)), int(match.group(3)))
            has_insert.add(int(match.group(4)))
    for obj in delta_objects:
        match = layout.DELTA_LOG_RE.match(obj.key)
        if match:
            partitions.setdefault(int(match.group(4)), int(match.group(3)))
    result, gone = {}, []
    for sid in sorted(cut_ids):
        info = listed.get(sid)
        if info is not None and info.get("state") != "Dropped":
            result[sid] = info
        elif sid in partitions:
            result[sid] = dict(id=sid, partition_id=partitions[sid], num_rows=None, state="Dropped",
                               level=default_level if sid in has_insert else "L0",
                               storage_version=default_version, channel="")
        else:
            gone.append(sid)
    return result, gone


def segment_files(segments, insert_objects, delta_objects):
    """``{segment id: SegmentFiles}`` of the flushed ``segments`` (``{id: info}``, as CollectionReader describes
    them), each with the listed insert logs (by field or column group) and delta logs that belong to it.

    ``insert_objects``/``delta_objects`` are the listings (storage.ObjectInfo) of the collection's
    ``insert_log/<collection id>/`` and ``delta_log/<collection id>/``; objects of other segments (growing ones,
    segments compacted away) and keys that are not binlogs are left out."""
    files = dict((sid, SegmentFiles(info)) for sid, info in segments.items())
    for obj in insert_objects:
        match = layout.INSERT_LOG_RE.match(obj.key)
        if match and int(match.group(4)) in files:
            files[int(match.group(4))].insert.setdefault(int(match.group(5)), []).append(obj)
    for obj in delta_objects:
        match = layout.DELTA_LOG_RE.match(obj.key)
        if match and int(match.group(4)) in files:
            files[int(match.group(4))].delta.append(obj)
    return files


def check_segments(files, field_ids, log_source, label, insert_log_url):
    """Raise ConsistencyError for the first segment that cannot be backed up as it is: rows but no insert logs
    (``milvus_storage`` is not Milvus's bucket), or a segment_file_problem. L0 segments hold deletes only.
    ``log_source`` is ``listing`` or ``rest`` (how the logs were found); ``insert_log_url`` names the listed
    prefix in the message."""
    for seg in files.values():
        if seg.level == "L0":
            continue
        if seg.num_rows and not seg.insert:
            raise ConsistencyError(
                "segment %d of %s has %d rows but no insert logs under %s: milvus_storage.bucket/root_path do "
                "not match Milvus's storage" % (seg.id, label, seg.num_rows, insert_log_url))
        problem = segment_file_problem(seg.storage_version, field_ids,
                                       dict((k, len(v)) for k, v in seg.insert.items())) if seg.num_rows else None
        if problem:
            if log_source == "listing" and "inconsistent binlogs" in problem:
                problem += ("; Milvus 2.5.8+ names each segment's binlogs through its REST API "
                            "(segment_logs=auto or rest), which leaves orphans out")
            raise ConsistencyError("segment %d of %s %s; nothing was marked complete" % (seg.id, label, problem))
