"""Backups meeting storage faults, bad settings and prying eyes; the cases that held before keep holding.

* SeaweedFS killed by pid mid-copy: the backup is listed incomplete, a rerun resumes it, and every
  stored object matches its SHA-256.
* Milvus killed by pid right after the run claimed the name: listed incomplete, and once Milvus is
  back the rerun finishes a backup that restores and verifies.
* SeaweedFS frozen (SIGSTOP) for 15 s mid-copy: the backup waits and completes intact.
* A wrong Milvus root path or credential is found before anything is written: no incomplete backup
  is left behind (before the fix: after IN_PROGRESS, the flush and the fingerprint).
* No secret (password in the uri, storage secret keys, the Milvus password) in the output of a
  task at -vvv, whether it succeeds or fails.
"""

import os
import signal
import time

import pytest

from conftest import ansible, binlogs_stored, intact, wait_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog
from ansible_collections.vectorops.milvus.plugins.module_utils.verify import verify_backup


@pytest.fixture(scope="module")
def data(milvus_client):
    import example_data  # pylint: disable=import-outside-toplevel
    example_data.load_catalog(milvus_client, rows_per_partition=500)
    return "catalog"


def assert_complete_and_intact(store, name):
    backup, checks = verify_backup(store, name, "checksum", 8)
    intact(backup.complete, "backup %s is not complete: %s" % (name, backup.problems))
    failed = [c for c in checks if c["passed"] is False]
    intact(not failed, "backup %s does not match its manifest: %s" % (name, failed))


def test_storage_killed_mid_backup_then_the_rerun_resumes(call, milvus_env, backup_store, stack_control, data, unique):
    name = "s3kill_%s" % unique
    backup_store.cleanup(name)
    params = {"name": name, "collections": [data], "concurrency": 1, "max_bytes_per_second": 100000}
    proc = ansible(milvus_env, "milvus_backup", params, background=True)
    try:
        wait_for(lambda: len(binlogs_stored(backup_store, name)) >= 3, proc, "the storage could be killed")
        stack_control.kill("seaweedfs")
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0, "the backup cannot have completed without its storage"
    stack_control.restart("seaweedfs")
    rc, info = call("milvus_backup_info", {"name": name})
    assert rc == 0 and info["backups"][0]["status"] == "incomplete", info.get("msg")
    rc, result = call("milvus_backup", dict(params, max_bytes_per_second=0, concurrency=8))
    intact(rc == 0 and result["resumed"], "the rerun did not finish the interrupted backup: %s" % result.get("msg"))
    assert_complete_and_intact(backup_store, name)


def test_milvus_killed_mid_backup_then_the_rerun_resumes_and_restores(call, milvus_env, milvus_client, backup_store,
                                                                      stack_control, data, unique):
    """Milvus is killed the moment the run has claimed the name (IN_PROGRESS written; flush and planning
    next): the run fails, the backup is listed incomplete, and after Milvus is back the rerun finishes
    a backup that restores the rows it claims."""
    name = "mvkill_%s" % unique
    backup_store.cleanup(name)
    params = {"name": name, "collections": [data]}
    proc = ansible(milvus_env, "milvus_backup", params, background=True)
    try:
        wait_for(lambda: backup_store.exists(backup_store.key(name, ".vectorops/IN_PROGRESS")), proc,
                 "Milvus could be killed", poll=0.01)
        stack_control.kill("milvus")
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    stack_control.restart("milvus")
    assert proc.returncode != 0, "the run needs Milvus after its claim (flush, planning) and cannot have succeeded"
    rc, info = call("milvus_backup_info", {"name": name})
    intact(rc == 0 and info["backups"][0]["status"] == "incomplete", "the interrupted backup is not listed incomplete")
    rc, result = call("milvus_backup", params)
    intact(rc == 0, "the rerun did not finish the interrupted backup: %s" % result.get("msg"))
    assert_complete_and_intact(backup_store, name)
    claimed = result["collections"][0]["live_row_count"]
    rc, restored = call("milvus_restore", {"name": name, "suffix": "_mk"})
    try:
        intact(rc == 0 and restored["collections"][0]["rows_restored"] == claimed,
               "the resumed backup did not restore the %s rows it claims: %s" % (claimed, restored.get("msg")))
        rc, verified = call("milvus_verify", {"level": "collection", "name": name, "suffix": "_mk"})
        intact(rc == 0 and verified["passed"], "verification of the restored copy failed: %s" % verified.get("msg"))
    finally:
        if milvus_client.has_collection(data + "_mk"):
            milvus_client.drop_collection(data + "_mk")


def test_storage_frozen_mid_backup_the_backup_waits_and_completes(call, milvus_env, backup_store, stack_control,
                                                                  data, unique):
    name = "s3stall_%s" % unique
    backup_store.cleanup(name)
    params = {"name": name, "collections": [data], "concurrency": 2, "max_bytes_per_second": 200000}
    proc = ansible(milvus_env, "milvus_backup", params, background=True)
    try:
        wait_for(lambda: len(binlogs_stored(backup_store, name)) >= 2, proc, "the storage could be frozen")
        stack_control.kill("seaweedfs", signal.SIGSTOP)
        time.sleep(15)
        stack_control.resume("seaweedfs")
        proc.wait(timeout=600)
    finally:
        stack_control.resume("seaweedfs")
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    intact(proc.returncode == 0, "a 15 s storage stall failed the backup")
    assert_complete_and_intact(backup_store, name)


@pytest.mark.parametrize("milvus_storage, message", [
    ({"root_path": "not-milvus-root"}, "holds no binlogs for it"),
    ({"secret_key": "wrong-secret"}, "rejected the credentials"),
], ids=["wrong-root-path", "wrong-secret-key"])
def test_a_wrong_milvus_storage_setting_leaves_nothing_behind(call, backup_store, data, unique, milvus_storage,
                                                              message):
    name = "badms_%s" % unique
    rc, result = call("milvus_backup", {"name": name, "collections": [data], "milvus_storage": milvus_storage})
    assert rc != 0 and message in result["msg"], result.get("msg")
    assert not catalog.read_backup(backup_store, name).exists, "no incomplete backup is left behind"


def test_no_secret_in_the_output_at_any_verbosity(milvus_env, stack, data, unique):
    uri_secret = "uri-secret-%s" % unique
    storage_secret = stack["BACKUP_STORAGE_SECRET_KEY"]
    host = stack["MILVUS_URI"].split("://", 1)[1]
    uri = "http://root:%s@%s" % (uri_secret, host)
    secrets = [uri_secret, storage_secret, stack["MILVUS_PASSWORD"]]
    runs = [
        ("milvus_info", {"uri": uri, "collections": [data], "milvus_storage": {}, "backup_storage": {}}),
        ("milvus_backup", {"uri": uri, "name": "secret_%s" % unique, "collections": [data]}),
        ("milvus_backup", {"uri": uri, "name": "secret_%s" % unique, "collections": [data],
                           "backup_storage": {"bucket": "no-such-bucket"}}),  # a failing task too
        ("milvus_backup", {"uri": uri, "name": "secret_%s" % unique, "state": "absent"}),
    ]
    for module, params in runs:
        for verbosity in ([], ["-v"], ["-vvv"]):
            proc = ansible(milvus_env, module, params, *verbosity)
            output = proc.stdout + proc.stderr
            for secret in secrets:
                intact(secret not in output, "%s %s printed a secret (%s...) at %s" % (
                    module, params.get("state", ""), secret[:4], verbosity or "default verbosity"))
            if verbosity == ["-vvv"]:
                assert '"module_args"' in output or "module_args" in output, "-vvv shows the invocation"
