"""Compaction during a backup: the segments planned at the cut are what the backup holds.

Real Milvus compaction, real engine. The only thing the test controls is timing: the compaction is
started and awaited between planning and copying, so the race the engine guards against happens
every time instead of by chance. The compacted segment has applied deletes written after the cut, so
the planned segments are copied from their own binlogs, which outlive the compaction until Milvus's
garbage collection removes them. When it has (here the test deletes them as the garbage collector
would: Milvus 2.3 cannot be made to collect on cue), the collection is flushed again and planned and
copied again.
"""

import random
import time

import pytest
from pymilvus import DataType, MilvusClient

from conftest import store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, binlog_format, catalog, layout
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection


@pytest.fixture
def fragmented(milvus_client, unique):
    """A collection of four small flushed segments, which Milvus's mix compaction merges."""
    name = "frag_%s" % unique
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    index = milvus_client.prepare_index_params()
    index.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    milvus_client.create_collection(name, schema=schema, index_params=index)
    rng = random.Random(1)
    for batch in range(4):
        milvus_client.insert(name, [{"pk": batch * 100 + i, "v": [rng.random() for _d in range(4)]} for i in range(100)])
        milvus_client.flush(name)
    yield name
    milvus_client.drop_collection(name)


@pytest.mark.parametrize("collected", [False, True], ids=["binlogs-kept", "binlogs-collected"])
def test_compaction_between_plan_and_copy(stack, milvus_client, fragmented, unique, monkeypatch, collected):
    params = dict(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"],
                  db_name="default", timeout=30)
    milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
    backup_store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup")
    name = "compacted_%s" % unique
    before = set(s.segment_id for s in milvus_client.list_persistent_segments(fragmented))
    # Milvus's auto-compaction may merge some of the four before this line; two are enough to compact.
    assert len(before) >= 2, before

    planned = set()  # the segments of the cut, as the backup planned them

    class CompactingCopy(binlog_format.BinlogBackup):
        compacted = False

        def _copy_plans(self, plans, reusable):
            if not self.compacted:
                self.compacted = True
                planned.update(sid for plan in plans for sid in plan.segments)
                job_id = milvus_client.compact(fragmented)
                deadline = time.time() + 180
                while "Completed" not in str(milvus_client.get_compaction_state(job_id)):
                    assert time.time() < deadline, "compaction did not finish"
                    time.sleep(1)
                while set(s.segment_id for s in milvus_client.list_persistent_segments(fragmented)) & before:
                    assert time.time() < deadline
                    time.sleep(1)
                if collected:
                    gone = [o.key for o in milvus_store.list(milvus_store.key("insert_log") + "/")
                            if any("/%d/" % sid in o.key for sid in before)]
                    assert gone
                    milvus_store.delete(gone)
            return super()._copy_plans(plans, reusable)

    options = dict(name=name, collections=[fragmented], strategy="flush", concurrency=4, gc_pause="try",
                   management_uri=stack["MILVUS_MANAGEMENT_URI"], consistency_attempts=3, check_mode=False)
    try:
        with MilvusConnection(params) as conn:
            monkeypatch.setitem(backup.BACKUP_FORMATS, "binlog", CompactingCopy)
            result = backup.BackupJob(conn, milvus_store, backup_store, options).run()
        after = set(s.segment_id for s in milvus_client.list_persistent_segments(fragmented))
        assert not after & before, "the compaction replaced the original segments"
        assert result["status"] == "complete"
        coll = result["collections"][0]
        assert coll["row_count"] == 400
        stored = catalog.read_backup(backup_store, name)
        assert stored.complete
        keys = [o["key"] for o in stored.manifest["objects"]]
        if not collected:
            # The planned segments, copied from their own binlogs: no second flush, nothing re-planned.
            assert result["consistency"]["attempts"] == {"default.%s" % fragmented: 1}
            assert result["consistency"]["segments_replanned"] == 0
            # (Milvus's auto-compaction may have merged some of the four before the flush: the cut holds what it
            # made then, which the forced compaction during the copy then replaced too.)
            assert planned - after, "the compaction during the copy replaced planned segments"
            assert set(s["id"] for s in coll["segments"]) == planned
            made = after - planned
            assert not [k for k in keys if any("/%d/" % sid in k for sid in made)], "nothing compaction made later"
            return
        assert result["consistency"]["attempts"] == {"default.%s" % fragmented: 2}
        # Milvus's auto-compaction may already have merged some of the four before the plan was made,
        # so at least one (not necessarily four) planned segment was lost and re-planned.
        assert result["consistency"]["segments_replanned"] >= 1
        assert set(s["id"] for s in coll["segments"]) == after
        assert not [k for k in keys if any("/%d/" % sid in k for sid in before)], "old segments swept"
        leftovers = [o.key for o in backup_store.list(backup_store.key(name, layout.BINLOGS) + "/")
                     if any("/%d/" % sid in o.key for sid in before)]
        assert leftovers == []
    finally:
        catalog.delete_backup(backup_store, name)
