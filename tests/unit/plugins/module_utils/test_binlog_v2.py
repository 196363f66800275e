"""Storage v2 (Milvus 2.6) segments: what a backup measures from their packed Parquet files.

Milvus >= 2.4 cannot run here, so the files are written with pyarrow the way milvus-storage writes a
column group (milvus-io/milvus ``internal/storagev2/packed`` writer; ``PARQUET:field_id`` on every
column, file key-value metadata ``group_field_id_list``/``storage_version``): group 0 holds RowID (0),
Timestamp (1) and the primary key, the vector gets its own group named by its field id. v2 delta logs
are Parquet ``pk``/``ts`` (zilliztech/milvus-backup ``internal/l0compact/parquet.go WriteParquetPKTs``).
A backup reads the primary keys and timestamps from group 0 and must count exactly what a restore at
the cut brings back.
"""

import io
import types

import pyarrow
from pyarrow import parquet

from ansible_collections.vectorops.milvus.plugins.module_utils import binlog, binlog_format, fingerprint, layout, segment_plan, storage

CUT = layout.compose_ts(1764000000000)


def packed(columns, group_fields):
    """A Parquet file shaped like a milvus-storage column group: {field id: (arrow type, values)}."""
    fields = [pyarrow.field(str(fid), kind, metadata={b"PARQUET:field_id": str(fid).encode()})
              for fid, (kind, _values) in sorted(columns.items())]
    schema = pyarrow.schema(fields, metadata={b"group_field_id_list": ",".join(map(str, group_fields)).encode(),
                                              b"storage_version": b"2"})
    table = pyarrow.table([pyarrow.array(v, type=k) for _fid, (k, v) in sorted(columns.items())], schema=schema)
    out = io.BytesIO()
    parquet.write_table(table, out)
    return out.getvalue()


def delta(records):
    out = io.BytesIO()
    parquet.write_table(pyarrow.table({"pk": [pk for pk, _ts in records], "ts": [ts for _pk, ts in records]}), out)
    return out.getvalue()


def group0(pks, timestamps):
    return packed({0: (pyarrow.int64(), list(range(len(pks)))), 1: (pyarrow.int64(), timestamps),
                   100: (pyarrow.int64(), pks)}, [0, 1, 100])


def test_group_zero_gives_primary_keys_and_timestamps():
    before, after = CUT - (5 << 18), CUT + (5 << 18)
    data = group0([1, 2, 3], [before, before, after])
    assert binlog.read_columns(data, [100, 1]) == {100: [1, 2, 3], 1: [before, before, after]}
    assert binlog.delete_records(delta([(2, before)])) == [(2, before)]


def test_a_v2_segment_is_measured_from_its_column_group_files(tmp_path):
    """The engine's own segment reader over a v2 segment stored in a backup: 4 rows, one written after the
    cut, one deleted before it -> 2 live rows at the cut (a v1 reader would have found no field 100 and
    claimed 0 rows)."""
    store = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))
    paths = layout.BackupPaths(store, "b1")
    before, after = CUT - (5 << 18), CUT + (5 << 18)
    seg = segment_plan.SegmentFiles(dict(id=7, partition_id=2, num_rows=4, level="L1", storage_version=2))
    seg.insert = {0: [storage.ObjectInfo("files/insert_log/1/2/7/0/11", 1, None)],
                  101: [storage.ObjectInfo("files/insert_log/1/2/7/101/12", 1, None)]}
    seg.delta = [storage.ObjectInfo("files/delta_log/1/2/7/13", 1, None)]
    store.write(paths.key(paths.insert_log(1, 2, 7, 0, 11)), group0([1, 2, 3, 4], [before, before, before, after]))
    # a delete is newer than the row it deletes (at the same timestamp it is an upsert's, which keeps the row)
    store.write(paths.key(paths.delta_log(1, 2, 7, 13)), delta([(2, before + 1)]))
    plan = types.SimpleNamespace(desc=dict(id=1), segments={7: seg}, label="default.docs")
    job = types.SimpleNamespace(store=store, paths=paths)
    contents = binlog_format.BinlogBackup._segment_contents(job, plan, 100)  # pylint: disable=protected-access
    measured = fingerprint.cut_fingerprint(contents, CUT, {2: "_default"})
    assert measured["count"] == 2
    assert measured["collection"] == fingerprint.cut_fingerprint(
        [(2, iter([([1, 3], [before, before])]), [])], CUT, {2: "_default"})["collection"]


def test_l0_deletes_of_the_partition_and_of_the_collection_apply_to_every_segment(tmp_path):
    """Milvus 2.4+ L0 segments hold deletes only: a partition L0 applies to that partition's segments, a
    collection-wide one (partition -1) to all; a backup that ignored them would claim deleted rows."""
    store = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))
    paths = layout.BackupPaths(store, "b1")
    before = CUT - (5 << 18)
    data = {}
    for sid, part, pks in ((7, 2, [1, 2, 3]), (8, 3, [4, 5])):
        seg = segment_plan.SegmentFiles(dict(id=sid, partition_id=part, num_rows=len(pks), level="L1", storage_version=2))
        seg.insert = {0: [storage.ObjectInfo("files/insert_log/1/%d/%d/0/11" % (part, sid), 1, None)]}
        store.write(paths.key(paths.insert_log(1, part, sid, 0, 11)), group0(pks, [before] * len(pks)))
        data[sid] = seg
    for sid, part, records in ((20, 2, [(1, before + 1)]), (21, -1, [(3, before + 1), (5, before + 1)])):
        seg = segment_plan.SegmentFiles(dict(id=sid, partition_id=part, num_rows=0, level="L0"))
        seg.delta = [storage.ObjectInfo("files/delta_log/1/%d/%d/30" % (part, sid), 1, None)]
        store.write(paths.key(paths.delta_log(1, part, sid, 30)), delta(records))
        data[sid] = seg
    plan = types.SimpleNamespace(desc=dict(id=1), segments=data, label="default.docs")
    job = types.SimpleNamespace(store=store, paths=paths)
    measured = fingerprint.cut_fingerprint(binlog_format.BinlogBackup._segment_contents(job, plan, 100),  # pylint: disable=protected-access
                                           CUT, {2: "_default", 3: "p3"})
    assert measured["count"] == 2  # 2 and 4 are left
    assert measured["partitions"]["_default"]["count"] == 1 and measured["partitions"]["p3"]["count"] == 1


def test_a_2_6_bucket_is_planned_object_by_object(tmp_path):
    """GetPersistentSegmentInfo answers as Milvus 2.6 gives them (level, storage_version, partition -1 for
    collection-wide L0; milvus-io/milvus internal/proxy/impl.go GetPersistentSegmentInfo) over a bucket laid
    out as 2.6 writes it (insert_log/C/P/S/<column group>/<log>, delta_log/C/<P or -1>/S/<log>): every
    object is planned, and each lands at milvus-backup's key (binlogs/insert_log/C/P/S/S/<group>/<log>)."""
    milvus = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path / "m")}, "b", "files",
                                                         True))
    keys = ["insert_log/1/2/7/0/11", "insert_log/1/2/7/101/12", "delta_log/1/2/7/13",
            "delta_log/1/2/20/30", "delta_log/1/-1/21/31", "insert_log/1/2/99/0/1"]  # 99: not flushed, not planned
    for key in keys:
        milvus.write(milvus.key(key), b"x")
    segments = {7: dict(id=7, partition_id=2, num_rows=4, level="L1", storage_version=2, channel="dml_0_1v0"),
                20: dict(id=20, partition_id=2, num_rows=0, level="L0", storage_version=2, channel="dml_0_1v0"),
                21: dict(id=21, partition_id=-1, num_rows=0, level="L0", storage_version=2, channel="dml_0_1v0")}
    desc = dict(id=1, schema=dict(fields=[dict(field_id=100), dict(field_id=101)]))
    plan = types.SimpleNamespace(desc=desc, label="default.docs")
    job = types.SimpleNamespace(milvus_store=milvus, _list_segments=None, _uses_segment_describe=lambda: False)
    binlog_format.BinlogBackup._plan_segments(job, plan, segments)  # pylint: disable=protected-access
    paths = layout.BackupPaths(milvus, "b1")
    planned = sorted(rel for seg in plan.segments.values() for _src, rel, _size in seg.tasks(paths, 1))
    assert planned == sorted([
        "binlogs/insert_log/1/2/7/7/0/11", "binlogs/insert_log/1/2/7/7/101/12", "binlogs/delta_log/1/2/7/7/13",
        "binlogs/delta_log/1/2/20/20/30", "binlogs/delta_log/1/-1/21/21/31"])
    assert plan.segments[7].storage_version == 2 and plan.segments[21].channel == "dml_0_1v0"
