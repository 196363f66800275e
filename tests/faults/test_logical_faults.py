"""Logical backups and restores killed by pid (SIGKILL of the whole ansible-playbook session), and a
logical export of a collection that is being written to.

* An export killed after its first collection is listed incomplete; the rerun keeps that collection's
  Parquet files (re-hashed) and exports the rest; the backup restores every row it claims.
* An insert restore into Milvus Lite killed after its first files is resumed by the rerun from the
  restore marker's checkpoint, skipping the rows of the batch that went in before the kill: no row twice.
* An insert restore into Milvus 2.3.5 killed right after it created the target (no index yet) is resumed
  with the indexes built first, so the collection loads and its rows are looked up and inserted once.
* Under a writer inserting batches of 100 rows, Milvus 2.3.5 (which cannot pin reads to a timestamp)
  gets no complete logical backup; once the writes stop, the rerun completes with every batch whole.
* Under upserts of row pairs far apart in key order, on Milvus 2.3.5 and on Milvus Lite, no complete logical
  backup holds a pair half old, half new (the second read compares contents, not only keys).
"""

import os
import random
import signal
import threading
import time

import pytest
from pymilvus import DataType, MilvusClient

from conftest import ansible, intact, restore_with_fault, wait_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, fingerprint
from ansible_collections.vectorops.milvus.plugins.module_utils.restore_state import RESTORING, decode
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection

PARTITIONS = ("p0", "p1", "p2", "p3")
ROWS_PER_PARTITION = 15000
DIM = 8


def make(client, name, partitions=PARTITIONS, rows=ROWS_PER_PARTITION):
    if client.has_collection(name):
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.VARCHAR, max_length=32)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rng = random.Random(5)
    for n, part in enumerate(partitions):
        client.create_partition(name, part)
        for start in range(0, rows, 5000):
            client.insert(name, [{"id": n * rows + i, "vec": [rng.random() for _d in range(DIM)], "tag": "t%d" % i,
                                  "extra": i % 7} for i in range(start, min(rows, start + 5000))], partition_name=part)
    return name


def pk_digest(params, name):
    with MilvusConnection(dict(params, timeout=60)) as conn:
        conn.connect()
        client = conn.client("default")
        if "Loaded" not in str(client.get_load_state(name)["state"]):
            client.load_collection(name)
        return fingerprint.pk_fingerprint(conn, "default", name, "id")["collection"]


def kill_run(proc, module_pid):
    """SIGKILL the module's process group (ansible-core 2.19 runs its worker in a session of its own) and the
    playbook's."""
    for group in (os.getpgid(module_pid), proc.pid):
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=60)
    deadline = time.time() + 30
    while os.path.exists("/proc/%d" % module_pid) and time.time() < deadline:
        time.sleep(0.05)


def lite(stack):
    return dict(uri=stack["MILVUS_LITE_URI"], user="", password="")


def milvus(stack):
    return dict(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"])


@pytest.fixture(scope="module")
def pair(milvus_client):
    """A small collection exported first and a large one (4 partitions) exported second."""
    small = make(milvus_client, "logical_a_small", partitions=("s0",), rows=2000)  # exported first (name order)
    large = make(milvus_client, "logical_b_large")
    return small, large


def test_an_export_killed_after_its_first_collection_is_finished_by_the_rerun(
        call, stack, milvus_env, backup_store, lite_client, pair, unique):
    small, large = pair
    name = "logical_kill_%s" % unique
    backup_store.cleanup(name)
    params = {"name": name, "collections": [small, large], "format": "logical"}
    proc = ansible(milvus_env, "milvus_backup", params, background=True)
    record = backup_store.key(name, "logical", "default", small, "EXPORTED.json")
    try:
        wait_for(lambda: backup_store.exists(record), proc, "the first collection was exported", poll=0.01)
        kill_run(proc, catalog.read_backup(backup_store, name).in_progress["pid"])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    rc, info = call("milvus_backup_info", {"name": name})
    assert rc == 0 and info["backups"][0]["status"] == "incomplete"
    assert info["backups"][0]["format"] == "logical"
    rc, result = call("milvus_backup", params)
    intact(rc == 0 and result["resumed"], "the rerun did not finish the interrupted export: %s" % result.get("msg"))
    assert result["copy"]["reused"] == 1 and result["copy"]["exported"] == len(PARTITIONS)
    by_name = dict((c["name"], c) for c in result["collections"])
    intact(by_name[large]["live_row_count"] == len(PARTITIONS) * ROWS_PER_PARTITION, "the resumed export lost rows")
    target = "large_back_%s" % unique
    rc, restored = call("milvus_restore", dict(lite(stack), name=name, collections=[large],
                                               rename=["%s:%s" % (large, target)]))
    intact(rc == 0 and restored["collections"][0]["rows_match"], "the resumed backup does not restore: %s"
           % restored.get("msg"))
    intact(pk_digest(lite(stack), target) == pk_digest(milvus(stack), large), "restored keys differ from the source")
    lite_client.drop_collection(target)


def restoring_marker(client, name):
    if not client.has_collection(name):
        return {}
    return decode(client.describe_collection(name).get("properties", {}).get(RESTORING)) or {}


def test_an_insert_restore_killed_mid_way_resumes_without_duplicating_rows(
        call, stack, milvus_env, backup_store, lite_client, milvus_client, pair, unique):
    _small, large = pair
    name = "logical_ins_%s" % unique
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", {"name": name, "collections": [large], "format": "logical"})
    assert rc == 0, made.get("msg")
    target = "large_ins_%s" % unique
    params = dict(lite(stack), name=name, rename=["%s:%s" % (large, target)], logical_restore="insert")
    proc = ansible(dict(milvus_env), "milvus_restore", params, background=True)
    try:
        wait_for(lambda: len(restoring_marker(lite_client, target).get("inserted") or {}) >= 1, proc,
                 "the first file was inserted", poll=0.05)
        time.sleep(0.3)  # into the next file's batches
        kill_run(proc, restoring_marker(lite_client, target)["pid"])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    done_before = len(restoring_marker(lite_client, target).get("inserted") or {})
    assert 1 <= done_before < len(PARTITIONS), "the kill came too late to test a resume"
    rc, check = call("milvus_restore", params, check=True)
    assert rc == 0 and check["collections"][0]["action"] == "resume", check["collections"][0]["reason"]
    rc, result = call("milvus_restore", params)
    intact(rc == 0, "the rerun did not finish the interrupted insert restore: %s" % result.get("msg"))
    got = result["collections"][0]
    assert got["action"] == "resume" and got["inserted"]["files_resumed_after"] == done_before
    intact(got["rows_restored"] == len(PARTITIONS) * ROWS_PER_PARTITION and got["rows_match"],
           "rows restored twice or lost: %s" % got["rows_restored"])
    intact(pk_digest(lite(stack), target) == pk_digest(milvus(stack), large), "restored keys differ from the source")
    lite_client.drop_collection(target)


def test_an_insert_restore_killed_before_its_indexes_is_resumed_with_them(
        call, stack, backup_store, milvus_client, pair, unique):
    """Killed (SIGKILL, restore_with_fault.py) right after it created the target: the dead run's collection has
    its restore marker but no index. A resume looks its last batch's keys up by query, which needs the collection
    loaded, which on Milvus needs its vector index; a resume that skipped the indexes failed at load."""
    small, _large = pair
    name = "logical_crt_%s" % unique
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", {"name": name, "collections": [small], "format": "logical"})
    assert rc == 0, made.get("msg")
    target = "small_crt_%s" % unique
    params = {"name": name, "rename": ["%s:%s" % (small, target)], "logical_restore": "insert"}
    fault = restore_with_fault(stack, "after-create", "kill-self", params)
    assert fault.returncode == -9, (fault.stdout + fault.stderr)[-3000:]
    intact(milvus_client.has_collection(target) and not milvus_client.list_indexes(target),
           "the fault did not hit the window between create and index")
    rc, result = call("milvus_restore", params)
    intact(rc == 0, "the rerun after a kill before the indexes failed: %s" % result.get("msg"))
    got = result["collections"][0]
    assert got["action"] == "resume" and [i["field_name"] for i in got["indexes_created"]] == ["vec"], got
    intact(got["rows_restored"] == 2000 and got["rows_match"], "rows restored twice or lost: %s" % got["rows_restored"])
    intact(pk_digest(milvus(stack), target) == pk_digest(milvus(stack), small), "restored keys differ from the source")
    milvus_client.drop_collection(target)


class BatchWriter(threading.Thread):
    """Inserts batches of 100 rows (ids grow; each batch has its own ``batch`` tag) until stopped."""

    def __init__(self, client, name):
        super().__init__(name="logical-writer", daemon=True)
        self.client, self.name = client, name
        self.acknowledged = []  # (time acknowledged, batch number)
        self.stop = threading.Event()
        self.error = None

    def run(self):
        batch = 0
        rng = random.Random(9)
        try:
            while not self.stop.is_set():
                rows = [{"id": 10 ** 9 + batch * 100 + i, "vec": [rng.random() for _d in range(DIM)],
                         "tag": "batch-%d" % batch} for i in range(100)]
                self.client.insert(self.name, rows, partition_name=PARTITIONS[batch % len(PARTITIONS)])
                self.acknowledged.append((time.time(), batch))
                batch += 1
                time.sleep(0.1)  # about 1000 rows/s
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc


def backup_during(call, writer, params):
    """Run milvus_backup while the started ``writer`` keeps writing (it has been for a second); stop it after."""
    try:
        time.sleep(1.0)
        return call("milvus_backup", params)
    finally:
        writer.stop.set()
        writer.join(30)
        assert writer.error is None, writer.error


def test_an_export_under_writes_is_refused_on_milvus_2_3_then_completes_whole_once_writes_stop(
        call, stack, backup_store, milvus_client, lite_client, unique):
    """Milvus 2.3.5 reads every page at its own moment (no iterator session timestamp; a query with an old
    guarantee timestamp still sees newer rows, checked on this stack), so rows written during the export would be
    in some pages and not others. The export sees the collection change (primary keys read again), tries again,
    and refuses to mark anything complete; once the writer stops the same task completes, every batch whole."""
    source = make(milvus_client, "logical_hot_%s" % unique, rows=3000)
    writer = BatchWriter(milvus_client, source)
    writer.start()
    name = "logical_hot_%s" % unique
    backup_store.cleanup(name)
    params = {"name": name, "collections": [source], "format": "logical", "consistency_attempts": 2}
    rc, refused = backup_during(call, writer, params)
    intact(rc != 0, "a logical backup of a changing collection on Milvus 2.3.5 was marked complete")
    assert "changed while it was exported" in refused["msg"] and "2 time(s)" in refused["msg"], refused["msg"]
    assert not catalog.read_backup(backup_store, name).complete
    rc, made = call("milvus_backup", params)
    intact(rc == 0 and made["resumed"], "the rerun after the writes stopped failed: %s" % made.get("msg"))
    entry = made["collections"][0]
    assert entry["logical"]["snapshot"] is False and made["consistency"]["strategy"] == "stable_read"
    target = "hot_back_%s" % unique
    rc, restored = call("milvus_restore", dict(lite(stack), name=name, rename=["%s:%s" % (source, target)]))
    assert rc == 0, restored.get("msg")
    per_batch = {}
    with MilvusConnection(dict(lite(stack), timeout=60)) as conn:
        conn.connect()
        for row in fingerprint.iterate(conn, "default", target, ["id", "tag"]):  # more rows than one query returns
            if row["id"] >= 10 ** 9:
                per_batch[row["tag"]] = per_batch.get(row["tag"], 0) + 1
    intact(all(count == 100 for count in per_batch.values()),
           "batches half in the export: %s" % dict((k, v) for k, v in per_batch.items() if v != 100))
    intact(len(per_batch) == len(writer.acknowledged), "acknowledged batches missing from the export")
    intact(entry["live_row_count"] == restored["collections"][0]["rows_restored"]
           == len(PARTITIONS) * 3000 + 100 * len(writer.acknowledged),
           "the backup claims other rows than it restores")
    lite_client.drop_collection(target)
    milvus_client.drop_collection(source)


class PairWriter(threading.Thread):
    """Upserts pairs of rows far apart in key order (``i`` and ``i + half``) together, in one request, each time
    with a new version in ``tag``: a consistent copy has both rows of every pair at the same version."""

    def __init__(self, client, name, half):
        super().__init__(name="pair-writer", daemon=True)
        self.client, self.name, self.half = client, name, half
        self.upserts = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        rng = random.Random(11)
        try:
            while not self.stop.is_set():
                i = rng.randrange(self.half)
                self.upserts += 1
                tag = "v%d" % self.upserts
                self.client.upsert(self.name, [{"id": key, "vec": [rng.random() for _d in range(DIM)], "tag": tag,
                                                "extra": 0} for key in (i, i + self.half)], partition_name="p0")
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc


def torn_pairs(store, name, half):
    """Pairs whose two rows the stored backup holds at different versions."""
    import io  # pylint: disable=import-outside-toplevel
    from pyarrow import parquet  # pylint: disable=import-outside-toplevel
    tags = {}
    for obj in store.list(store.key(name, "logical") + "/"):
        if obj.key.endswith(".parquet"):
            table = parquet.read_table(io.BytesIO(store.read(obj.key)), columns=["id", "tag"])
            tags.update(zip(table.column("id").to_pylist(), table.column("tag").to_pylist()))
    # Rows never upserted keep their own "t<id>" tags; an upserted pair shares its "v<n>".
    return [i for i in range(half) if tags.get(i) != tags.get(i + half)
            and "v" in (str(tags.get(i))[:1], str(tags.get(i + half))[:1])]


@pytest.mark.parametrize("server", ["milvus", "lite"])
def test_an_export_torn_by_upserts_is_never_marked_complete(call, stack, backup_store, milvus_client, lite_client,
                                                            unique, server):
    """Upserts keep the keys as they are, so a second read of the keys alone passed them: the stored backup was
    complete with hundreds of pairs half old, half new (600 of 2150 on Milvus 2.3.5, 1084 of 2780 on Milvus Lite).
    The contents are compared now: the export is refused while the upserts go on, and the backup taken once they
    stop holds every pair whole."""
    client, connection = (milvus_client, milvus(stack)) if server == "milvus" else (lite_client, lite(stack))
    half = 5000
    source = make(client, "torn_%s" % unique, partitions=("p0",), rows=2 * half)
    name = "torn_%s_%s" % (server, unique)
    backup_store.cleanup(name)
    params = dict(connection, name=name, collections=[source], format="logical", consistency_attempts=2,
                  fingerprint=server == "milvus")  # both ways of reading: decoded rows, and undecoded columns
    writer = PairWriter(client, source, half)
    writer.start()
    rc, result = backup_during(call, writer, params)
    assert writer.upserts > 50, "the writer barely ran (%d upserts)" % writer.upserts
    if rc == 0:
        torn = torn_pairs(backup_store, name, half)
        intact(not torn, "a complete logical backup holds %d pairs torn by upserts, e.g. %s" % (len(torn), torn[:5]))
    else:
        assert "changed while it was exported" in result["msg"], result["msg"]
        assert not catalog.read_backup(backup_store, name).complete
    rc, made = call("milvus_backup", params)
    intact(rc == 0, "the backup after the upserts stopped failed: %s" % made.get("msg"))
    intact(not torn_pairs(backup_store, name, half), "pairs torn with no writes at all")
    client.drop_collection(source)
