import datetime
import hashlib
import json
import os
import re

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, backup_info, catalog, layout, progress, \
    restore, retention, storage, verify
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import NotFoundError, VectoropsError


def local(tmp_path):
    return storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))


def put(store, name, rel, doc):
    store.write(store.key(name, rel), doc if isinstance(doc, bytes) else json.dumps(doc).encode())


def test_ours_complete_incomplete_and_corrupt(tmp_path):
    store = local(tmp_path)
    # A manifest holds at least one collection (manifest_schema): the engine never writes one without.
    body = json.dumps({"backup": {"id": "1", "backup_time": "2026-01-01T00:00:00.000000Z"},
                       "collections": [{"db_name": "default", "name": "c", "id": 1, "schema": {}}],
                       "totals": {"bytes": 5, "objects": 1, "rows": 3}}).encode()
    put(store, "good", "manifest.json", body)
    put(store, "good", "COMPLETE", {"manifest_sha256": hashlib.sha256(body).hexdigest()})
    put(store, "bad", "manifest.json", body)
    put(store, "bad", "COMPLETE", {"manifest_sha256": "0" * 64})
    put(store, "half", "binlogs/insert_log/1/2/3/3/100/4", b"x")
    put(store, "half", ".vectorops/IN_PROGRESS", {"id": "9", "started_at": "2026-01-02T00:00:00.000000Z"})
    assert catalog.read_backup(store, "good").status == "complete"
    bad = catalog.read_backup(store, "bad")
    assert bad.status == "corrupt" and "does not match" in bad.problems[0]
    half = catalog.read_backup(store, "half")
    assert half.status == "incomplete" and half.format == "vectorops" and half.summary()["backup_id"] == "9"
    assert not catalog.read_backup(store, "none").exists
    names = [(b["name"], b["status"]) for b in catalog.list_backups(store)]
    assert sorted(names) == [("bad", "corrupt"), ("good", "complete"), ("half", "incomplete")]


def test_milvus_backup_level_files_reassemble(tmp_path):
    store = local(tmp_path)
    put(store, "mb", "meta/backup_meta.json", {"id": "x", "name": "mb", "milvus_version": "v2.3.5", "state_code": 0})
    put(store, "mb", "meta/collection_meta.json", {"infos": [{"collection_id": 1, "collection_name": "c",
                                                              "backup_timestamp": 470614213228232706}]})
    put(store, "mb", "meta/partition_meta.json", {"infos": [{"collection_id": 1, "partition_id": 2,
                                                             "partition_name": "_default"}]})
    put(store, "mb", "meta/segment_meta.json", {"infos": [{"collection_id": 1, "partition_id": 2, "segment_id": 3,
                                                           "num_of_rows": 7, "size": 40}]})
    backup = catalog.read_backup(store, "mb")
    assert backup.format == "milvus-backup" and backup.complete
    tree = backup.meta()
    assert tree["size"] == 40 and tree["collection_backups"][0]["partition_backups"][0]["segment_backups"][0]["num_of_rows"] == 7
    summary = backup.summary()
    assert summary["rows"] == 7 and summary["collections"] == ["default.c"]
    assert summary["backup_time"] == "2026-11-21T08:45:52.366000Z"


def test_delete_removes_markers_first(tmp_path, monkeypatch):
    store = local(tmp_path)
    for rel in ("COMPLETE", "meta/backup_meta.json", "manifest.json", "binlogs/insert_log/1/2/3/3/100/4"):
        put(store, "b", rel, b"{}")
    order = []
    original = store.delete

    def spy(keys):
        order.append(list(keys))
        original(keys)

    monkeypatch.setattr(store, "delete", spy)
    assert catalog.delete_backup(store, "b") == {"objects": 4, "bytes": 8}
    assert order[0] == ["backup/b/COMPLETE", "backup/b/meta/backup_meta.json"]
    assert not store.has_objects("backup/b/")


def test_a_snapshot_format_backup_is_refused_not_read_as_empty(tmp_path):
    """milvus-backup's snapshot format (default on Milvus >= 3.0: BackupInfo.format = "snapshot", no segments
    in the meta; zilliztech/milvus-backup core/restore/task.go NewTask refuses unknown formats) must not
    parse as a binlog backup with zero segments, which a restore would "restore" as empty collections."""
    store = local(tmp_path)
    info = {"id": "x", "name": "snap", "milvus_version": "v3.0.0", "state_code": 2, "format": "snapshot",
            "collection_backups": [{"collection_id": 1, "collection_name": "c", "db_name": "default"}]}
    put(store, "snap", "meta/backup_meta.json", dict((k, v) for k, v in info.items() if k != "collection_backups"))
    put(store, "snap", "meta/full_meta.json", info)
    backup = catalog.read_backup(store, "snap")
    with pytest.raises(VectoropsError, match="in milvus-backup's 'snapshot' format, which vectorops.milvus cannot read"):
        catalog.collections_of(backup)
    put(store, "bin", "meta/backup_meta.json", dict(info, name="bin", format=""))
    put(store, "bin", "meta/full_meta.json", dict(info, name="bin", format=""))
    assert [c["name"] for c in catalog.collections_of(catalog.read_backup(store, "bin"))] == ["c"]


# ---------------------------------------------------------------------------------------------------------------
# Issue 25: the catalogue only manages what it wrote, and retention never destroys.
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc)


def manifest_doc(name, backup_time="2026-11-20T00:00:00.000000Z"):
    """A manifest as the engine writes one (the parts manifest_schema checks)."""
    return {"format": "vectorops.milvus/backup", "format_version": 1, "data_format": "binlog",
            "backup": {"id": "id-%s" % name, "backup_time": backup_time, "started_at": backup_time},
            "collections": [{"db_name": "default", "name": "c", "id": 1, "schema": {"fields": []},
                             "partitions": [{"name": "_default", "id": 2, "row_count": 3, "segments": [3]}],
                             "segments": [{"id": 3, "partition_id": 2, "num_rows": 3}], "row_count": 3}],
            "objects": [{"key": "binlogs/insert_log/1/2/3/3/100/4", "size": 1, "sha256": "0" * 64}],
            "totals": {"bytes": 1, "objects": 1, "rows": 3}}


def complete(store, name, doc=None, raw=None, **kwargs):
    """A complete backup of ours: data, manifest, COMPLETE naming the manifest's SHA-256."""
    body = raw if raw is not None else json.dumps(doc if doc is not None else manifest_doc(name, **kwargs)).encode()
    put(store, name, "binlogs/insert_log/1/2/3/3/100/4", b"x")
    put(store, name, "manifest.json", body)
    put(store, name, "COMPLETE", {"manifest_sha256": hashlib.sha256(body).hexdigest()})
    return body


def age_files(store, name, seconds):
    """Make every object of ``name`` look ``seconds`` old to the listing (as on a real store, days later)."""
    then = (layout.utcnow() - datetime.timedelta(seconds=seconds)).timestamp()
    for obj in store.list(store.key(name) + "/"):
        os.utime(store._path(obj.key), (then, then))  # pylint: disable=protected-access


def params(tmp_path, **extra):
    return dict(extra, backup_storage={"type": "local", "path": str(tmp_path)})


def prune(tmp_path, check_mode=False, **policy):
    return retention.run(Context(params(tmp_path, **policy), check_mode=check_mode))


@pytest.fixture
def no_pauses(monkeypatch):
    monkeypatch.setattr(catalog, "READ_RETRY_DELAYS", (0, 0, 0), raising=False)


def flaky_reads(monkeypatch, suffix, failures):
    """storage.LocalStore.read answers "does not exist" for keys ending in ``suffix``, ``failures`` times
    (-1: always), as an S3 service or proxy does for an object its listing shows."""
    original = storage.LocalStore.read
    left = {"n": failures}

    def read(self, key):
        if key.endswith(suffix) and left["n"] != 0:
            left["n"] -= 1
            raise NotFoundError("read object: %s does not exist" % self.url(key))
        return original(self, key)

    monkeypatch.setattr(storage.LocalStore, "read", read)


# ------------------------------------------------------------------ finding 4: a transient 404 on COMPLETE
def test_a_transient_404_on_the_newest_complete_is_read_again_and_prune_keeps_it(tmp_path, monkeypatch, no_pauses):
    store = local(tmp_path)
    complete(store, "older", backup_time="2026-11-01T00:00:00.000000Z")
    complete(store, "newest", backup_time="2026-11-20T00:00:00.000000Z")
    flaky_reads(monkeypatch, "/newest/COMPLETE", 2)
    result = prune(tmp_path, keep_last=1, keep_incomplete_for="0")
    decisions = dict((d["name"], d) for d in result["decisions"])
    assert decisions["newest"]["status"] == "complete" and decisions["newest"]["action"] == "keep"
    assert result["deleted"] == ["older"] and catalog.read_backup(store, "newest").complete


def test_a_listed_complete_that_stays_404_is_unreadable_and_never_deleted(tmp_path, monkeypatch, no_pauses):
    store = local(tmp_path)
    complete(store, "older", backup_time="2026-11-01T00:00:00.000000Z")
    complete(store, "newest", backup_time="2026-11-20T00:00:00.000000Z")
    age_files(store, "newest", 30 * 86400)
    flaky_reads(monkeypatch, "/newest/COMPLETE", -1)
    result = prune(tmp_path, keep_last=1, keep_incomplete_for="0")
    decisions = dict((d["name"], d) for d in result["decisions"])
    assert decisions["newest"]["status"] == "unreadable" and decisions["newest"]["action"] == "keep"
    assert "COMPLETE is listed but reading it answered \"does not exist\" 4 times" in decisions["newest"]["reasons"][0]
    assert decisions["older"]["action"] == "keep", "the newest readable complete backup is kept"
    assert store.has_objects(store.key("newest") + "/")
    with pytest.raises(VectoropsError, match="backup 'newest' was not deleted: COMPLETE is listed but"):
        backup.run(Context(params(tmp_path, name="newest", state="absent")))
    with pytest.raises(VectoropsError, match="backup 'newest' could not be read"):
        catalog.require_complete(store, "newest")
    monkeypatch.undo()
    assert catalog.read_backup(store, "newest").complete, "nothing of it was deleted"


def test_a_storage_error_on_one_backup_keeps_it_and_explicit_reads_get_the_error_itself(tmp_path, monkeypatch):
    store = local(tmp_path)
    complete(store, "denied", backup_time="2026-11-20T00:00:00.000000Z")
    complete(store, "fine", backup_time="2026-11-01T00:00:00.000000Z")
    original = storage.LocalStore.read

    def read(self, key):
        if key.endswith("/denied/manifest.json"):
            raise storage.StorageError("read object: access denied to %s" % self.url(key), reason="access_denied")
        return original(self, key)

    monkeypatch.setattr(storage.LocalStore, "read", read)
    result = prune(tmp_path, keep_last=1, keep_incomplete_for="0")
    decisions = dict((d["name"], d) for d in result["decisions"])
    assert decisions["denied"]["status"] == "unreadable" and decisions["denied"]["action"] == "keep"
    assert "manifest.json could not be read: read object: access denied" in decisions["denied"]["reasons"][0]
    assert decisions["fine"]["action"] == "keep" and result["deleted"] == []
    with pytest.raises(storage.StorageError, match="access denied") as err:
        catalog.require_complete(store, "denied")
    assert err.value.details["reason"] == "access_denied", "the storage's own error, its type and reason kept"


def test_a_marker_that_really_went_away_is_read_from_a_fresh_listing(tmp_path, monkeypatch, no_pauses):
    """The writer released IN_PROGRESS after COMPLETE between the listing and the read: not unreadable."""
    store = local(tmp_path)
    complete(store, "b")
    put(store, "b", ".vectorops/IN_PROGRESS", {"started_at": "2026-11-20T00:00:00.000000Z"})
    original = storage.LocalStore.read

    def read(self, key):
        if key.endswith("/IN_PROGRESS"):
            self.delete([key])
        return original(self, key)

    monkeypatch.setattr(storage.LocalStore, "read", read)
    loaded = catalog.read_backup(store, "b")
    assert loaded.status == "complete" and loaded.in_progress is None


# ------------------------------------------------------------------ finding 5: folders that are not backups
def milvus_root_folders(store):
    for key in ("insert_log/1/2/3/100/4", "stats_log/1/2/3/100/5", "index_files/7/1/2/3/HNSW", "delta_log/1/2/3/6"):
        store.write(store.key(key), b"milvus data")


def test_folders_without_markers_are_not_backups_and_never_deleted(tmp_path):
    store = local(tmp_path)
    milvus_root_folders(store)
    put(store, "crashed_milvus_backup", "binlogs/insert_log/1/2/3/3/100/4", b"x")  # no meta: not a backup
    put(store, "photos", "cat.jpg", b"meow")
    complete(store, "good")
    before = sorted(o.key for o in store.list(""))
    result = prune(tmp_path, keep_last=1, keep_incomplete_for="0")
    assert result["deleted"] == [] and [d["name"] for d in result["decisions"]] == ["good"]
    assert len(result["not_backups"]) == 6 and "left alone 6 folder(s) that are not backups" in result["msg"]
    summaries, others = catalog.scan(store)
    assert [s["name"] for s in summaries] == ["good"]
    assert sorted(o["name"] for o in others) == ["crashed_milvus_backup", "delta_log", "index_files", "insert_log",
                                                 "photos", "stats_log"]
    assert "not written by vectorops.milvus or milvus-backup; left alone" in others[0]["reason"]
    for name in ("insert_log", "photos"):
        with pytest.raises(VectoropsError, match="is not a backup: it holds no COMPLETE, manifest.json"):
            backup.run(Context(params(tmp_path, name=name, state="absent")))
        with pytest.raises(VectoropsError, match="is not a backup"):
            catalog.delete_backup(store, name)
    assert sorted(o.key for o in store.list("")) == before, "not one object was deleted"
    info = backup_info.run(Context(params(tmp_path)))
    assert [b["name"] for b in info["backups"]] == ["good"] and len(info["not_backups"]) == 6
    one = backup_info.run(Context(params(tmp_path, name="photos")))
    assert one["backup"] is None and one["backups"] == [] and one["not_backups"][0]["name"] == "photos"
    with pytest.raises(NotFoundError, match="is not a backup"):
        catalog.require_complete(store, "photos")


def test_a_backup_is_not_written_into_a_folder_that_is_not_one(tmp_path):
    store = local(tmp_path)
    put(store, "photos", "cat.jpg", b"meow")
    marker = progress.ProgressMarker(store, store.key("photos", layout.IN_PROGRESS), "photos", dict)
    with pytest.raises(VectoropsError, match="holds objects but is not a backup"):
        marker.claim()
    assert [o.key for o in store.list(store.key("photos") + "/")] == ["backup/photos/cat.jpg"]


# ------------------------------------------------------------------ deleting: never half-deleted and complete
def test_an_interrupted_deletion_is_recognised_never_complete_and_finished(tmp_path, monkeypatch):
    store = local(tmp_path)
    complete(store, "newer", backup_time="2026-11-20T00:00:00.000000Z")
    complete(store, "b", backup_time="2026-11-01T00:00:00.000000Z")
    put(store, "b", "meta/backup_meta.json", {"id": "x"})
    put(store, "b", ".vectorops/VERIFIED", {"verified_at": "2026-11-02T00:00:00.000000Z"})
    original = storage.LocalStore.delete
    calls = []

    def dies_after_the_completion_markers(self, keys):
        keys = list(keys)
        calls.append(keys)
        if len(calls) == 2:
            raise VectoropsError("the process was killed")
        original(self, keys)

    monkeypatch.setattr(storage.LocalStore, "delete", dies_after_the_completion_markers)
    with pytest.raises(VectoropsError):
        catalog.delete_backup(store, "b")
    assert calls[0] == ["backup/b/COMPLETE", "backup/b/meta/backup_meta.json"]
    monkeypatch.undo()
    half = catalog.read_backup(store, "b")
    assert half.status == "deleting" and not half.complete and half.format == "vectorops"
    assert "a deletion started" in half.problems[0]
    with pytest.raises(VectoropsError, match="is being deleted or its deletion was interrupted"):
        catalog.require_complete(store, "b")
    assert [s["status"] for s in catalog.list_backups(store, "b")] == ["deleting"]
    result = prune(tmp_path, keep_last=5)
    assert result["deleted"] == ["b"] and not store.has_objects(store.key("b") + "/")
    assert "a deletion was interrupted" in dict((d["name"], d) for d in result["decisions"])["b"]["reasons"][0]


def test_delete_order_deleting_marker_first_and_last(tmp_path, monkeypatch):
    store = local(tmp_path)
    complete(store, "b")
    put(store, "b", ".vectorops/VERIFIED", {"verified_at": "2026-11-02T00:00:00.000000Z"})
    events = []
    write, delete = storage.LocalStore.write, storage.LocalStore.delete
    monkeypatch.setattr(storage.LocalStore, "write",
                        lambda self, key, data: (events.append(("write", key)), write(self, key, data))[1])
    monkeypatch.setattr(storage.LocalStore, "delete",
                        lambda self, keys: (events.append(("delete", list(keys))), delete(self, keys))[1])
    assert catalog.delete_backup(store, "b")["objects"] == 4
    assert events == [("write", "backup/b/.vectorops/DELETING"), ("delete", ["backup/b/COMPLETE"]),
                      ("delete", ["backup/b/binlogs/insert_log/1/2/3/3/100/4"]),
                      ("delete", ["backup/b/.vectorops/VERIFIED", "backup/b/manifest.json"]),
                      ("delete", ["backup/b/.vectorops/DELETING"])]


def test_a_half_deleted_name_is_not_claimed_for_a_new_backup(tmp_path):
    store = local(tmp_path)
    put(store, "b", ".vectorops/DELETING", {"started_at": "2026-11-20T00:00:00.000000Z"})
    put(store, "b", "manifest.json", b"{}")
    marker = progress.ProgressMarker(store, store.key("b", layout.IN_PROGRESS), "b", dict)
    with pytest.raises(VectoropsError, match="is half-deleted"):
        marker.claim()


# ------------------------------------------------------------------ finding 6: clocks
def test_a_future_dated_backup_does_not_displace_the_real_newest(tmp_path, monkeypatch):
    store = local(tmp_path)
    complete(store, "from_the_future", backup_time="2027-11-21T00:00:00.000000Z")
    complete(store, "real_newest", backup_time="2026-11-21T11:00:00.000000Z")
    complete(store, "older", backup_time="2026-11-10T00:00:00.000000Z")
    monkeypatch.setattr(retention.layout, "utcnow", lambda: NOW)
    result = prune(tmp_path, keep_last=1)
    decisions = dict((d["name"], d) for d in result["decisions"])
    assert decisions["real_newest"]["action"] == "keep"
    assert decisions["real_newest"]["reasons"][0] == "newest complete backup: always kept"
    assert decisions["from_the_future"]["action"] == "keep"
    assert decisions["from_the_future"]["reasons"][0] == ("backup time 2027-11-21T00:00:00.000000Z is 364.5d in the "
                                                          "future: clock skew or an edited manifest; kept, not counted")
    assert result["deleted"] == ["older"]


def test_a_dead_writer_with_a_clock_a_year_ahead_does_not_block_absent_or_prune(tmp_path, monkeypatch):
    store = local(tmp_path)
    ahead = layout.iso(layout.utcnow() + datetime.timedelta(days=365))
    put(store, "half", "binlogs/insert_log/1/2/3/3/100/4", b"x")
    put(store, "half", ".vectorops/IN_PROGRESS", {"host": "skewed-host", "pid": 7, "heartbeat_at": ahead,
                                                  "started_at": ahead})
    age_files(store, "half", 3600)
    result = prune(tmp_path, keep_last=1, keep_incomplete_for="30m", check_mode=True)
    reason = result["decisions"][0]["reasons"][0]
    assert result["deleted"] == ["half"], reason
    assert "is 365.0d in the future (the clock of host skewed-host is ahead), so it is not trusted" in reason
    assert re.search(r"the storage service last stored the marker 3[56]\d\ds ago, so its writer is gone", reason)
    assert catalog.read_backup(store, "half").in_progress["stored_at"], "the listing's time of the marker comes with it"
    assert backup.run(Context(params(tmp_path, name="half", state="absent")))["status"] == "absent"


# ------------------------------------------------------------------ finding 7: one damaged backup blocks nothing
DAMAGE = {
    "touched_complete": lambda store: (complete(store, "touched_complete"),
                                       put(store, "touched_complete", "COMPLETE", b"")),
    "list_manifest": lambda store: complete(store, "list_manifest", raw=b"[1, 2]"),
    "int_time": lambda store: complete(store, "int_time", doc=dict(manifest_doc("x"), backup={"backup_time": 17})),
    "word_time": lambda store: complete(store, "word_time",
                                        doc=dict(manifest_doc("x"), backup={"backup_time": "yesterday"})),
    "null_manifest": lambda store: complete(store, "null_manifest", raw=b"null"),
    "garbage_marker": lambda store: (put(store, "garbage_marker", "binlogs/x", b"x"),
                                     put(store, "garbage_marker", ".vectorops/IN_PROGRESS", b"\x00not json")),
    "mb_list_meta": lambda store: (put(store, "mb_list_meta", "meta/backup_meta.json", {"id": "m"}),
                                   put(store, "mb_list_meta", "meta/full_meta.json", [1])),
    "mb_word_ts": lambda store: (put(store, "mb_word_ts", "meta/backup_meta.json", {"id": "m"}),
                                 put(store, "mb_word_ts", "meta/full_meta.json", {"backup_timestamp": "yesterday"})),
}


def test_damaged_backups_are_listed_with_their_problem_and_the_others_pruned(tmp_path, monkeypatch):
    store = local(tmp_path)
    for damage in DAMAGE.values():
        damage(store)
    complete(store, "good_new", backup_time="2026-11-20T00:00:00.000000Z")
    complete(store, "good_old", backup_time="2026-11-01T00:00:00.000000Z")
    listed = dict((s["name"], s) for s in backup_info.run(Context(params(tmp_path)))["backups"])
    assert set(listed) == set(DAMAGE) | {"good_new", "good_old"}
    expected = {"touched_complete": "COMPLETE is empty", "list_manifest": "manifest.json is a list, not a JSON object",
                "int_time": "manifest.json backup.backup_time must be a UTC time",
                "word_time": "manifest.json backup.backup_time must be a UTC time",
                "null_manifest": "manifest.json is null, not a JSON object",
                "mb_list_meta": "meta/full_meta.json is a list, not a JSON object",
                "mb_word_ts": "meta/full_meta.json backup_timestamp must be an integer or null"}
    for name, problem in expected.items():
        assert listed[name]["status"] == "corrupt" and listed[name]["problems"][0].startswith(problem), listed[name]
    assert listed["garbage_marker"]["status"] == "incomplete"
    assert listed["garbage_marker"]["problems"][0].startswith(".vectorops/IN_PROGRESS is not valid JSON")
    monkeypatch.setattr(retention.layout, "utcnow", lambda: NOW)
    result = prune(tmp_path, keep_last=1, keep_incomplete_for="1000d")
    decisions = dict((d["name"], d) for d in result["decisions"])
    assert result["deleted"] == ["good_old"] and decisions["good_new"]["action"] == "keep"
    assert all(decisions[name]["action"] == "keep" for name in DAMAGE)
    assert "never deleted automatically" in decisions["list_manifest"]["reasons"][0]


def test_name_pattern_excludes_a_damaged_backup_before_reading_it(tmp_path, monkeypatch):
    store = local(tmp_path)
    DAMAGE["list_manifest"](store)
    complete(store, "nightly_2", backup_time="2026-11-20T00:00:00.000000Z")
    complete(store, "nightly_1", backup_time="2026-11-01T00:00:00.000000Z")
    read = storage.LocalStore.read
    seen = []
    monkeypatch.setattr(storage.LocalStore, "read", lambda self, key: (seen.append(key), read(self, key))[1])
    result = prune(tmp_path, keep_last=1, name_pattern="nightly_*")
    assert result["deleted"] == ["nightly_1"]
    assert not [k for k in seen if "/list_manifest/" in k], "the excluded backup was not read"


# ------------------------------------------------------------------ finding 8: malformed manifests, clear messages
MALFORMED = {
    "int_key": (lambda d: d["objects"][0].update(key=7), "manifest.json objects[0].key must be a string"),
    "str_size": (lambda d: d["objects"][0].update(size="1"), "manifest.json objects[0].size must be an integer"),
    "no_num_rows": (lambda d: d["collections"][0]["segments"][0].pop("num_rows"),
                    "manifest.json collections[0].segments[0].num_rows is missing"),
    "odd_format": (lambda d: d.update(data_format="parquet"),
                   "manifest.json data_format must be 'binlog' or 'logical'"),
    "no_collections": (lambda d: d.pop("collections"), "manifest.json collections is missing"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED) + ["list", "null"])
def test_a_malformed_manifest_is_corrupt_with_the_field_named_everywhere(tmp_path, name):
    store = local(tmp_path)
    if name in MALFORMED:
        doc = manifest_doc(name)
        MALFORMED[name][0](doc)
        complete(store, name, doc=doc)
        problem = MALFORMED[name][1]
    else:
        complete(store, name, raw=b"[]" if name == "list" else b"null")
        problem = "manifest.json is %s, not a JSON object" % ("a list" if name == "list" else "null")
    loaded = catalog.read_backup(store, name)
    assert loaded.status == "corrupt" and loaded.problems[0].startswith(problem) and loaded.manifest is None
    message = "backup %r is corrupt: %s" % (name, problem)
    with pytest.raises(VectoropsError) as err:
        restore.run(Context(params(tmp_path, name=name, uri="http://127.0.0.1:9")))
    assert err.value.message.startswith(message) and "state=absent" in err.value.message
    with pytest.raises(VectoropsError) as err:
        verify.run(Context(params(tmp_path, name=name, level="collection", uri="http://127.0.0.1:9")))
    assert err.value.message.startswith(message)
    checked = verify.run(Context(dict(params(tmp_path, name=name, level="exists"), fail_on_mismatch=False)))
    assert checked["passed"] is False and checked["backup"]["problems"][0].startswith(problem)
    info = backup_info.run(Context(params(tmp_path, name=name)))
    assert info["backup"]["status"] == "corrupt" and info["backup"]["collection_details"] == []
    deleted = backup.run(Context(params(tmp_path, name=name, state="absent")))
    assert deleted["status"] == "absent" and not catalog.read_backup(store, name).exists


# ------------------------------------------------------------------ finding 12: names are matched whole
@pytest.mark.parametrize("name", ["name\n", "name\r", "name\n\n", "\nname"])
def test_a_name_with_a_line_break_is_refused(name):
    with pytest.raises(VectoropsError, match="invalid backup name"):
        layout.validate_backup_name(name)
    assert not layout.BACKUP_NAME_RE.match(name)


def test_milvus_backup_neither_resumes_nor_plans_to_delete_what_it_cannot_read(tmp_path, monkeypatch, no_pauses):
    """An unreadable complete backup is not taken for an incomplete one to resume (that would rewrite it), and
    check mode of state=absent refuses what the real run refuses (a folder that is not a backup, an unreadable one)."""
    store = local(tmp_path)
    complete(store, "newest", backup_time="2026-11-20T00:00:00.000000Z")
    store.write(store.key("stranger", "data.bin"), b"not ours")
    flaky_reads(monkeypatch, "/newest/COMPLETE", -1)
    with pytest.raises(VectoropsError, match="backup 'newest' exists but could not be read .*nothing was written"):
        backup.BackupJob(None, None, store, dict(name="newest")).run()  # decided before Milvus is asked anything
    with pytest.raises(VectoropsError, match="backup 'newest' was not deleted"):
        backup.run(Context(params(tmp_path, name="newest", state="absent"), check_mode=True))
    with pytest.raises(VectoropsError, match="is not a backup"):
        backup.run(Context(params(tmp_path, name="stranger", state="absent"), check_mode=True))
    monkeypatch.undo()
    assert catalog.read_backup(store, "newest").complete and store.read(store.key("stranger", "data.bin")) == b"not ours"
