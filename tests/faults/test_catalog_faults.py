"""The catalogue only manages what it wrote, and retention never destroys (issue 25), on the real SeaweedFS.

* A transient 404 for the newest backup's ``COMPLETE`` (the listing shows it, the GET says NoSuchKey, played by
  the fault-injecting proxy tests/s3_request_log.py): prune reads it again and keeps the backup; a 404 that
  persists makes it "unreadable", kept, and ``state: absent`` refuses it. Before: taken for corrupt, aged by its
  last-modified time, deleted.
* Folders that are not backups under the backup root, and a backup location at Milvus's own bucket and root:
  refused before any request when both stores are known; left alone (not one write request, not one object
  fewer) when the overlap cannot be seen (another name for the same endpoint). Before: Milvus's insert_log,
  stats_log, index_files and delta_log were "incomplete backups" and deleted.
* A copy of a real backup dated a year ahead (its manifest's backup_time edited, COMPLETE rewritten to match):
  kept, not counted; keep_last=1 keeps the real newest. Before: the real newest was deleted.
* Damaged backups next to good ones: listed with their problems, the good ones pruned as usual, a restore of a
  damaged one refused with the field named. Before: every listing and prune failed.

Every test works under a backup root of its own in the backup bucket, so its prunes see only its folders.
Backups are a copy of one real milvus_backup of quick_setup (made once), renamed and edited with the store API.
"""

import datetime
import hashlib
import json
import uuid

import pytest

from conftest import intact, store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import layout
from ansible_collections.vectorops.milvus.plugins.module_utils.verify import verify_backup

# No staging sweep of Milvus's bucket from these prunes: milvus_storage is set from the environment otherwise.
NO_MILVUS_STORAGE = {"bucket": ""}


@pytest.fixture(scope="module")
def source(call, stack, milvus_client):
    """One real backup of quick_setup under a root of its own: (store, name)."""
    import example_data  # pylint: disable=import-outside-toplevel
    example_data.load_quick_setup(milvus_client)
    root = "catalog_faults_src_%s" % uuid.uuid4().hex[:8]
    name = "real_%s" % uuid.uuid4().hex[:8]
    rc, made = call("milvus_backup", {"name": name, "collections": ["quick_setup"],
                                      "backup_storage": {"root_path": root}})
    assert rc == 0, made.get("msg")
    store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], root)
    yield store, name
    wipe(store)


@pytest.fixture
def root(stack, unique):
    """A backup root of this test's own (its store); everything under it is removed afterwards."""
    path = "catalog_faults_%s" % unique
    store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], path)
    yield store
    wipe(store)


def wipe(store):
    keys = [o.key for o in store.list(store.key() + "/")]
    if keys:
        store.delete(keys)


def keys_under(store, prefix):
    return set(o.key for o in store.list(prefix))


def copy_backup(source, store, name, backup_time=None, manifest=None):
    """Copy the real backup into ``store`` as ``name``; with ``backup_time``, its manifest says that time and
    COMPLETE is rewritten to name the edited manifest (a complete backup by every check); ``manifest``: raw bytes
    written as the manifest, COMPLETE still rewritten to match."""
    src_store, src_name = source
    prefix = src_store.key(src_name) + "/"
    for obj in src_store.list(prefix):
        rel = obj.key[len(prefix):]
        store.write(store.key(name, rel), src_store.read(obj.key))
    if backup_time is None and manifest is None:
        return
    if manifest is None:
        doc = json.loads(store.read(store.key(name, "manifest.json")))
        doc["backup"]["backup_time"] = backup_time
        manifest = json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")
    store.write(store.key(name, "manifest.json"), manifest)
    marker = json.loads(store.read(store.key(name, "COMPLETE")))
    marker["manifest_sha256"] = hashlib.sha256(manifest).hexdigest()
    store.write(store.key(name, "COMPLETE"), json.dumps(marker).encode("utf-8"))


def when(days):
    return layout.iso(layout.utcnow() + datetime.timedelta(days=days))


def backup_storage(store, endpoint=None):
    options = {"root_path": store.root}
    if endpoint:
        options.update(endpoint=endpoint, bucket=store.bucket)
    return options


def decisions_of(result):
    return dict((d["name"], d) for d in result.get("decisions") or [])


def assert_intact(store, name):
    backup, checks = verify_backup(store, name, "checksum", 8)
    intact(backup.complete, "backup %s is not complete: %s" % (name, backup.problems))
    failed = [c for c in checks if c["passed"] is False]
    intact(not failed, "backup %s does not match its manifest: %s" % (name, failed))


# ------------------------------------------------------------------ finding 4
@pytest.mark.parametrize("times", [2, -1], ids=["transient-404", "persistent-404"])
def test_a_404_for_the_newest_complete_never_costs_the_backup(call, stack, source, root, times):
    from s3_request_log import S3RequestLog  # pylint: disable=import-outside-toplevel
    copy_backup(source, root, "older", backup_time=when(-3))
    copy_backup(source, root, "newest")
    with S3RequestLog(stack["BACKUP_STORAGE_ENDPOINT"]) as proxy:
        fault = proxy.inject("GET", r"^/%s/%s/newest/COMPLETE$" % (root.bucket, root.root), "not_found", times)
        rc, pruned = call("milvus_backup_prune", {"keep_last": 1, "keep_incomplete_for": "0",
                                                  "backup_storage": backup_storage(root, proxy.endpoint),
                                                  "milvus_storage": NO_MILVUS_STORAGE})
        assert fault.hits >= 1, "the proxy never answered 404 for COMPLETE"
        assert rc == 0, pruned.get("msg")
        newest = decisions_of(pruned)["newest"]
        intact(newest["action"] == "keep", "prune decided to delete the newest backup: %s" % newest)
        if times == -1:
            assert newest["status"] == "unreadable" and "is listed but reading it answered" in newest["reasons"][0]
            assert decisions_of(pruned)["older"]["action"] == "keep", "the newest readable one is kept"
            rc, absent = call("milvus_backup", {"name": "newest", "state": "absent",
                                                "backup_storage": backup_storage(root, proxy.endpoint)})
            assert rc != 0 and "backup 'newest' was not deleted" in absent["msg"], absent.get("msg")
            assert "unexpected error" not in absent["msg"]
        else:
            assert newest["status"] == "complete" and pruned["deleted"] == ["older"]
    assert_intact(root, "newest")


# ------------------------------------------------------------------ finding 5
def test_folders_that_are_not_backups_are_left_alone(call, source, root):
    copy_backup(source, root, "good")
    for key in ("photos/cat.jpg", "crashed_milvus_backup/binlogs/insert_log/1/2/3/3/100/4", "insert_log/1/2/3/4/5"):
        root.write(root.key(key), b"not a backup")
    before = keys_under(root, root.key() + "/")
    rc, pruned = call("milvus_backup_prune", {"keep_last": 1, "keep_incomplete_for": "0",
                                              "backup_storage": backup_storage(root),
                                              "milvus_storage": NO_MILVUS_STORAGE})
    assert rc == 0, pruned.get("msg")
    assert list(decisions_of(pruned)) == ["good"] and pruned["deleted"] == []
    assert sorted(o["name"] for o in pruned["not_backups"]) == ["crashed_milvus_backup", "insert_log", "photos"]
    rc, absent = call("milvus_backup", {"name": "photos", "state": "absent", "backup_storage": backup_storage(root)})
    assert rc != 0 and "is not a backup" in absent["msg"], absent.get("msg")
    rc, info = call("milvus_backup_info", {"backup_storage": backup_storage(root)})
    assert rc == 0 and [b["name"] for b in info["backups"]] == ["good"] and len(info["not_backups"]) == 3
    after = keys_under(root, root.key() + "/")
    intact(after == before, "objects were deleted: %s" % sorted(before - after))


def test_a_backup_location_at_milvus_root_is_refused_or_left_alone(call, stack):
    from s3_request_log import S3RequestLog  # pylint: disable=import-outside-toplevel
    milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
    folders = [f for f in milvus_store.list_dirs("files/")
               if f in ("insert_log", "stats_log", "index_files", "delta_log")]
    assert "insert_log" in folders, "Milvus's bucket holds binlogs (quick_setup was flushed)"
    before = keys_under(milvus_store, "files/")
    at_milvus_root = {"bucket": stack["MILVUS_STORAGE_BUCKET"], "root_path": "files"}
    with S3RequestLog(stack["MILVUS_STORAGE_ENDPOINT"]) as proxy:
        # Both stores known, on one endpoint: refused before any request.
        same = dict(endpoint=proxy.endpoint, bucket=stack["MILVUS_STORAGE_BUCKET"])
        for module, params in (("milvus_backup_prune", {"keep_last": 1}),
                               ("milvus_backup", {"name": "insert_log", "state": "absent"}),
                               ("milvus_backup_info", {})):
            rc, refused = call(module, dict(params, backup_storage=dict(at_milvus_root, endpoint=proxy.endpoint),
                                            milvus_storage=dict(same, root_path="files")))
            assert rc != 0 and "is Milvus's own root path 'files'" in refused["msg"], (module, refused.get("msg"))
        assert proxy.requests == [], "a request was sent before the refusal: %s" % proxy.requests[:5]
        # The overlap cannot be seen (the backup store reached through another address): nothing is a backup.
        rc, pruned = call("milvus_backup_prune", {"keep_last": 1, "keep_incomplete_for": "0",
                                                  "backup_storage": dict(at_milvus_root, endpoint=proxy.endpoint),
                                                  "milvus_storage": NO_MILVUS_STORAGE})
        assert rc == 0, pruned.get("msg")
        assert pruned["decisions"] == [] and pruned["deleted"] == [], pruned["msg"]
        assert set(folders) <= set(o["name"] for o in pruned["not_backups"])
        rc, absent = call("milvus_backup", {"name": "insert_log", "state": "absent",
                                            "backup_storage": dict(at_milvus_root, endpoint=proxy.endpoint)})
        assert rc != 0 and "is not a backup" in absent["msg"], absent.get("msg")
        writes = proxy.writes()
    intact(not writes, "requests that change Milvus's bucket were sent: %s" % writes[:5])
    after = keys_under(milvus_store, "files/")
    intact(not before - after, "%d of Milvus's %d objects are gone, e.g. %s"
           % (len(before - after), len(before), sorted(before - after)[:3]))


# ------------------------------------------------------------------ finding 6
def test_a_backup_dated_a_year_ahead_does_not_displace_the_real_newest(call, source, root):
    copy_backup(source, root, "from_the_future", backup_time=when(365))
    copy_backup(source, root, "real_newest")
    copy_backup(source, root, "older", backup_time=when(-2))
    rc, pruned = call("milvus_backup_prune", {"keep_last": 1, "backup_storage": backup_storage(root),
                                              "milvus_storage": NO_MILVUS_STORAGE})
    assert rc == 0, pruned.get("msg")
    decisions = decisions_of(pruned)
    intact(decisions["real_newest"]["action"] == "keep", "the real newest backup was deleted: %s" % decisions)
    assert decisions["real_newest"]["reasons"][0] == "newest complete backup: always kept"
    assert decisions["from_the_future"]["action"] == "keep"
    assert decisions["from_the_future"]["reasons"][0].endswith(
        "in the future: clock skew or an edited manifest; kept, not counted")
    assert pruned["deleted"] == ["older"]
    assert_intact(root, "real_newest")


# ------------------------------------------------------------------ findings 7 and 8
def test_damaged_backups_next_to_good_ones(call, source, root):
    copy_backup(source, root, "good_new")
    copy_backup(source, root, "good_old", backup_time=when(-2))
    copy_backup(source, root, "touched")
    root.write(root.key("touched", "COMPLETE"), b"")
    copy_backup(source, root, "listy", manifest=b"[]")
    copy_backup(source, root, "word_time", backup_time="yesterday")
    rc, info = call("milvus_backup_info", {"backup_storage": backup_storage(root)})
    assert rc == 0, info.get("msg")
    listed = dict((b["name"], b) for b in info["backups"])
    assert set(listed) == {"good_new", "good_old", "touched", "listy", "word_time"}
    assert listed["touched"]["status"] == "corrupt" and listed["touched"]["problems"] == ["COMPLETE is empty"]
    assert listed["listy"]["problems"] == ["manifest.json is a list, not a JSON object"]
    assert listed["word_time"]["problems"][0].startswith("manifest.json backup.backup_time must be a UTC time")
    assert listed["good_new"]["status"] == "complete"
    rc, pruned = call("milvus_backup_prune", {"keep_last": 1, "backup_storage": backup_storage(root),
                                              "milvus_storage": NO_MILVUS_STORAGE})
    assert rc == 0, pruned.get("msg")
    decisions = decisions_of(pruned)
    assert pruned["deleted"] == ["good_old"]
    for name in ("touched", "listy", "word_time"):
        assert decisions[name]["action"] == "keep" and "never deleted automatically" in decisions[name]["reasons"][0]
    rc, only = call("milvus_backup_prune", {"keep_last": 1, "name_pattern": "good_*",
                                            "backup_storage": backup_storage(root),
                                            "milvus_storage": NO_MILVUS_STORAGE})
    assert rc == 0 and list(decisions_of(only)) == ["good_new"], only.get("msg")
    rc, restored = call("milvus_restore", {"name": "listy", "suffix": "_never", "backup_storage": backup_storage(root)})
    assert rc != 0 and restored["msg"].startswith("backup 'listy' is corrupt: manifest.json is a list"), restored["msg"]
    rc, verified = call("milvus_verify", {"name": "word_time", "level": "checksum",
                                          "backup_storage": backup_storage(root)})
    assert rc != 0 and "backup_complete (manifest.json backup.backup_time must be a UTC time" in verified["msg"], \
        verified["msg"]
    rc, absent = call("milvus_backup", {"name": "listy", "state": "absent", "backup_storage": backup_storage(root)})
    assert rc == 0 and absent["status"] == "absent", absent.get("msg")
    assert_intact(root, "good_new")
