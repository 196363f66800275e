"""Reads that break: a GET body that ends early without a Content-Length, a connection reset mid-body.

Both stores are reached through the fault-injecting proxy of tests/s3_request_log.py (the real SeaweedFS
behind it), which breaks the answers to chosen GETs; SeaweedFS itself cannot be made to do that on cue.
Before the fix, a close-delimited body that ended half-way was hashed as if whole: the binlog backup was
COMPLETE with the SHA-256 of half an object (``checksum`` then said "SHA-256 differs", restore refused it
as damaged, and the rerun said it was complete); a reset mid-body ended in "unexpected error (please report
this as a bug): ResponseStreamingError"; a logical restore took a short read of a Parquet file for damage.
Now every read is checked against the object's size (and its checksum where the store sends one), and
read again: the backup's hashes are of whole objects, the restores succeed.
"""

import pytest

from conftest import intact
from s3_request_log import S3RequestLog

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog


def stores(stack, endpoint):
    def options(prefix, bucket, root):
        return dict(endpoint=endpoint, bucket=bucket, root_path=root, region="us-east-1",
                    access_key=stack[prefix + "_ACCESS_KEY"], secret_key=stack[prefix + "_SECRET_KEY"])
    return dict(milvus_storage=options("MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files"),
                backup_storage=options("BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup"))


@pytest.fixture
def proxy(stack):
    with S3RequestLog(stack["MILVUS_STORAGE_ENDPOINT"]) as running:
        yield running


def break_reads(proxy, stack, name, what, times=2):
    """Truncate and reset the next ``times`` GETs each of the backup's ``what`` objects (binlogs, logical), and
    nothing else (faults left from an earlier call are dropped)."""
    proxy.clear()
    path = r"^/%s/backup/%s/%s/" % (stack["BACKUP_STORAGE_BUCKET"], name, what)
    return [proxy.inject("GET", path, "truncate", times), proxy.inject("GET", path, "reset", times)]


@pytest.mark.parametrize("data_format", ["binlog", "logical"])
def test_broken_reads_never_reach_a_hash_or_a_restore(call, stack, proxy, backup_store, quick_setup, unique,
                                                      data_format):
    name = "broken_%s_%s" % (data_format, unique)
    backup_store.cleanup(name)
    connection = stores(stack, proxy.endpoint)
    what = "binlogs" if data_format == "binlog" else "logical"
    faults = break_reads(proxy, stack, name, what)
    rc, made = call("milvus_backup", dict(connection, name=name, collections=["quick_setup"], format=data_format))
    assert rc == 0, made.get("msg")
    if data_format == "binlog":
        # The copies are read back (their SHA-256, then their primary keys and timestamps at the cut).
        assert all(f.hits for f in faults), "the proxy broke no read of the backup: %s" % [f.hits for f in faults]
    rc, checked = call("milvus_verify", {"name": name, "level": "checksum"})
    intact(rc == 0 and checked["passed"], "a complete backup recorded hashes of partial reads: %s"
           % ([c for c in checked.get("checks", []) if not c["passed"]][:3] or checked.get("msg")))
    faults = break_reads(proxy, stack, name, what)
    suffix = "_br_%s" % unique
    try:
        options = dict(connection, name=name, suffix=suffix)
        if data_format == "logical":
            options["logical_restore"] = "insert"  # reads each Parquet file (bulk import stages them server-side)
        rc, restored = call("milvus_restore", options)
        intact(rc == 0, "a complete backup was not restored when reads broke off: %s" % restored.get("msg"))
        if data_format == "logical":  # a binlog restore copies server-side and checks stored checksums: no GET
            assert all(f.hits for f in faults), "the proxy broke no read of the restore: %s" % [f.hits for f in faults]
        rc, verified = call("milvus_verify", {"name": name, "level": "collection", "suffix": suffix})
        intact(rc == 0 and verified["passed"], "the restored copy differs: %s" % verified.get("msg"))
        assert catalog.read_backup(backup_store, name).complete
    finally:
        call("milvus_restore", {"name": name, "suffix": suffix, "state": "absent"})


def test_a_read_that_never_comes_back_whole_fails_clearly(call, stack, proxy, backup_store, quick_setup, unique):
    """Every read of the backup's binlogs breaks: the backup fails with the store's message, naming the object
    and what went wrong, and nothing is marked complete."""
    name = "never_whole_%s" % unique
    backup_store.cleanup(name)
    break_reads(proxy, stack, name, "binlogs", times=-1)
    rc, failed = call("milvus_backup", dict(stores(stack, proxy.endpoint), name=name, collections=["quick_setup"],
                                            format="binlog"))
    assert rc != 0
    assert "unexpected error" not in failed["msg"], failed["msg"]
    assert "/binlogs/" in failed["msg"] and ("ended after" in failed["msg"] or "broke off" in failed["msg"]
                                             or "checksum" in failed["msg"]), failed["msg"]
    intact(not catalog.read_backup(backup_store, name).complete, "a backup of partial reads was marked complete")


@pytest.mark.parametrize("data_format", ["binlog", "logical"])
def test_a_storage_failure_after_complete_does_not_fail_a_finished_backup(call, stack, proxy, backup_store,
                                                                          quick_setup, unique, data_format):
    """Once COMPLETE is written, the run removes its in-progress marker; throttled there (503 SlowDown on every
    read of the marker, more than boto3's retries outlast), the run used to fail and report the backup
    incomplete although the stored backup was complete. Now it succeeds and warns."""
    name = "after_complete_%s_%s" % (data_format, unique)
    backup_store.cleanup(name)
    prefix = r"^/%s/backup/%s/" % (stack["BACKUP_STORAGE_BUCKET"], name)
    fault = proxy.inject("GET", prefix + r"\.vectorops/IN_PROGRESS$", "slow_down", -1, after=("PUT", prefix + "COMPLETE$"))
    rc, made = call("milvus_backup", dict(stores(stack, proxy.endpoint), name=name, collections=["quick_setup"],
                                          format=data_format))
    assert fault.hits, "the marker's release was never throttled"
    intact(rc == 0 and made["status"] == "complete", "a backup that wrote COMPLETE was reported failed: %s"
           % made.get("msg"))
    assert any("is complete, but its in-progress marker" in w for w in made.get("warnings", [])), made.get("warnings")
    proxy.clear()
    rc, info = call("milvus_backup_info", {"name": name})
    assert rc == 0 and info["backup"]["status"] == "complete", info.get("msg")
