"""Backups of collections that applications update: upserts, deletes, keys deleted and written again.

Each collection gets one write load, logged op by op with the moment it was sent and the moment Milvus
acknowledged it; every row carries its version in ``version``, so a restored row says which write it came
from. The source at the backup's cut is rebuilt from that log: for each key, the state after the last write
acknowledged before the cut, or after any write still in flight at the cut (either may be in the backup).

* binlog, under live writers: before the fix, a backup of a segment holding an upsert or a re-inserted key
  claimed fewer rows than Milvus restores ("holds 5000 rows, the backup says 4998") and every restore was
  dropped; the live-row rule now follows Milvus's (a delete removes only older versions of its key).
* logical, writes done before the backup (Milvus 2.3.5 cannot pin a read to a timestamp: under writes a
  logical export is refused, see test_logical_faults.py).

Each restored collection holds exactly the source at the cut (every key in a state the log allows, no other
key), its PK fingerprint equals the backup's (milvus_verify level=collection), and the source kept every
acknowledged write.
"""

import random
import threading
import time

import pytest
from pymilvus import DataType, MilvusClient

from conftest import intact

DIM = 8
PRELOAD = 5000
LOADS = ("upserts", "delete_reinsert", "mixed")
ABSENT = "absent"


def vector(key, version):
    rng = random.Random(key * 1000003 + version)  # a new embedding per version: an upsert moves the row
    return [rng.random() for _d in range(DIM)]


def record(key, version):
    return {"id": key, "vector": vector(key, version), "version": version}


class WriteLog:
    """Every write to one collection: (sent, acknowledged, key, state after it: a version or ABSENT)."""

    def __init__(self):
        self.ops = []
        self.lock = threading.Lock()

    def add(self, sent, acked, keys, states):
        with self.lock:
            self.ops.extend((sent, acked, k, s) for k, s in zip(keys, states))

    def allowed_at(self, cut):
        """{key: set of states the key may have in a backup cut at ``cut`` (epoch seconds)}."""
        per_key = {}
        for sent, acked, key, state in sorted(self.ops):
            per_key.setdefault(key, []).append((sent, acked, state))
        allowed = {}
        for key, ops in per_key.items():
            done = [i for i, (_s, acked, _st) in enumerate(ops) if acked < cut]
            first = done[-1] if done else None
            states = {ops[first][2]} if first is not None else {ABSENT}
            states.update(state for sent, _a, state in ops[(first + 1 if first is not None else 0):] if sent <= cut)
            allowed[key] = states
        return allowed

    def final(self):
        state = {}
        for _sent, _acked, key, st in sorted(self.ops, key=lambda op: op[1]):
            state[key] = st
        return dict((k, v) for k, v in state.items() if v != ABSENT)


def apply(client, name, log, load, rng, versions, deleted, next_key):
    """One round of ``load`` on ``name``; returns the next new key."""
    sent = time.time()
    new = list(range(next_key, next_key + 20))
    client.insert(name, [record(k, 0) for k in new])
    log.add(sent, time.time(), new, [0] * len(new))
    versions.update((k, 0) for k in new)
    live = sorted(k for k in versions if k not in deleted)
    if load in ("upserts", "mixed"):
        keys = rng.sample(live, 30)
        for k in keys:
            versions[k] += 1
        sent = time.time()
        client.upsert(name, [record(k, versions[k]) for k in keys])
        log.add(sent, time.time(), keys, [versions[k] for k in keys])
    if load in ("delete_reinsert", "mixed"):
        doomed = rng.sample(live, 10)
        sent = time.time()
        client.delete(name, ids=doomed)
        log.add(sent, time.time(), doomed, [ABSENT] * len(doomed))
        deleted.update(doomed)
        back = rng.sample(sorted(deleted), min(6, len(deleted)))
        for k in back:
            versions[k] += 1
        sent = time.time()
        client.insert(name, [record(k, versions[k]) for k in back])
        log.add(sent, time.time(), back, [versions[k] for k in back])
        deleted.difference_update(back)
    return next_key + len(new)


class Writer(threading.Thread):
    def __init__(self, client, name, load, versions, next_key):
        super().__init__(name="writer-%s" % name, daemon=True)
        self.client, self.name, self.load = client, name, load
        self.log = WriteLog()
        self.versions, self.deleted, self.next_key = versions, set(), next_key
        self.rng = random.Random(name)
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                self.next_key = apply(self.client, self.name, self.log, self.load, self.rng, self.versions,
                                      self.deleted, self.next_key)
                self.stop.wait(0.1)
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc

    def finish(self):
        self.stop.set()
        self.join(60)
        assert self.error is None, "the writer of %s failed: %s" % (self.name, self.error)


def create(client, name):
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("version", DataType.INT64)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    log = WriteLog()
    sent = time.time()
    client.insert(name, [record(k, 0) for k in range(PRELOAD)])
    log.add(sent, time.time(), list(range(PRELOAD)), [0] * PRELOAD)
    client.flush(name)
    return log


def contents(client, name):
    """{key: version} of every row."""
    iterator = client.query_iterator(name, batch_size=4096, output_fields=["id", "version"], consistency_level="Strong")
    found = {}
    try:
        while True:
            batch = iterator.next()
            if not batch:
                return found
            for row in batch:
                found[row["id"]] = row["version"]
    finally:
        iterator.close()


def check_restored(milvus_client, restored, allowed, label):
    have = contents(milvus_client, restored)
    wrong = dict((k, (have.get(k, ABSENT), sorted(map(str, states)))) for k, states in allowed.items()
                 if have.get(k, ABSENT) not in states)
    unknown = set(have) - set(allowed)
    intact(not wrong, "%s: restored keys in a state the source never had at the cut (key: (restored, allowed)): %s"
           % (label, dict(list(wrong.items())[:5])))
    intact(not unknown, "%s: restored keys that were never written: %s" % (label, sorted(unknown)[:5]))
    return have


def restore_and_verify(call, backup, data_format):
    """Restore every collection of ``backup`` beside its source (suffix _r) and verify it against the backup."""
    rc, restored = call("milvus_restore", {"name": backup, "suffix": "_r"})
    intact(rc == 0, "a complete %s backup of updated collections did not restore: %s" % (data_format, restored.get("msg")))
    rc, verified = call("milvus_verify", {"level": "collection", "name": backup, "suffix": "_r"})
    intact(rc == 0 and verified["passed"], "verification of the restored copies failed: %s"
           % ([c for c in verified.get("checks", []) if not c["passed"]][:3] or verified.get("msg")))


@pytest.fixture
def loaded(milvus_client, stack, unique):
    """One collection per load, preloaded with 5000 rows; dropped afterwards with their restored copies."""
    names = dict((load, "wl_%s_%s" % (load, unique)) for load in LOADS)
    logs = dict((load, create(milvus_client, name)) for load, name in names.items())
    apps = []

    def app():
        client = MilvusClient(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"])
        apps.append(client)
        return client

    yield names, logs, app
    for client in apps:
        client.close()
    for coll in milvus_client.list_collections():
        if coll.startswith("wl_") and coll.split("_")[-1].startswith(unique):
            milvus_client.drop_collection(coll)


def test_binlog_backups_under_upserts_deletes_and_reinserts_restore_the_source_at_the_cut(
        call, milvus_client, backup_store, loaded, unique):
    names, logs, app = loaded
    writers = {}
    for load, name in names.items():
        writers[load] = Writer(app(), name, load, dict((k, 0) for k in range(PRELOAD)), PRELOAD)
        writers[load].log = logs[load]
        writers[load].start()
    time.sleep(3)  # upserted and re-inserted keys in growing and in flushed segments
    backup = "wl_bin_%s" % unique
    backup_store.cleanup(backup)
    rc, made = call("milvus_backup", {"name": backup, "collections": list(names.values()), "format": "binlog"})
    time.sleep(2)
    for writer in writers.values():
        writer.finish()
    assert rc == 0, made.get("msg")
    restore_and_verify(call, backup, "binlog")
    entries = dict((c["name"], c) for c in made["collections"])
    for load, name in names.items():
        cut = _epoch(entries[name]["cut_time"])
        have = check_restored(milvus_client, name + "_r", logs[load].allowed_at(cut), "%s (binlog)" % load)
        intact(len(have) == entries[name]["live_row_count"], "%s: %d rows restored, the backup claims %d"
               % (load, len(have), entries[name]["live_row_count"]))
        print("write load %s (binlog, live writer, %d writes logged): %d rows restored, each key as at the cut; "
              "PK fingerprint verified" % (load, len(logs[load].ops), len(have)))
        intact(contents(milvus_client, name) == logs[load].final(), "%s: the source lost a write" % load)


def test_logical_backups_of_updated_collections_restore_them(call, milvus_client, backup_store, loaded, unique):
    names, logs, _app = loaded
    for load, name in names.items():
        versions, deleted, next_key, rng = dict((k, 0) for k in range(PRELOAD)), set(), PRELOAD, random.Random(load)
        for _round in range(15):
            next_key = apply(milvus_client, name, logs[load], load, rng, versions, deleted, next_key)
    backup = "wl_log_%s" % unique
    backup_store.cleanup(backup)
    rc, made = call("milvus_backup", {"name": backup, "collections": list(names.values()), "format": "logical"})
    assert rc == 0, made.get("msg")
    restore_and_verify(call, backup, "logical")
    for load, name in names.items():
        final = logs[load].final()
        have = check_restored(milvus_client, name + "_r", dict((k, {v}) for k, v in final.items()), "%s (logical)" % load)
        intact(have == final, "%s: the logical restore differs from the source" % load)
        print("write load %s (logical, %d writes logged before the backup): %d rows restored, each key as in the "
              "source; PK fingerprint verified" % (load, len(logs[load].ops), len(have)))


def _epoch(text):
    from ansible_collections.vectorops.milvus.plugins.module_utils import layout  # pylint: disable=import-outside-toplevel
    return layout.parse_iso(text).timestamp()
