"""Backups of a collection that an application keeps writing to: they restore exactly what they claim.

The writer is a thread of this test inserting 1000 rows/s in batches (and deleting a few old rows
now and then) on loopback, before, during and after the backup. Before the fix, the backup
counted and fingerprinted the live collection after its flush, so it claimed rows that its
segments did not hold and every restore failed its own row check. A backup whose module is killed
mid-copy under the same writer is finished by the rerun and restores what it claims too.
"""

import json
import os
import random
import signal
import threading
import time

import pytest
from pymilvus import DataType, MilvusClient

from conftest import ansible, binlogs_stored, intact, wait_for

RATE = 1000  # rows per second
BATCH = 100
DIM = 8


def row(i):
    rng = random.Random(i)  # distinct vectors: golden queries need a well-defined top-k
    return {"id": i, "vector": [rng.random() for _d in range(DIM)], "tag": "r%d" % i}


class Writer(threading.Thread):
    """Inserts ``RATE`` rows/s with increasing ids; every fifth batch deletes 10 rows of the preload."""

    def __init__(self, client, name, first_id):
        super().__init__(name="hot-writer", daemon=True)
        self.client, self.name, self.next_id = client, name, first_id
        self.inserts, self.deletes = [], []  # (started, acknowledged, ids)
        self.stop = threading.Event()
        self.error = None
        self.batches = 0

    def run(self):
        try:
            while not self.stop.is_set():
                started = time.time()
                ids = list(range(self.next_id, self.next_id + BATCH))
                self.client.insert(self.name, [row(i) for i in ids])
                self.inserts.append((started, time.time(), ids))
                self.next_id += BATCH
                self.batches += 1
                if self.batches % 5 == 0:
                    doomed = list(range(self.batches * 2, self.batches * 2 + 10))
                    begun = time.time()
                    self.client.delete(self.name, filter="id in %s" % doomed)
                    self.deletes.append((begun, time.time(), doomed))
                self.stop.wait(max(0.0, BATCH / float(RATE) - (time.time() - started)))
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc

    def finish(self):
        self.stop.set()
        self.join(60)
        assert self.error is None, "the writer failed: %s" % self.error


@pytest.fixture
def busy(milvus_client, stack, unique):
    """A loaded, indexed collection with 10000 rows and a writer running against it."""
    name = "hot_%s" % unique
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.VARCHAR, max_length=32)
    index = milvus_client.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    milvus_client.create_collection(name, schema=schema, index_params=index)
    for start in range(0, 10000, 2000):
        milvus_client.insert(name, [row(i) for i in range(start, start + 2000)])
    milvus_client.flush(name)
    # The application's own connection.
    app = MilvusClient(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"])
    writer = Writer(app, name, 10000)
    writer.start()
    yield name, writer
    writer.stop.set()
    writer.join(60)
    app.close()
    for coll in milvus_client.list_collections():
        if coll.startswith(name):
            milvus_client.drop_collection(coll)


def ids_of(client, name):
    iterator = client.query_iterator(name, batch_size=4096, output_fields=["id"], consistency_level="Strong")
    found = set()
    try:
        while True:
            batch = iterator.next()
            if not batch:
                return found
            found.update(row["id"] for row in batch)
    finally:
        iterator.close()


def assert_restores_what_it_claims(call, milvus_client, backup, name, writer, began, ended, made, fingerprint=True):
    """Restore ``backup`` beside ``name`` and check it against its own claims and against the writer's log:
    what was acknowledged before ``began`` is there, what was written after ``ended`` is not."""
    entry = made["collections"][0]
    claimed = entry["live_row_count"]
    # The writer added rows after the cut that the copied segments may hold; the claim leaves them out.
    assert entry["cut_time"] and claimed is not None
    assert 10000 < claimed < 10000 + sum(len(ids) for _s, _a, ids in writer.inserts)

    rc, restored = call("milvus_restore", {"name": backup, "suffix": "_r"})
    intact(rc == 0, "a complete backup of a busy collection did not restore: %s" % restored.get("msg"))
    intact(restored["collections"][0]["rows_restored"] == claimed,
           "restored %s rows, the backup claims %s" % (restored["collections"][0]["rows_restored"], claimed))
    if fingerprint:
        rc, verified = call("milvus_verify", {"level": "collection", "name": backup, "suffix": "_r"})
        intact(rc == 0 and verified["passed"], "verification of the restored copy failed: %s" % verified.get("msg"))
        assert {"pk_fingerprint", "golden_query_recall"} <= set(c["name"] for c in verified["checks"] if c["passed"])

    have = ids_of(milvus_client, name + "_r")
    intact(len(have) == claimed, "the restored collection holds %d keys, the backup claims %d" % (len(have), claimed))
    deleted_before = set(i for _s, acked, ids in writer.deletes if acked < began for i in ids)
    deleted_late = set(i for started, _a, ids in writer.deletes if started < ended for i in ids)
    written_before = set(range(10000)).union(*[set(ids) for _s, acked, ids in writer.inserts if acked < began])
    missing = written_before - deleted_late - have
    intact(not missing, "rows written before the backup began are missing: %s" % sorted(missing)[:10])
    intact(not deleted_before & have, "rows deleted before the backup began came back: %s"
           % sorted(deleted_before & have)[:10])
    late = set().union(*[set(ids) for started, _a, ids in writer.inserts if started > ended])
    intact(late and not late & have, "rows written after the backup ended were restored: %s" % sorted(late & have)[:10])

    # The source kept every acknowledged write.
    written = set(range(10000)).union(*[set(ids) for _s, _a, ids in writer.inserts])
    gone = set(i for _s, _a, ids in writer.deletes for i in ids)
    intact(ids_of(milvus_client, name) == written - gone, "the source collection lost or gained rows")


@pytest.mark.parametrize("fingerprint", [True, False], ids=["fingerprint", "no-fingerprint"])
def test_a_backup_taken_under_writes_restores_what_it_claims(call, milvus_client, backup_store, busy, unique,
                                                             fingerprint):
    name, writer = busy
    time.sleep(2)  # the writer is well under way
    began = time.time()
    rc, made = call("milvus_backup", {"name": "hot_%s" % unique, "collections": [name], "fingerprint": fingerprint})
    ended = time.time()
    backup_store.cleanup("hot_%s" % unique)
    time.sleep(2)  # and keeps writing after the backup
    writer.finish()
    assert rc == 0, made.get("msg")
    assert_restores_what_it_claims(call, milvus_client, "hot_%s" % unique, name, writer, began, ended, made, fingerprint)


def test_a_backup_killed_under_writes_is_finished_by_the_rerun(call, milvus_env, milvus_client, backup_store, busy,
                                                               unique):
    """kill -9 of the module (the pid IN_PROGRESS names) and of ansible-playbook mid-copy, the writer still
    running; the rerun takes the name over from the dead writer, flushes again (a new cut), reuses what
    was copied, and the result restores what it claims."""
    name, writer = busy
    backup = "hotkill_%s" % unique
    backup_store.cleanup(backup)
    time.sleep(2)
    began = time.time()
    proc = ansible(milvus_env, "milvus_backup", {"name": backup, "collections": [name], "concurrency": 1,
                                                 "max_bytes_per_second": 20000}, background=True)
    try:
        wait_for(lambda: len(binlogs_stored(backup_store, backup)) >= 2, proc, "the backup could be killed")
        claim = json.loads(backup_store.read(backup_store.key(backup, ".vectorops/IN_PROGRESS")))
        os.kill(claim["pid"], signal.SIGKILL)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    rc, made = call("milvus_backup", {"name": backup, "collections": [name]})
    ended = time.time()
    time.sleep(2)
    writer.finish()
    intact(rc == 0 and made["resumed"], "the rerun did not finish the killed backup: %s" % made.get("msg"))
    assert made["copy"]["reused"] >= 1
    assert_restores_what_it_claims(call, milvus_client, backup, name, writer, began, ended, made)
