"""Binlogs named by Milvus (REST ``segments/describe``, Milvus >= 2.5.8) instead of listed from its bucket.

No Milvus >= 2.5.8 can run here (2.3.5 has no REST v2 API), so the proxy's answer comes from a loopback
HTTP server -- a test double -- shaped as milvus-backup reads it
(zilliztech/milvus-backup ``internal/client/milvus/restful.go`` ``RestfulClient.GetSegmentInfo``,
``getSegmentInfoReq``/``getSegmentInfoResp``/``SegmentInfo``/``BinlogInfo``: ``POST
/v2/vectordb/segments/describe {dbName, collectionId, segmentIds:[id]}`` -> ``{code: 0, data:
{segmentInfos: [{segmentID, insertLogs: [{fieldID, logIDs}], deltaLogs, vChannel, ...}]}}``, auth
``Bearer user:password``), and the selection follows ``core/backup/coll_dml_task.go``
``getSegment``/``getSegmentInfoByAPI``/``listInsertLogByAPI``/``listDeltaLogByAPI`` (named logs
only; a named log missing from the bucket fails; the listing is the fallback when the API fails;
feature flag ``GetSegmentInfo`` is ``>= 2.5.8`` in ``internal/client/milvus/grpc.go``).
"""

import types

import pytest

from fake_milvus_rest import FakeProxy

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, binlog_format, segment_plan, storage
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError, MilvusOperationError

CID = 1001
FIELDS = [dict(field_id=100), dict(field_id=101)]


def obj(key):
    return storage.ObjectInfo(key, 10, None)


def test_only_named_logs_are_kept_and_orphans_reported():
    """Segment 7: field 101 has an orphan (log 99, an upload retry); the delta dir has one too."""
    insert = {0: [obj("f/insert_log/1/2/7/0/11")], 1: [obj("f/insert_log/1/2/7/1/11")],
              100: [obj("f/insert_log/1/2/7/100/11")],
              101: [obj("f/insert_log/1/2/7/101/11"), obj("f/insert_log/1/2/7/101/99")]}
    delta = [obj("f/delta_log/1/2/7/12"), obj("f/delta_log/1/2/7/98")]
    described = dict(insertLogs=[dict(fieldID=f, logIDs=[11]) for f in (0, 1, 100, 101)],
                     deltaLogs=[dict(fieldID=0, logIDs=[12])])
    named, deltas, orphans = segment_plan.logs_named_by_milvus(described, insert, delta)
    assert sorted(named) == [0, 1, 100, 101] and [o.key for o in named[101]] == ["f/insert_log/1/2/7/101/11"]
    assert [o.key for o in deltas] == ["f/delta_log/1/2/7/12"]
    assert orphans == ["f/insert_log/1/2/7/101/99", "f/delta_log/1/2/7/98"]
    # the orphan-free selection passes the file-count check the listing failed
    assert segment_plan.segment_file_problem(1, [100, 101], dict((k, len(v)) for k, v in insert.items()))
    assert segment_plan.segment_file_problem(1, [100, 101], dict((k, len(v)) for k, v in named.items())) is None


def test_storage_v2_column_groups_and_l0_delta_only_segments():
    """2.6: the fieldID of insertLogs is the column group (0, or a large field's id); L0: deltas only."""
    insert = {0: [obj("f/insert_log/1/2/7/0/21"), obj("f/insert_log/1/2/7/0/22")],
              101: [obj("f/insert_log/1/2/7/101/23"), obj("f/insert_log/1/2/7/101/24")]}
    described = dict(insertLogs=[dict(fieldID=0, logIDs=[22, 21]), dict(fieldID=101, logIDs=[24, 23])])
    named, deltas, orphans = segment_plan.logs_named_by_milvus(described, insert, [])
    assert [o.key.rsplit("/", 1)[1] for o in named[0]] == ["21", "22"] and deltas == [] and orphans == []
    named, deltas, orphans = segment_plan.logs_named_by_milvus(
        dict(insertLogs=[], deltaLogs=[dict(logIDs=[31])]), {}, [obj("f/delta_log/1/-1/8/31")])
    assert named == {} and [o.key for o in deltas] == ["f/delta_log/1/-1/8/31"] and orphans == []


def test_a_named_log_missing_from_the_bucket_fails():
    with pytest.raises(ConsistencyError, match="Milvus names insert log 12 of field/column group 100, which is not"):
        segment_plan.logs_named_by_milvus(dict(insertLogs=[dict(fieldID=100, logIDs=[11, 12])]),
                                          {100: [obj("f/insert_log/1/2/7/100/11")]}, [])
    with pytest.raises(ConsistencyError, match="Milvus names delta log 5"):
        segment_plan.logs_named_by_milvus(dict(deltaLogs=[dict(fieldID=0, logIDs=[5])]), {}, [])


def bucket_with_orphan(tmp_path):
    """Milvus's bucket (local store) with segment 7 of collection 1001: one log per field, plus an orphan
    insert log 99 in field 101 (a DataNode upload retry)."""
    cfg = storage.normalize_config({"type": "local", "path": str(tmp_path / "milvus")}, "milvus_storage", "files", True)
    milvus_store = storage.open_store(cfg)
    for field in (0, 1, 100, 101):
        milvus_store.write(milvus_store.key("insert_log", CID, 2, 7, field, 11), b"x" * 10)
    milvus_store.write(milvus_store.key("insert_log", CID, 2, 7, 101, 99), b"x" * 10)
    backup_cfg = storage.normalize_config({"type": "local", "path": str(tmp_path / "backup")}, "backup_storage", "backup",
                                          True)
    backup_store = storage.open_store(backup_cfg)
    return milvus_store, backup_store


def job_for(tmp_path, version, rest_uri, segment_logs="auto"):
    milvus_store, backup_store = bucket_with_orphan(tmp_path)
    conn = types.SimpleNamespace(full_uri="http://127.0.0.1:1", timeout=5, server_version=lambda: version,
                                 params=dict(user="root", password="Milvus"))
    warnings = []
    job = binlog_format.BinlogBackup(backup.BackupJob(
        conn, milvus_store, backup_store, dict(name="b1", rest_uri=rest_uri, segment_logs=segment_logs),
        warn=warnings.append))
    plan = backup.CollectionPlan(dict(id=CID, db_name="default", name="docs", schema=dict(fields=FIELDS)), "t")
    segments = {7: dict(id=7, partition_id=2, num_rows=5, level="L1", storage_version=0)}
    return job, plan, segments, warnings


SEGMENT_7 = dict(segmentID=7, collectionID=CID, partitionID=2, numRows=5, level=1, vChannel="by-dev-rootcoord-dml_0",
                 insertLogs=[dict(fieldID=f, logIDs=[11]) for f in (0, 1, 100, 101)], deltaLogs=[])


def test_milvus_2_5_8_names_the_logs_and_the_orphan_is_left_out(tmp_path):
    proxy = FakeProxy({7: SEGMENT_7})
    try:
        job, plan, segments, warnings = job_for(tmp_path, "v2.5.8", proxy.uri)
        job._plan_segments(plan, segments)  # pylint: disable=protected-access
    finally:
        proxy.close()
    assert proxy.requests == [("/v2/vectordb/segments/describe", "Bearer root:Milvus",
                               dict(dbName="default", collectionId=CID, segmentIds=[7]))]
    assert plan.log_source == "rest" and warnings == []
    assert [o.key.rsplit("/", 2)[1:] for o in plan.segments[7].insert[101]] == [["101", "11"]]
    assert plan.orphans == ["files/insert_log/%d/2/7/101/99" % CID]


def test_before_2_5_8_the_bucket_is_listed_and_the_orphan_fails_loudly(tmp_path):
    proxy = FakeProxy({7: SEGMENT_7})
    try:
        job, plan, segments, _warnings = job_for(tmp_path, "v2.5.7", proxy.uri)
        with pytest.raises(ConsistencyError, match=r"inconsistent binlogs .*Milvus 2.5.8\+ names each segment's"):
            job._plan_segments(plan, segments)  # pylint: disable=protected-access
    finally:
        proxy.close()
    assert proxy.requests == []


def test_auto_falls_back_to_listing_with_a_warning_when_the_api_does_not_answer(tmp_path):
    proxy = FakeProxy({}, status=404)
    try:
        job, plan, segments, warnings = job_for(tmp_path, "v2.6.3", proxy.uri)
        with pytest.raises(ConsistencyError, match="inconsistent binlogs"):
            job._plan_segments(plan, segments)  # pylint: disable=protected-access
    finally:
        proxy.close()
    assert len(proxy.requests) == 1 and plan.log_source == "listing"
    assert len(warnings) == 1 and "answered HTTP 404" in warnings[0] and "rest_uri" in warnings[0]
    assert "Milvus" + ":" not in warnings[0]  # the password never appears


def test_rest_required_fails_when_the_api_does_not_answer(tmp_path):
    proxy = FakeProxy({}, status=404)
    try:
        job, plan, segments, _warnings = job_for(tmp_path, "v2.3.5", proxy.uri, segment_logs="rest")
        with pytest.raises(MilvusOperationError, match="segment_logs=rest, but Milvus's REST API did not describe"):
            job._plan_segments(plan, segments)  # pylint: disable=protected-access
    finally:
        proxy.close()


def test_listing_never_calls_the_api(tmp_path):
    proxy = FakeProxy({7: SEGMENT_7})
    try:
        job, plan, segments, _warnings = job_for(tmp_path, "v2.6.8", proxy.uri, segment_logs="listing")
        with pytest.raises(ConsistencyError):
            job._plan_segments(plan, segments)  # pylint: disable=protected-access
    finally:
        proxy.close()
    assert proxy.requests == []


def test_a_named_log_absent_from_the_bucket_names_the_segment(tmp_path):
    answer = dict(SEGMENT_7, insertLogs=SEGMENT_7["insertLogs"] + [dict(fieldID=100, logIDs=[12])])
    proxy = FakeProxy({7: answer})
    try:
        job, plan, segments, _warnings = job_for(tmp_path, "v2.5.8", proxy.uri)
        with pytest.raises(ConsistencyError, match="segment 7 of default.docs: Milvus names insert log 12"):
            job._plan_segments(plan, segments)  # pylint: disable=protected-access
    finally:
        proxy.close()
