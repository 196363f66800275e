import json

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, storage


def local(tmp_path):
    return storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))


def put(store, name, rel, doc):
    store.write(store.key(name, rel), doc if isinstance(doc, bytes) else json.dumps(doc).encode())


def test_ours_complete_incomplete_and_corrupt(tmp_path):
    import hashlib  # pylint: disable=import-outside-toplevel
    store = local(tmp_path)
    body = json.dumps({"backup": {"id": "1", "backup_time": "2026-01-01T00:00:00.000000Z"}, "collections": [],
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
    import pytest  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.errors import VectoropsError  # pylint: disable=import-outside-toplevel
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
