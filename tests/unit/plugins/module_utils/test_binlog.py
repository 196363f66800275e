"""Binlog reading and the cut rule, against binlogs Milvus 2.3.5 wrote (tests/unit/fixtures/binlogs-2.3.5).

The expected keys are what Milvus 2.3.5 itself restored from the same segment with the same
``end_ts`` (see the fixture's README): the reader and ``fingerprint.restored_keys`` must agree
with Milvus's import (``internal/util/importutil/binlog_adapter.go``), or a backup would claim
rows a restore does not bring back.
"""

import os
import struct

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import binlog, fingerprint, layout
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "binlogs-2.3.5")
BEFORE_SECOND_BATCH_MS = 1796142893800
AFTER_DELETES_MS = 1796142894804


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def segment():
    _d, pks = binlog.read_binlog(fixture("insert_field100.binlog"))
    _d, timestamps = binlog.read_binlog(fixture("insert_field1.binlog"))
    return pks, timestamps, binlog.delete_records(fixture("delta.binlog"))


def test_insert_logs_are_read_with_their_descriptor():
    descriptor, pks = binlog.read_binlog(fixture("insert_field100.binlog"))
    assert pks == list(range(150))
    assert descriptor["field_id"] == 100 and descriptor["data_type"] == 5  # Int64
    descriptor, timestamps = binlog.read_binlog(fixture("insert_field1.binlog"))
    assert descriptor["field_id"] == 1 and len(timestamps) == 150
    assert len(set(timestamps)) == 2, "two insert batches"
    assert descriptor["segment_id"] == binlog.read_binlog(fixture("insert_field100.binlog"))[0]["segment_id"]


def test_delta_logs_are_read_as_key_and_timestamp():
    records = binlog.delete_records(fixture("delta.binlog"))
    assert sorted(pk for pk, _ts in records) == [1, 2, 120]
    assert all(layout.physical_ms(ts) <= AFTER_DELETES_MS for _pk, ts in records)


@pytest.mark.parametrize("end_ms, expected", [
    (BEFORE_SECOND_BATCH_MS, set(range(100))),
    (AFTER_DELETES_MS, set(range(150)) - {1, 2, 120}),
])
def test_restored_keys_match_what_milvus_imported(end_ms, expected):
    pks, timestamps, deletes = segment()
    keys = list(fingerprint.restored_keys([(pks, timestamps)], deletes, layout.compose_ts(end_ms)))
    assert set(keys) == expected and len(keys) == len(expected)


def test_without_a_cut_every_row_not_deleted_is_restored():
    pks, timestamps, deletes = segment()
    assert set(fingerprint.restored_keys([(pks, timestamps)], deletes, None)) == set(range(150)) - {1, 2, 120}


# The rows and delete records Milvus 2.3.5 wrote for one segment of 5000 rows after key 7 was upserted twice and
# key 8 deleted and inserted again (timestamps as read from the backup of tests/faults/test_write_loads.py): an
# upsert is a delete and an insert at the same timestamp.
T0, T1, T2, T3, T4 = 470945521172742147, 470945521172742153, 470945521172742155, 470945521186111491, 470945521186111492
UPSERTED_SEGMENT = dict(pks=[6, 7, 8, 9, 7, 7, 8], timestamps=[T0, T0, T0, T0, T1, T2, T4],
                        deletes=[(7, T1), (7, T2), (8, T3)])


def test_a_delete_removes_only_the_versions_written_before_it():
    """Each key keeps its newest version: the upserted row and the re-inserted one (the old rule dropped every
    version of a key with any delete, and a backup of this segment claimed 2 rows fewer than Milvus restored)."""
    seg = UPSERTED_SEGMENT
    keys = list(fingerprint.restored_keys([(seg["pks"], seg["timestamps"])], seg["deletes"], None))
    assert sorted(keys) == [6, 7, 8, 9]
    # At a cut between the upserts, the first upsert's row is the one restored (the second upsert is later).
    between = list(fingerprint.restored_keys([(seg["pks"], seg["timestamps"])], seg["deletes"], T1 + 1))
    assert sorted(between) == [6, 7, 8, 9] and between.count(7) == 1
    # Before the delete of 8 and its re-insert: the original 8 is restored; after the delete only: neither.
    assert sorted(fingerprint.restored_keys([(seg["pks"], seg["timestamps"])], seg["deletes"], T3 - 1)) == [6, 7, 8, 9]
    assert sorted(fingerprint.restored_keys([(seg["pks"], seg["timestamps"])], seg["deletes"], T3)) == [6, 7, 9]


def test_cut_fingerprint_counts_digests_partitions_and_watched_keys():
    pks, timestamps, deletes = segment()
    cut = layout.compose_ts(BEFORE_SECOND_BATCH_MS)
    result = fingerprint.cut_fingerprint([(7, [(pks, timestamps)], deletes)], cut, {7: "_default", 8: "empty"},
                                         watch={5, 120, 999})
    expected = fingerprint.Digest()
    for key in range(100):
        expected.add(fingerprint.key_text(key))
    assert result["count"] == 100 and result["collection"] == expected.as_dict()
    assert result["partitions"] == {"_default": expected.as_dict(), "empty": {"count": 0, "digest": "%016x" % 0}}
    assert result["found"] == {5}
    counted = fingerprint.cut_fingerprint([(7, [(pks, timestamps)], deletes)], cut, None, digest=False)
    assert counted["count"] == 100 and counted["partitions"] == {}


def test_golden_queries_keep_only_restored_candidates():
    candidates = [dict(query_pk=1, vector=[0.0], top_k=2, candidates=[(9, 0.1), (3, 0.2), (4, 0.3)]),
                  dict(query_pk=2, vector=[1.0], top_k=2, candidates=[(9, 0.5)])]
    queries = fingerprint.golden_queries_at_cut(candidates, {3, 4})
    assert queries == [dict(query_pk=1, vector=[0.0], top_k=2, ids=[3, 4], distances=[0.2, 0.3], filter_ids=[3, 4])]
    wide = fingerprint.golden_queries_at_cut([dict(top_k=1, candidates=[(9, 0.1), (3, 0.2), (4, 0.3)])], {3, 4})
    assert wide[0]["ids"] == [3] and wide[0]["filter_ids"] == [3, 4], "the search is restricted to every kept candidate"


@pytest.mark.parametrize("damage, message", [
    (lambda data: b"\x00\x00\x00\x00" + data[4:], "no binlog magic number"),
    (lambda data: data[:-40], "impossible length"),
    (lambda data: data[:120] + bytes(len(data) - 120), "not a readable Milvus binlog"),
])
def test_a_damaged_binlog_is_refused_with_its_name(damage, message):
    with pytest.raises(ConsistencyError) as err:
        binlog.read_binlog(damage(fixture("insert_field100.binlog")), "s3://b/k")
    assert str(err.value).startswith("s3://b/k is not a readable Milvus binlog") and message in str(err.value)


def test_old_style_delete_records_are_read():
    assert binlog.delete_records_from_values(["7,470848026268864089"], "d") == [(7, 470848026268864089)]
    with pytest.raises(ConsistencyError):
        binlog.delete_records_from_values(["garbage"], "d")
    assert struct.calcsize("<QbiI") == binlog.HEADER.size == 17
