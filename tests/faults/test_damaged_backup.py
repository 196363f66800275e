"""A backup object damaged after it was written (3 flipped bytes in one insert log) never reaches Milvus.

Milvus 2.3.5 panics on a binlog whose Parquet CRC does not match ("CRC check failed") and takes the
whole server down; the restore must refuse the object by its manifest SHA-256 before it creates or
imports anything, whether the backup is staged into Milvus's bucket or read there in place.
"""

import pytest

from conftest import intact, store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog


def flip_three_bytes(store, name):
    """Flip three bytes in the middle of the first vector insert log of backup ``name``; return its key."""
    backup = catalog.read_backup(store, name)
    victim = [o["key"] for o in backup.manifest["objects"] if "/insert_log/" in o["key"] and o["key"].split("/")[-2] == "101"][0]
    data = bytearray(store.read(backup.paths.key(victim)))
    for offset in (len(data) // 2, len(data) // 2 + 7, len(data) // 2 + 19):
        data[offset] ^= 0x5A
    store.write(backup.paths.key(victim), bytes(data))
    return victim


@pytest.fixture(scope="module")
def catalog_collection(milvus_client):
    import example_data  # pylint: disable=import-outside-toplevel
    example_data.load_catalog(milvus_client, rows_per_partition=200)
    return "catalog"


# In place with verify_checksums=false the damage would reach Milvus: documented as dangerous, not run.
@pytest.mark.parametrize("in_place, verify_checksums", [(False, None), (False, False), (True, None)],
                         ids=["staged-default", "staged-verify_checksums=false", "in-place-default"])
def test_a_damaged_insert_log_is_refused_before_import(call, stack, stack_control, milvus_client, catalog_collection,
                                                       unique, in_place, verify_checksums):
    storage = {"bucket": stack["MILVUS_STORAGE_BUCKET"], "root_path": "backups_in_place"} if in_place else {}
    name = "damaged_%s" % unique
    rc, made = call("milvus_backup", {"name": name, "collections": [catalog_collection], "backup_storage": storage})
    assert rc == 0, made.get("msg")
    store = store_for(stack, "BACKUP_STORAGE", storage.get("bucket", stack["BACKUP_STORAGE_BUCKET"]),
                      storage.get("root_path", "backup"))
    try:
        victim = flip_three_bytes(store, name)
        milvus_pids = stack_control.pids("milvus")
        params = {"name": name, "suffix": "_dmg", "backup_storage": storage}
        if verify_checksums is not None:
            params["verify_checksums"] = verify_checksums
        rc, failed = call("milvus_restore", params)
        assert rc != 0
        assert "backup object %s does not match its manifest SHA-256" % victim in failed["msg"]
        assert "nothing was imported from it" in failed["msg"]
        intact(not milvus_client.has_collection("catalog_dmg"), "a target was created from a damaged backup")
        intact(stack_control.pids("milvus") == milvus_pids and milvus_client.list_collections(), "Milvus went down")
        milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
        assert list(milvus_store.list("files/restore-temp-")) == [], "staging objects are removed"
        intact(milvus_client.query(catalog_collection, filter="", output_fields=["count(*)"],
                                   consistency_level="Strong")[0]["count(*)"] == made["collections"][0]["live_row_count"],
               "the source collection changed")
    finally:
        catalog.delete_backup(store, name)
