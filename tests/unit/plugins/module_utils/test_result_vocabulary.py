"""One result vocabulary: the backup summary every module returns as ``backup``, and the engine results built
from it, checked on a local backup store (no server).

``format`` is how the rows are stored (binlog, logical), ``written_by`` the tool that wrote the backup
(vectorops, milvus-backup, unknown); ``status`` is ``absent`` for a backup that does not exist.
"""

import datetime
import hashlib
import json

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, catalog, manifest, retention, storage, \
    verify
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import VectoropsError

SUMMARY_KEYS = {"name", "backup_id", "format", "written_by", "status", "complete", "location", "problems", "created_at",
                "backup_time", "size", "objects", "collections", "rows", "milvus_version", "tool_version",
                "verified_at", "verified_level", "in_progress", "last_modified"}
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc)


def local_params(tmp_path, **params):
    return dict(params, backup_storage={"type": "local", "path": str(tmp_path)})


def local(tmp_path):
    return storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))


def put(store, name, rel, doc):
    store.write(store.key(name, rel), doc if isinstance(doc, bytes) else json.dumps(doc).encode())


def complete_backup(store, name, data_format=None, backup_time="2026-11-20T00:00:00.000000Z"):
    """A complete backup of this collection: a manifest and its COMPLETE marker."""
    manifest = {"backup": {"id": "id-%s" % name, "backup_time": backup_time, "started_at": backup_time,
                           "milvus_version": "v2.3.5"},
                "collections": [{"db_name": "default", "name": "c", "id": 1, "schema": {}}],
                "totals": {"bytes": 5, "objects": 1, "rows": 3}}
    if data_format:
        manifest["data_format"] = data_format
    body = json.dumps(manifest).encode()
    put(store, name, "manifest.json", body)
    put(store, name, "COMPLETE", {"manifest_sha256": hashlib.sha256(body).hexdigest()})


def milvus_backup_backup(store, name):
    """A backup as milvus-backup writes it (meta/backup_meta.json and the level files, no manifest)."""
    put(store, name, "meta/backup_meta.json", {"id": "mb-1", "name": name, "milvus_version": "v2.3.5", "state_code": 0})
    put(store, name, "meta/collection_meta.json", {"infos": [{"collection_id": 1, "collection_name": "c",
                                                              "backup_timestamp": 470614213228232706}]})
    put(store, name, "meta/partition_meta.json", {"infos": [{"collection_id": 1, "partition_id": 2,
                                                             "partition_name": "_default"}]})
    put(store, name, "meta/segment_meta.json", {"infos": [{"collection_id": 1, "partition_id": 2, "segment_id": 3,
                                                           "num_of_rows": 7, "size": 40}]})


def incomplete_backup(store, name):
    put(store, name, "binlogs/insert_log/1/2/3/3/100/4", b"x")
    put(store, name, ".vectorops/IN_PROGRESS", {"id": "9", "started_at": "2026-01-02T00:00:00.000000Z"})


def test_summaries_say_format_and_written_by(tmp_path):
    store = local(tmp_path)
    complete_backup(store, "bin")
    complete_backup(store, "logic", data_format="logical")
    milvus_backup_backup(store, "mb")
    incomplete_backup(store, "half")
    expected = {"bin": ("binlog", "vectorops", "complete", "id-bin"),
                "logic": ("logical", "vectorops", "complete", "id-logic"),
                "mb": ("binlog", "milvus-backup", "complete", "mb-1"),
                "half": ("binlog", "vectorops", "incomplete", "9")}
    for name, (data_format, written_by, status, backup_id) in expected.items():
        summary = catalog.read_backup(store, name).summary()
        assert set(summary) == SUMMARY_KEYS, name
        assert (summary["format"], summary["written_by"], summary["status"], summary["backup_id"]) == \
            (data_format, written_by, status, backup_id), name
        assert summary["name"] == name and summary["location"] == store.url(store.key(name) + "/")
    assert catalog.read_backup(store, "bin").summary()["milvus_version"] == "v2.3.5"
    listed = dict((s["name"], (s["format"], s["written_by"])) for s in catalog.list_backups(store))
    assert listed == dict((name, want[:2]) for name, want in expected.items())


def test_a_backup_that_does_not_exist_is_absent(tmp_path):
    store = local(tmp_path)
    summary = catalog.read_backup(store, "nothing").summary()
    assert set(summary) == SUMMARY_KEYS
    assert summary["status"] == "absent" and summary["complete"] is False and summary["backup_id"] is None
    assert summary["written_by"] == "unknown" and summary["format"] is None
    assert catalog.summary_for_failure(store, "nothing") == summary


def test_a_failure_summary_is_the_name_alone_when_the_storage_cannot_be_read(tmp_path, monkeypatch):
    store = local(tmp_path)
    complete_backup(store, "bin")
    assert catalog.summary_for_failure(store, "bin") == catalog.read_backup(store, "bin").summary()

    def unreadable(*_args, **_kwargs):
        raise VectoropsError("storage unreachable")

    monkeypatch.setattr(catalog, "read_backup", unreadable)
    assert catalog.summary_for_failure(store, "bin") == {"name": "bin"}


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "delete"])
def test_milvus_backup_state_absent_returns_the_backup_as_it_was(tmp_path, check_mode):
    store = local(tmp_path)
    complete_backup(store, "bin")
    before = catalog.read_backup(store, "bin").summary()
    result = backup.run(Context(local_params(tmp_path, name="bin", state="absent"), check_mode))
    assert result["changed"] and result["status"] == "absent" and result["deleted"]["objects"] == 2
    assert result["backup"] == before and result["backup"]["status"] == "complete"
    assert not {"name", "backup_id", "location", "format", "written_by", "previous_status"} & set(result)
    assert catalog.read_backup(store, "bin").exists is check_mode


def test_milvus_backup_state_absent_of_nothing(tmp_path):
    result = backup.run(Context(local_params(tmp_path, name="nothing", state="absent")))
    assert result["changed"] is False and result["status"] == "absent"
    assert result["backup"]["name"] == "nothing" and result["backup"]["status"] == "absent"


def test_milvus_backup_state_absent_of_a_milvus_backup_backup(tmp_path):
    store = local(tmp_path)
    milvus_backup_backup(store, "mb")
    result = backup.run(Context(local_params(tmp_path, name="mb", state="absent")))
    assert result["backup"]["written_by"] == "milvus-backup" and result["backup"]["status"] == "complete"
    assert not catalog.read_backup(store, "mb").exists


def test_prune_decisions_say_format_and_written_by(tmp_path, monkeypatch):
    store = local(tmp_path)
    complete_backup(store, "b_new", data_format="logical", backup_time="2026-11-21T00:00:00.000000Z")
    complete_backup(store, "b_old", backup_time="2026-11-01T00:00:00.000000Z")
    milvus_backup_backup(store, "mb")  # 2026-11-21T08:45:52Z: the newest
    monkeypatch.setattr(retention.layout, "utcnow", lambda: NOW)
    result = retention.run(Context(local_params(tmp_path, keep_last=1), check_mode=True))
    decisions = dict((d["name"], d) for d in result["decisions"])
    assert dict((name, (d["format"], d["written_by"])) for name, d in decisions.items()) == {
        "mb": ("binlog", "milvus-backup"), "b_new": ("logical", "vectorops"), "b_old": ("binlog", "vectorops")}
    assert decisions["b_old"]["action"] == "delete" and decisions["mb"]["action"] == "keep"
    assert catalog.read_backup(store, "b_old").exists, "check mode deletes nothing"


def test_verify_returns_the_backup_and_its_durations(tmp_path):
    store = local(tmp_path)
    incomplete_backup(store, "half")
    result = verify.run(Context(dict(local_params(tmp_path, name="half", level="exists"), fail_on_mismatch=False)))
    assert result["passed"] is False and result["recorded"] is None
    assert result["backup"]["written_by"] == "vectorops" and result["backup"]["status"] == "incomplete"
    assert "data_format" not in result["backup"]
    assert set(result["durations"]) == {"total"} and result["durations"]["total"] >= 0


def test_backup_and_restore_totals_are_one_shape():
    """manifest.totals_of is the totals of the manifest, of milvus_backup and of milvus_restore."""
    backed_up = [dict(partitions=[{}, {}], segments=[{}, {}, {}], row_count=50, objects=10, bytes=100),
                 dict(partitions=[{}], segments=[{}], row_count=7, objects=4, bytes=40)]
    expected = dict(collections=2, partitions=3, segments=4, rows=57, objects=14, bytes=140)
    assert manifest.totals_of(backed_up) == expected
    planned = [dict(partitions=2, segments=3, rows=50, objects=10, bytes=100),
               dict(partitions=1, segments=1, rows=7, objects=4, bytes=40)]
    assert manifest.totals_of(planned) == expected, "a check-mode backup plan counts the same way"
    restored = [dict(partitions=2, segments=3, objects=10, bytes=100, rows_expected=50, rows_restored=50),
                dict(partitions=1, segments=1, objects=4, bytes=40, rows_expected=7, rows_restored=None)]
    assert manifest.totals_of(restored, rows=lambda e: e["rows_restored"]) == dict(expected, rows=50)
    assert manifest.totals_of(restored, rows=lambda e: e["rows_expected"])["rows"] == 57
    assert manifest.totals_of([]) == dict(collections=0, partitions=0, segments=0, rows=0, objects=0, bytes=0)


def test_a_backup_just_written_summarizes_like_one_read_back(tmp_path):
    """milvus_backup's ``backup`` after a run is built from what it wrote, without reading it back."""
    store = local(tmp_path)
    complete_backup(store, "bin", data_format="logical")
    stored = catalog.read_backup(store, "bin")
    marker = store.read(store.key("bin", "COMPLETE"))
    written = catalog.StoredBackup.written(store, "bin", stored.manifest, marker).summary()
    read_back = stored.summary()
    assert written == dict(read_back, last_modified=written["last_modified"])
    assert written["format"] == "logical" and written["written_by"] == "vectorops" and written["status"] == "complete"
