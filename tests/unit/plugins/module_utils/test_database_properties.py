"""Database properties: recorded per database, written in milvus-backup's meta, read back from either
tool's backups; encrypted databases refused before anything is written.

Encrypted databases exist from Milvus 2.6 only, which cannot run here: the database's properties come
from a fake connection (test double) with the keys milvus-backup tests for
(zilliztech/milvus-backup ``core/backup/database_task.go`` ``cipherEnabled``: ``cipher.ezID`` and
``cipher.key`` both non-empty).
"""

import types

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, catalog, manifest
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import VectoropsError


def test_milvus_backup_meta_lists_properties_as_key_value_pairs():
    """``core/proto/backup.proto DatabaseBackupInfo``: db_name, db_id, repeated KeyValuePair properties."""
    entries = manifest.database_backups(["default", "tenants"], {"tenants": {"database.replica.number": "2",
                                                                             "database.max.collections": "9"}})
    assert entries == [{"db_name": "default"},
                       {"db_name": "tenants", "properties": [{"key": "database.max.collections", "value": "9"},
                                                             {"key": "database.replica.number", "value": "2"}]}]


def test_properties_are_read_back_from_either_tool():
    recorded = {"t": {"database.replica.number": "2"}, "default": {}}
    ours = types.SimpleNamespace(manifest={"database_properties": recorded})
    assert catalog.database_properties_of(ours) == {"t": {"database.replica.number": "2"}}
    theirs = types.SimpleNamespace(manifest=None, meta=lambda: {"database_backups": [
        {"db_name": "t", "db_id": 4, "properties": [{"key": "database.max.collections", "value": "3"}]},
        {"db_name": "default"}]})
    assert catalog.database_properties_of(theirs) == {"t": {"database.max.collections": "3"}}
    old = types.SimpleNamespace(manifest={"collections": []})  # written before properties were recorded
    assert catalog.database_properties_of(old) == {}


def job_with(properties):
    conn = types.SimpleNamespace(full_uri="http://127.0.0.1:19530", timeout=5, params={},
                                 database_properties=properties.get)
    store = types.SimpleNamespace(key=lambda *parts: "/".join(parts))
    return backup.BackupJob(conn, None, store, dict(name="b1"))


def test_an_encrypted_database_is_refused_and_others_recorded():
    job = job_with({"plain": {"database.replica.number": "1"}, "legacy": None,
                    "secret": {"cipher.ezID": "17", "cipher.key": "kms-key-1", "cipher.enabled": "true"}})
    assert job._database_properties(["plain", "legacy"]) == {"plain": {"database.replica.number": "1"}}  # pylint: disable=protected-access
    with pytest.raises(VectoropsError, match=r"database secret is encrypted \(cipher.ezID, cipher.key\)") as caught:
        job._database_properties(["plain", "secret"])  # pylint: disable=protected-access
    assert caught.value.details["reason"] == "unsupported" and "kms-key-1" not in caught.value.message
    # a half-configured cipher (no key) is not an encrypted database, as in milvus-backup
    half = job_with({"x": {"cipher.ezID": "17", "cipher.key": ""}})
    assert half._database_properties(["x"]) == {"x": {"cipher.ezID": "17", "cipher.key": ""}}  # pylint: disable=protected-access
