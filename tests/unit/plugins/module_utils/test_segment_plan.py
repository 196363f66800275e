"""segment_plan: which binlog objects a backup copies per flushed segment, planned from a bucket listing (pure).

The listings are written as Milvus 2.3-2.5 lays the bucket out (``<root>/insert_log/<collection>/<partition>/
<segment>/<field>/<log id>``, ``<root>/delta_log/<collection>/<partition>/<segment>/<log id>``; milvus-io/milvus
``pkg/util/metautil/binlog.go`` ``BuildInsertLogPath``/``BuildDeltaLogPath``), so no server is needed.
"""

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import segment_plan, storage
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError

FIELD_IDS = [100, 101]


def info(sid, rows, level="L1", storage_version=1, partition=2):
    return dict(id=sid, partition_id=partition, num_rows=rows, level=level, storage_version=storage_version)


def inserts(sid, fields=(0, 1, 100, 101), logs=(11,), partition=2):
    return [storage.ObjectInfo("files/insert_log/1/%d/%d/%d/%d" % (partition, sid, f, log), 10, None)
            for f in fields for log in logs]


def test_objects_are_grouped_by_segment_and_field_and_others_left_out():
    segments = {7: info(7, 100), 8: info(8, 0, level="L0", partition=-1)}
    listing = inserts(7, logs=(11, 12)) + inserts(9) + [storage.ObjectInfo("files/insert_log/1/2/7/stats", 1, None)]
    deltas = [storage.ObjectInfo("files/delta_log/1/2/7/13", 5, None), storage.ObjectInfo("files/delta_log/1/-1/8/31", 5, None),
              storage.ObjectInfo("files/delta_log/1/2/9/14", 5, None)]
    files = segment_plan.segment_files(segments, listing, deltas)
    assert sorted(files) == [7, 8], "segment 9 is not flushed (or was compacted away): not planned"
    assert sorted(files[7].insert) == [0, 1, 100, 101] and [len(v) for v in files[7].insert.values()] == [2, 2, 2, 2]
    assert [o.key for o in files[7].delta] == ["files/delta_log/1/2/7/13"]
    assert files[8].insert == {} and [o.key for o in files[8].delta] == ["files/delta_log/1/-1/8/31"]
    assert files[7].size == 8 * 10 + 5
    segment_plan.check_segments(files, FIELD_IDS, "listing", "default.c", "s3://b/files/insert_log/1")


def test_rows_without_insert_logs_mean_the_wrong_bucket():
    files = segment_plan.segment_files({7: info(7, 100)}, [], [])
    with pytest.raises(ConsistencyError, match=r"segment 7 of default.c has 100 rows but no insert logs under "
                                               r"s3://b/files/insert_log/1: milvus_storage.bucket/root_path"):
        segment_plan.check_segments(files, FIELD_IDS, "listing", "default.c", "s3://b/files/insert_log/1")


@pytest.mark.parametrize("log_source,hint", [("listing", True), ("rest", False)])
def test_an_orphan_log_fails_the_plan_and_the_listing_says_how_to_avoid_it(log_source, hint):
    """An upload retry left a second log for field 101 (milvus-backup #635): file counts differ."""
    listing = inserts(7) + inserts(7, fields=(101,), logs=(99,))
    files = segment_plan.segment_files({7: info(7, 100)}, listing, [])
    with pytest.raises(ConsistencyError, match="segment 7 of default.c has inconsistent binlogs") as raised:
        segment_plan.check_segments(files, FIELD_IDS, log_source, "default.c", "s3://b/x")
    assert ("Milvus 2.5.8+ names each segment's binlogs through its REST API" in raised.value.message) is hint
    assert raised.value.message.endswith("nothing was marked complete")


def test_storage_v2_and_v3_segments():
    """2.6 storage v2: column group 0 plus large fields' groups passes; v3 (3.0) is refused."""
    v2 = segment_plan.segment_files({7: info(7, 100, storage_version=2)}, inserts(7, fields=(0, 101)), [])
    segment_plan.check_segments(v2, FIELD_IDS, "rest", "default.c", "s3://b/x")
    v3 = segment_plan.segment_files({7: info(7, 100, storage_version=3)}, inserts(7, fields=(0,)), [])
    with pytest.raises(ConsistencyError, match="storage format v3"):
        segment_plan.check_segments(v3, FIELD_IDS, "rest", "default.c", "s3://b/x")


def test_empty_and_l0_segments_are_not_checked_for_insert_logs():
    """An L0 segment has delta logs only, whatever row count it reports; an empty segment has nothing. Both
    are planned and pass; an L1 segment with rows and no insert logs, the same listing otherwise, does not."""
    deltas = [storage.ObjectInfo("files/delta_log/1/-1/8/31", 5, None)]
    files = segment_plan.segment_files({7: info(7, 0), 8: info(8, 3, level="L0", partition=-1)}, [], deltas)
    assert sorted(files) == [7, 8] and files[7].insert == {} and files[8].insert == {}
    assert [o.key for o in files[8].delta] == ["files/delta_log/1/-1/8/31"]
    assert segment_plan.check_segments(files, FIELD_IDS, "listing", "default.c", "s3://b/x") is None
    as_l1 = segment_plan.segment_files({8: info(8, 3, partition=-1)}, [], deltas)
    with pytest.raises(ConsistencyError, match="segment 8 of default.c has 3 rows but no insert logs"):
        segment_plan.check_segments(as_l1, FIELD_IDS, "listing", "default.c", "s3://b/x")


def test_the_segments_at_the_cut_are_those_the_flush_named_compacted_or_not():
    """Compaction after the flush replaced segments 11 and 12 by 20, applying deletes written after the cut: the
    backup must copy 11 and 12 (their binlogs are still in the bucket), not 20; segment 21 holds rows written after
    the cut; segment 13, also named by the flush, has lost its binlogs to garbage collection."""
    def obj(key):
        return storage.ObjectInfo(key, 10, None)

    listed = {20: dict(id=20, partition_id=2, num_rows=90, state="Flushed", level="Legacy"),
              21: dict(id=21, partition_id=2, num_rows=5, state="Flushed", level="Legacy"),
              12: dict(id=12, partition_id=2, num_rows=50, state="Dropped", level="Legacy")}
    inserts = [obj("files/insert_log/1/2/%d/%d/7" % (sid, field)) for sid in (11, 12, 20, 21) for field in (0, 1)]
    deltas = [obj("files/delta_log/1/2/12/8"), obj("files/delta_log/1/3/14/9")]
    segments, gone = segment_plan.segments_at_cut({11, 12, 13, 14}, listed, inserts, deltas)
    assert sorted(segments) == [11, 12, 14] and gone == [13]
    assert segments[11] == dict(id=11, partition_id=2, num_rows=None, state="Dropped", level="Legacy",
                                storage_version=0, channel="")
    assert segments[12]["num_rows"] is None, "a Dropped segment's listed count is not trusted either"
    assert segments[14]["level"] == "L0" and segments[14]["partition_id"] == 3, "delete-only: an L0 segment"
    kept, _gone = segment_plan.segments_at_cut({20}, listed, inserts, deltas)
    assert kept == {20: listed[20]}
