"""The Import requests a binlog restore sends, planned from backups shaped like each Milvus version's.

Milvus >= 2.4 cannot run here: the expected requests are those milvus-backup sends for the same
segments (zilliztech/milvus-backup ``core/restore/coll_task.go`` ``restoreDataV1`` /
``restorePartitionV1``: a partition's data, then its L0, then collection-wide L0 with an empty
partition; ``batch.options``: ``backup=true`` for data, ``l0_import=true`` alone for L0,
``skip_disk_quota_check``, ``end_ts`` as a hybrid timestamp, ``storage_version``;
``partitionDir.toPaths``: no empty second path), and each request is run through Milvus 2.4+'s
one-level listing rule (tests/milvus24_import_listing.py, from ``internal/datacoord/import_util.go
ListBinlogsAndGroupBySegment``) over the objects of the backup.
"""

import hashlib
import json

import types

import pytest

import milvus24_import_listing as listing

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, layout, storage
from ansible_collections.vectorops.milvus.plugins.module_utils.import_plan import plan_imports

COLL, P1, P2 = 451, 452, 453
FIELDS = [100, 101]  # pk, vector
CUT = layout.compose_ts(1764000000123)  # a backup cut: 2025-11-24, logical 0


def segment(seg, part, level="L1", deletes=False, storage_version=0, rows=10):
    return dict(id=seg, partition_id=part, num_rows=rows, level=level, storage_version=storage_version,
                delta_logs=1 if deletes or level == "L0" else 0)


def manifest_backup(tmp_path, segments, field_dirs=None):
    """A backup of ours on a local store: objects at milvus-backup's layout (group = segment)."""
    store = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))
    objects = []
    for seg in segments:
        part, sid = seg["partition_id"], seg["id"]
        if seg["level"] != "L0":
            for field in field_dirs or [0, 1] + FIELDS:
                objects.append("binlogs/insert_log/%d/%d/%d/%d/%d/%d" % (COLL, part, sid, sid, field, 9000 + field))
        if seg["delta_logs"]:
            objects.append("binlogs/delta_log/%d/%d/%d/%d/%d" % (COLL, part, sid, sid, 9999))
    for key in objects:
        store.write(store.key("b1", key), b"x")
    coll = dict(id=COLL, db_name="default", name="docs", schema={"fields": [{"fieldID": f} for f in FIELDS]},
                partitions=[dict(name="_default", id=P1), dict(name="p2", id=P2)], segments=segments,
                cut_timestamp=CUT)
    body = json.dumps({"backup": {"id": "1", "backup_time": "2026-01-01T00:00:00.000000Z", "milvus_version": "v2.6.3"},
                       "collections": [coll],
                       "objects": [dict(key=k, size=1, sha256="0" * 64) for k in objects]}).encode()
    store.write(store.key("b1", "manifest.json"), body)
    store.write(store.key("b1", "COMPLETE"), json.dumps({"manifest_sha256": hashlib.sha256(body).hexdigest()}).encode())
    backup = catalog.read_backup(store, "b1")
    return catalog.collections_of(backup)[0], ["binlogs/" + k.split("binlogs/", 1)[1] for k in objects]


def requests(src, version):
    names = dict((p["id"], p["name"]) for p in src["partitions"])
    return [(stage, r["partition_name"], r["files"], dict(r["options"]))
            for stage, batch in plan_imports(src["segments"], names, version, "stage/", src["cut_timestamp"])
            for r in batch]


def check_listing(keys, planned):
    """Every data request passes Milvus 2.4+'s one-level listing with all fields present."""
    staged = ["stage/" + k for k in keys]
    for stage, _partition, files, _options in planned:
        if stage == "data":
            assert listing.segments_of_request(staged, files, FIELDS)


def test_a_2_6_backup_with_v2_segments_and_both_kinds_of_l0_is_restored_as_milvus_backup_would(tmp_path):
    segs = [segment(11, P1, deletes=True, storage_version=2), segment(12, P1, storage_version=2),
            segment(21, P2, storage_version=2), segment(13, P1, level="L0"), segment(31, -1, level="L0")]
    src, keys = manifest_backup(tmp_path, segs)
    planned = requests(src, (2, 6, 3))
    data = {"backup": "true", "skip_disk_quota_check": "true", "end_ts": str(CUT), "storage_version": "2"}
    l0 = {"l0_import": "true", "skip_disk_quota_check": "true", "end_ts": str(CUT)}
    assert planned == [
        ("data", "_default", ["stage/binlogs/insert_log/451/452/11/", "stage/binlogs/delta_log/451/452/11/"], data),
        ("data", "_default", ["stage/binlogs/insert_log/451/452/12/"], data),
        ("data", "p2", ["stage/binlogs/insert_log/451/453/21/"], data),
        ("partition_l0", "_default", ["stage/binlogs/delta_log/451/452/13/"], l0),
        ("collection_l0", "", ["stage/binlogs/delta_log/451/-1/31/"], l0),
    ]
    check_listing(keys, planned)


def test_a_2_3_backup_keeps_what_2_3_accepts():
    """2.3.5 (the real stack): no skip_disk_quota_check, end_ts in physical ms, and always two paths, the
    second empty without deletes (milvus-io/milvus 2.3 internal/util/importutil/import_wrapper.go
    isBinlogImport: "paths count is not 2, not binlog import", then "unsupported file type")."""
    src = dict(partitions=[dict(id=P1, name="_default")], cut_timestamp=CUT, segments=[
        dict(id=5, partition_id=P1, level="Legacy", import_paths=("binlogs/insert_log/451/452/5/", ""))])
    assert requests(src, (2, 3, 5)) == [
        ("data", "_default", ["stage/binlogs/insert_log/451/452/5/", ""], {"backup": "true", "end_ts": "1764000000123"})]
    assert requests(src, (2, 4, 0))[0][2] == ["stage/binlogs/insert_log/451/452/5/"], "2.4+: no empty second path"


def test_segment_directories_as_prefixes_fail_the_one_level_listing(tmp_path):
    """What earlier releases sent (the segment dir .../S/S/): Milvus 2.4+ takes the field dirs for segments."""
    src, keys = manifest_backup(tmp_path, [segment(11, P1)])
    staged = ["stage/" + k for k in keys]
    with pytest.raises(ValueError, match="not a field directory"):
        listing.segments_of_request(staged, ["stage/binlogs/insert_log/451/452/11/11/"], FIELDS)
    with pytest.raises(ValueError, match="empty import path"):
        listing.segments_of_request(staged, ["stage/binlogs/insert_log/451/452/11/", ""], FIELDS)
    with pytest.raises(ValueError, match="no binlog for field:101"):
        listing.segments_of_request(staged[:-1], ["stage/binlogs/insert_log/451/452/11/"], FIELDS)
    assert listing.segments_of_request(staged, ["stage/binlogs/insert_log/451/452/11/"], FIELDS) == [
        ("stage/binlogs/insert_log/451/452/11/11/", None)]


def test_milvus_backup_groups_are_one_request_per_group():
    """milvus-backup backups: segments of one group share the group dir and go in one request."""
    group = ("binlogs/insert_log/1/2/77/", "binlogs/delta_log/1/2/77/")
    src = dict(partitions=[dict(id=2, name="_default")], cut_timestamp=None, segments=[
        dict(id=5, partition_id=2, level="L1", import_paths=group), dict(id=6, partition_id=2, level="L1",
                                                                         import_paths=group)])
    planned = plan_imports(src["segments"], {2: "_default"}, (2, 5, 4), "", None)
    assert [(stage, [r["segments"] for r in batch]) for stage, batch in planned] == [("data", [[5, 6]])]
    assert planned[0][1][0]["files"] == list(group)


def test_the_row_check_waits_for_a_loaded_collection_when_the_backup_holds_l0_deletes():
    """datacoord's row statistics (meta.GetNumRowsOfCollection) do not subtract L0 deletes: with L0
    segments the live rows are only right as count(*) after load."""
    from ansible_collections.vectorops.milvus.plugins.module_utils.import_plan import row_check_moment  # pylint: disable=import-outside-toplevel
    assert row_check_moment([segment(1, P1, deletes=True), segment(2, P1, level="Legacy")]) == "after_import"
    assert row_check_moment([segment(1, P1), segment(3, -1, level="L0")]) == "after_load"


def test_segment_files_are_checked_per_storage_version():
    """v1: a directory per field plus RowID/Timestamp, even file counts; v2 (2.6): column groups, group 0
    mandatory (Milvus internal/storage ColumnGroup, DefaultShortColumnGroupID = 0), large fields in groups
    named by field id; v3 (3.0): refused (milvus-io/milvus#52930)."""
    from ansible_collections.vectorops.milvus.plugins.module_utils.segment_plan import segment_file_problem  # pylint: disable=import-outside-toplevel
    assert segment_file_problem(0, FIELDS, {0: 2, 1: 2, 100: 2, 101: 2}) is None
    assert "missing fields [101]" in segment_file_problem(0, FIELDS, {0: 2, 1: 2, 100: 2})
    assert "different file counts" in segment_file_problem(0, FIELDS, {0: 2, 1: 2, 100: 2, 101: 3})
    assert segment_file_problem(2, FIELDS, {0: 1, 101: 1}) is None, "a 2.6 segment is no longer refused"
    assert "without column group 0" in segment_file_problem(2, FIELDS, {101: 1})
    assert "column groups [205]" in segment_file_problem(2, FIELDS, {0: 1, 205: 1})
    assert "storage format v3" in segment_file_problem(3, FIELDS, {0: 1})


def test_storage_v3_segments_are_refused():
    """Milvus 3.0 storage v3 (Loon manifests): backup-mode import cannot read it (milvus-io/milvus#52930)."""
    from ansible_collections.vectorops.milvus.plugins.module_utils.import_plan import unsupported_segments  # pylint: disable=import-outside-toplevel
    assert unsupported_segments([segment(1, P1, storage_version=2)]) is None
    assert "segments [9] are in storage format v3" in unsupported_segments([segment(1, P1), segment(9, P1, storage_version=3)])


def test_default_values_of_milvus_backup_backups_are_restored():
    """milvus-backup stores a field's default value as base64 of a ValueField (its core/restore/conv decodes
    it); dropping it changed the restored schema silently."""
    import base64  # pylint: disable=import-outside-toplevel
    from pymilvus.grpc_gen import schema_pb2  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.restore import RestoreJob  # pylint: disable=import-outside-toplevel
    encoded = base64.b64encode(schema_pb2.ValueField(long_data=7).SerializeToString()).decode()
    src = dict(schema={"name": "c", "fields": [{"fieldID": 100, "name": "pk", "data_type": 5, "is_primary_key": True},
                                               {"fieldID": 102, "name": "n", "data_type": 5,
                                                "default_value_base64": encoded}]})
    from ansible_collections.vectorops.milvus.plugins.module_utils.binlog_format import BinlogRestore  # pylint: disable=import-outside-toplevel
    job = types.SimpleNamespace(data=BinlogRestore(types.SimpleNamespace(conn=None, opts={}, backup=None)))
    schema = RestoreJob._schema(job, src, "c2")  # pylint: disable=protected-access
    assert schema.name == "c2" and schema.fields[1].default_value.long_data == 7
    assert not schema.fields[0].HasField("default_value")
