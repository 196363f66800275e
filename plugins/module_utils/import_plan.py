# -*- coding: utf-8 -*-
# Copyright (c) 2026, vectorops.milvus contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Import requests a binlog restore sends, in which order: pure planning, no I/O.

One place decides, from the target server's version and each segment's level and storage version,
how every ``ImportRequest`` is shaped, following milvus-backup (``internal/client/milvus/grpc.go``
``GrpcBulkInsertInput``/``toGrpcPaths``; ``core/restore/coll_task.go`` ``restoreDataV1``,
``restorePartitionV1``, ``buildBackupPartitionDir``):

* data (L1 / legacy) segments: ``backup=true``; files ``[insert group dir, delta group dir]``. Without
  deletes, 2.3 needs an empty second path (``importutil/import_wrapper.go isBinlogImport``: exactly two
  paths, checked on 2.3.5 here), 2.4+ gets the insert dir alone (an empty path makes Milvus < 2.6.12
  list the bucket root, #47762); ``storage_version=N`` when the segment's is above 0;
* partition L0 segments: ``l0_import=true`` alone (with ``backup=true`` the proxy takes the backup
  branch and rejects an empty partition), files ``[delta dir]``, after that partition's data;
* collection-wide L0 (partition -1): ``l0_import=true`` with an empty partition name, last;
* ``skip_disk_quota_check=true`` on servers from 2.4.0 (older ones reject unknown options: not sent);
* ``end_ts``, the backup's cut, on every request when the backup has one: physical milliseconds below
  2.4 (``importutil/import_options.go ParseTSFromOptions`` composes them; checked on 2.3.5 here), a
  hybrid timestamp from 2.4 on (``importutilv2/option.go ParseTimeRange`` rejects a value that is not
  ``tsoutil.IsValidHybridTs``; milvus-backup's ``core/restore`` ``batch.options`` sends the hybrid TS).
  The earliest 2.4 ``importutilv2`` still composed physical ms; the row check after the import is the
  net for a server of that age (it fails, nothing is kept).

The import prefixes are *group* directories (``binlogs/insert_log/C/P/G/``): Milvus 2.4+ lists a
prefix one level deep and treats every child as a segment
(``internal/datacoord/import_util.go ListBinlogsAndGroupBySegment``); 2.3 listed recursively.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vectorops.milvus.plugins.module_utils.features import has_feature
from ansible_collections.vectorops.milvus.plugins.module_utils.layout import COLLECTION_WIDE, physical_ms

L0 = "L0"
STAGES = ("data", "partition_l0", "collection_l0")  # run one after the other; requests within a stage run concurrently


def is_l0(segment):
    return segment.get("level") == L0


def stage_of(segment):
    if not is_l0(segment):
        return "data"
    return "collection_l0" if int(segment["partition_id"]) == COLLECTION_WIDE else "partition_l0"


def since_2_4(version):
    return has_feature(version, "import_v2")


def base_options(version, cut_timestamp=None):
    """Options every request carries, as (key, value) pairs; ``cut_timestamp`` is a hybrid timestamp."""
    options = []
    if since_2_4(version):
        options.append(("skip_disk_quota_check", "true"))
    if cut_timestamp:
        end_ts = int(cut_timestamp) if since_2_4(version) else physical_ms(cut_timestamp)
        options.append(("end_ts", str(end_ts)))
    return options


def plan_imports(segments, partition_names, version, prefix="", cut_timestamp=None):
    """The Import requests for ``segments`` of one collection, grouped by stage.

    ``segments`` are catalog segments (``id``, ``partition_id``, ``level``, ``import_paths`` = (insert
    prefix, delta prefix or ""), optional ``storage_version``); ``partition_names`` maps a backed-up
    partition id to the name it has in the target; ``prefix`` is where Milvus finds the backup's keys
    (its staging prefix, or the backup's folder in its own bucket). Returns ``[(stage, [request])]`` in
    execution order, each request a dict ``segments``, ``partition_name``, ``files``, ``options``.
    Segments sharing import paths (milvus-backup groups, very old per-partition backups) are one request.
    """
    common = base_options(version, cut_timestamp)
    by_stage = dict((stage, []) for stage in STAGES)
    by_paths = {}
    for seg in sorted(segments, key=lambda s: (str(s["partition_id"]), int(s["id"]))):
        insert, delta = seg["import_paths"]
        stage = stage_of(seg)
        key = (stage, seg["partition_id"], insert, delta)
        if key in by_paths:
            by_paths[key]["segments"].append(seg["id"])
            continue
        if stage == "data":
            files = [prefix + insert] + ([prefix + delta] if delta else [] if since_2_4(version) else [""])
            options = [("backup", "true")] + common
            if int(seg.get("storage_version") or 0) > 0:
                options.append(("storage_version", str(int(seg["storage_version"]))))
        else:
            files = [prefix + delta]
            options = [("l0_import", "true")] + common
        partition = "" if stage == "collection_l0" else partition_names.get(seg["partition_id"], "")
        request = dict(segments=[seg["id"]], partition_name=partition, files=files, options=options)
        by_paths[key] = request
        by_stage[stage].append(request)
    return [(stage, by_stage[stage]) for stage in STAGES if by_stage[stage]]


def row_check_moment(segments):
    """When a restore can compare its row count with the backup's live rows.

    ``after_import``: the collection statistics (sum of segment rows, L1 deltas already applied by the
    binlog import) are the live rows. ``after_load``: the backup holds L0 segments, whose deletes stay
    in L0 until compaction, so the statistics still count deleted rows (datacoord
    ``meta.GetNumRowsOfCollection``) and only count(*) on the loaded collection is right.
    """
    return "after_load" if any(is_l0(s) for s in segments) else "after_import"


def unsupported_segments(segments):
    """Why these segments cannot be restored by binlog import, or None.

    Storage v3 (Milvus 3.0 Loon manifests, TEXT LOBs outside insert_log/): Milvus's own backup-mode
    import cannot read it (milvus-io/milvus#52930; ``storage_version=3`` is not enough).
    """
    v3 = sorted(s["id"] for s in segments if int(s.get("storage_version") or 0) >= 3)
    if v3:
        return "segments %s are in storage format v3, which Milvus's binlog import cannot read" % v3[:5]
    return None
