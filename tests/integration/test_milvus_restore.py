"""milvus_restore on the real Milvus 2.3.5 + SeaweedFS: round trips, seed 000's flow, staging, safe replace."""

import json

import pytest
import compare
import example_data
from conftest import free_loopback_port, store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog


def restore(call, params, check=False):
    rc, result = call("milvus_restore", params, check=check)
    assert rc == 0, result.get("msg")
    return result


def by_target(result):
    return dict((c["target"], c) for c in result["collections"])


def index_definition(description):
    """An index's definition without its build progress."""
    return dict((k, v) for k, v in description.items()
                if k not in ("total_rows", "indexed_rows", "pending_index_rows", "state"))


def deprecated(result, option):
    """Whether Ansible reported ``option`` as deprecated in this task's result."""
    return any("Param '%s' is deprecated" % option in d.get("msg", "") for d in result.get("deprecations") or [])


def staging_left(stack):
    milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
    return [o.key for o in milvus_store.list("files/restore-temp-")]


def test_round_trip_of_every_shape_into_other_databases(call, shapes, shapes_backup, stack, milvus_client,
                                                        scratch_databases, unique):
    name, _backup = shapes_backup
    dbs = {"default": "vo_rt_default_%s" % unique, "vo_db2": "vo_rt_db2_%s" % unique}
    scratch_databases.extend(dbs.values())
    result = restore(call, {"name": name, "rename": ["default.*:%s.*" % dbs["default"], "vo_db2.*:%s.*" % dbs["vo_db2"]]})
    assert result["status"] == "restored" and result["staging"]["needed"] is True
    assert result["milvus_reads_from"].startswith("s3://milvus-bucket/files at http://127.0.0.1:")
    assert staging_left(stack) == [], "staging objects are removed"
    restored = by_target(result)
    assert len(restored) == len(shapes)
    for label, want in shapes.items():
        src_db, coll = label.split(".")
        entry = restored["%s.%s" % (dbs[src_db], coll)]
        assert entry["action"] == "create" and entry["rows_restored"] == want["live"], label
        assert entry["rows_match"] in (True, None)
        src, dst = compare.client_for(stack, src_db), compare.client_for(stack, dbs[src_db])
        src_load = str(src.get_load_state(coll)["state"])
        assert str(dst.get_load_state(coll)["state"]) == src_load, "load state comes back: %s" % label
        # Milvus lists indexes in no stable order (a Go map), so compare them by name.
        src_index = sorted((i, index_definition(src.describe_index(coll, i))) for i in src.list_indexes(coll))
        dst_index = sorted((i, index_definition(dst.describe_index(coll, i))) for i in dst.list_indexes(coll))
        assert src_index and src_index == dst_index, label
        assert list(src.list_partitions(coll)) == list(dst.list_partitions(coll)), label
        assert compare.compare(src, coll, dst, coll) == want["live"], label
    aliased = compare.client_for(stack, dbs["vo_db2"]).describe_collection("docs_varchar")["aliases"]
    assert aliased == ["docs_live"]
    assert result["backup"]["name"] == name and result["backup"]["written_by"] == "vectorops"
    assert result["totals"]["rows"] == sum(c["rows_restored"] for c in result["collections"]) == sum(
        want["live"] for want in shapes.values())
    assert result["totals"]["collections"] == len(shapes)
    assert restored["%s.docs_varchar" % dbs["vo_db2"]]["aliases"]["restored"] == ["docs_live"]
    assert restored["%s.events_auto" % dbs["vo_db2"]]["load_state"] == "NotLoad"

    again = restore(call, {"name": name, "rename": ["default.*:%s.*" % dbs["default"], "vo_db2.*:%s.*" % dbs["vo_db2"]]})
    assert again["changed"] is False and set(c["action"] for c in again["collections"]) == {"skip"}


def test_seed_000_flow(call, stack, milvus_client, backup_store, scratch_databases, unique):
    """Back up quick_setup, drop it, restore it with suffix _recover; the top-3 COSINE search is unchanged."""
    db = "vo_seed_%s" % unique
    scratch_databases.append(db)
    milvus_client.create_database(db)
    client = compare.client_for(stack, db)
    example_data.load_quick_setup(client)
    before = client.search("quick_setup", data=[example_data.QUICK_SETUP_QUERY], anns_field="vector", limit=3,
                           search_params={"metric_type": "COSINE"}, output_fields=["color"])[0]
    name = "seed_%s" % unique
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", {"name": name, "collections": ["%s.quick_setup" % db]})
    assert rc == 0, made.get("msg")
    client.drop_collection("quick_setup")
    result = restore(call, {"name": name, "suffix": "_recover"})
    entry = result["collections"][0]
    assert entry["target"] == "%s.quick_setup_recover" % db and entry["rows_restored"] == 10
    assert entry["load_state"] == "Loaded" and {"vector", "id"} <= set(i["field_name"] for i in entry["indexes_created"])
    after = client.search("quick_setup_recover", data=[example_data.QUICK_SETUP_QUERY], anns_field="vector", limit=3,
                          search_params={"metric_type": "COSINE"}, output_fields=["color"])[0]
    assert [h["id"] for h in after] == [h["id"] for h in before]
    assert [h["distance"] for h in after] == pytest.approx([h["distance"] for h in before], abs=1e-6)
    assert [h["entity"]["color"] for h in after] == [h["entity"]["color"] for h in before]
    assert client.describe_collection("quick_setup_recover")["enable_dynamic_field"] is True


def test_rename_one_collection_into_another_database(call, shapes_backup, stack, scratch_databases, unique):
    name, _backup = shapes_backup
    db = "vo_ren_%s" % unique
    scratch_databases.append(db)
    result = restore(call, {"name": name, "collections": ["catalog"], "rename": ["default.catalog:%s.catalog_copy" % db]})
    assert [c["target"] for c in result["collections"]] == ["%s.catalog_copy" % db]
    assert compare.compare(compare.client_for(stack, "default"), "catalog", compare.client_for(stack, db),
                           "catalog_copy") == result["collections"][0]["rows_restored"]


def test_no_staging_when_the_backup_is_in_milvus_bucket(call, shapes, stack, scratch_databases, unique):
    name = "inbucket_%s" % unique
    in_bucket = {"bucket": stack["MILVUS_STORAGE_BUCKET"], "root_path": "vo-backups"}
    rc, made = call("milvus_backup", {"name": name, "collections": ["vo_db2.tenants_pk"], "backup_storage": in_bucket})
    assert rc == 0
    db = "vo_nostage_%s" % unique
    scratch_databases.append(db)
    try:
        result = restore(call, {"name": name, "rename": ["vo_db2.*:%s.*" % db], "backup_storage": in_bucket})
        assert result["staging"]["needed"] is False and result["staging"]["location"] is None
        assert result["collections"][0]["rows_restored"] == 120
    finally:
        catalog.delete_backup(store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "vo-backups"), name)


def test_restore_from_a_local_backup_streams_and_checks_checksums(call, shapes, stack, tmp_path, scratch_databases,
                                                                  unique):
    name = "localrs_%s" % unique
    local = {"type": "local", "path": str(tmp_path)}
    rc, made = call("milvus_backup", {"name": name, "collections": ["catalog"], "backup_storage": local})
    assert rc == 0
    manifest = json.loads((tmp_path / "backup" / name / "manifest.json").read_text())
    victim = [o for o in manifest["objects"] if "/101/" in o["key"]][0]
    db = "vo_local_%s" % unique
    scratch_databases.append(db)
    result = restore(call, {"name": name, "rename": ["default.*:%s.*" % db], "backup_storage": local})
    assert result["staging"]["needed"] and result["collections"][0]["rows_restored"] == made["collections"][0]["live_row_count"]
    # Damage one object: the streamed staging copy no longer matches the manifest, nothing is imported.
    path = tmp_path / "backup" / name / victim["key"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    rc, failed = call("milvus_restore", {"name": name, "rename": ["default.*:%s_2.*" % db], "backup_storage": local})
    scratch_databases.append("%s_2" % db)
    assert rc != 0 and "does not match its manifest SHA-256" in failed["msg"] and victim["key"] in failed["msg"]
    assert "%s_2" % db not in compare.client_for(stack, "default").list_databases(), "nothing was created"
    assert staging_left(stack) == []


def test_restore_a_milvus_backup_backup(call, milvus_client, quick_setup, stack, backup_store, scratch_databases, unique):
    from test_milvus_backup import foreign_quick_setup  # pylint: disable=import-outside-toplevel
    name = "mbkrs_%s" % unique
    foreign_quick_setup(milvus_client, stack, backup_store, name, level_only=True)
    db = "vo_mbk_%s" % unique
    scratch_databases.append(db)
    result = restore(call, {"name": name, "rename": ["default.*:%s.*" % db]})
    assert result["backup"]["written_by"] == "milvus-backup"
    entry = result["collections"][0]
    assert entry["rows_restored"] == 10 and entry["rows_match"] is True
    assert compare.compare(compare.client_for(stack, "default"), "quick_setup", compare.client_for(stack, db),
                           "quick_setup") == 10


def corrupt_backup_copy(backup_store, source_name, name):
    """A copy of a backup whose vector binlog is damaged (half of it zeroed) under an unchanged manifest.

    A default restore refuses it by checksum before anything is created; with verify_checksums=false
    (and the backup in Milvus's bucket, so no staging hashes it) the damage reaches Milvus's import,
    which fails the import job: the way to test what a restore does when an import fails."""
    source = catalog.read_backup(backup_store, source_name)
    for obj in backup_store.list(source.paths.prefix):
        data = backup_store.read(obj.key)
        if "/insert_log/" in obj.key and obj.key.split("/")[-2] == "101" and b"PAR1" in data[-8:]:
            data = data[:len(data) // 2] + b"\0" * (len(data) - len(data) // 2)
        backup_store.write(obj.key.replace("/%s/" % source_name, "/%s/" % name, 1), data)


def test_replace_with_a_failing_import_leaves_the_live_collection_alone(
        call, stack, milvus_client, scratch_databases, unique):
    db = "vo_repl_%s" % unique
    scratch_databases.append(db)
    milvus_client.create_database(db)
    client = compare.client_for(stack, db)
    example_data.load_catalog(client, rows_per_partition=100)
    good = "replgood_%s" % unique
    bad = "replbad_%s" % unique
    # In Milvus's bucket: no staging copy hashes the objects, so with verify_checksums=false the damage reaches Milvus.
    in_bucket = {"bucket": stack["MILVUS_STORAGE_BUCKET"], "root_path": "vo-backups"}
    backup_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "vo-backups")
    try:
        rc, made = call("milvus_backup", {"name": good, "collections": ["%s.catalog" % db], "backup_storage": in_bucket})
        assert rc == 0
        corrupt_backup_copy(backup_store, good, bad)
        client.delete("catalog", filter="pk < 50")  # the live collection now differs from both backups
        live_before = compare.all_rows(client, "catalog", ["*"])
        rc, failed = call("milvus_restore", {"name": bad, "existing": "replace", "backup_storage": in_bucket})
        assert rc != 0 and "does not match its manifest SHA-256" in failed["msg"], "refused by checksum first"
        assert client.list_collections() == ["catalog"]
        rc, failed = call("milvus_restore", {"name": bad, "existing": "replace", "verify_checksums": False,
                                             "backup_storage": in_bucket})
        assert rc != 0 and "import of segment" in failed["msg"] and "failed" in failed["msg"]
        assert "parquet" in failed["msg"] or "magic" in failed["msg"]
        assert client.list_collections() == ["catalog"], "the temporary collection was dropped"
        assert compare.all_rows(client, "catalog", ["*"]) == live_before, "the live collection is untouched"
        assert staging_left(stack) == []
        # The good backup replaces it, aliases move along, the old collection is kept on request.
        client.create_alias("catalog", "catalog_live")
        result = restore(call, {"name": good, "existing": "replace", "keep_replaced": True, "backup_storage": in_bucket})
        entry = result["collections"][0]
        assert entry["action"] == "replace" and entry["swap"]["aliases_moved"] == ["catalog_live"]
        assert entry["rows_restored"] == made["collections"][0]["live_row_count"]
        assert sorted(client.list_collections()) == sorted(["catalog", entry["swap"]["old_collection"]])
        assert client.describe_collection("catalog")["aliases"] == ["catalog_live"]
        assert client.query("catalog", filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"] \
            == made["collections"][0]["live_row_count"]
        again = restore(call, {"name": good, "replace": True, "backup_storage": in_bucket})
        assert again["changed"] is False, "replace is idempotent too (here through the deprecated boolean)"
        assert deprecated(again, "replace")
    finally:
        for name in (good, bad):
            catalog.delete_backup(backup_store, name)


def test_existing_target_without_options_fails_naming_them(call, shapes_backup):
    name, _backup = shapes_backup
    rc, result = call("milvus_restore", {"name": name, "collections": ["quick_setup"]})
    assert rc != 0 and "already exists" in result["msg"]
    for option in ("existing=replace", "existing=drop", "existing=skip_create", "suffix/rename"):
        assert option in result["msg"]


def test_drop_existing_and_skip_create(call, shapes_backup, stack, milvus_client, scratch_databases, unique):
    name, _backup = shapes_backup
    db = "vo_drop_%s" % unique
    scratch_databases.append(db)
    first = restore(call, {"name": name, "collections": ["vo_db2.tenants_pk"], "rename": ["vo_db2.*:%s.*" % db]})
    client = compare.client_for(stack, db)
    client.alter_collection_properties("tenants_pk", properties={"vectorops.restored_from": "someone_else"})
    dropped = restore(call, {"name": name, "collections": ["vo_db2.tenants_pk"], "rename": ["vo_db2.*:%s.*" % db],
                             "existing": "drop"})
    assert dropped["collections"][0]["action"] == "drop_and_create" and dropped["collections"][0]["rows_restored"] == 120
    assert first["collections"][0]["rows_restored"] == 120
    # skip_create: an empty collection with the same schema receives the data.
    client.drop_collection("tenants_pk")
    restore(call, {"name": name, "collections": ["vo_db2.tenants_pk"], "rename": ["vo_db2.*:%s.*" % db], "meta_only": True,
                   "load": False})
    assert client.get_collection_stats("tenants_pk")["row_count"] == 0
    again = restore(call, {"name": name, "collections": ["vo_db2.tenants_pk"], "rename": ["vo_db2.*:%s.*" % db],
                           "meta_only": True, "load": False})
    assert again["collections"][0]["action"] == "skip" and again["changed"] is False
    # a meta_only restore is marked as such: the data restore below fills it instead of skipping it
    filled = restore(call, {"name": name, "collections": ["vo_db2.tenants_pk"], "rename": ["vo_db2.*:%s.*" % db],
                            "existing": "skip_create", "restore_index": False, "load": False})
    assert not deprecated(filled, "skip_create")
    assert filled["collections"][0]["action"] == "import_into_existing" and filled["collections"][0]["rows_restored"] == 120
    refill = restore(call, {"name": name, "collections": ["vo_db2.tenants_pk"], "rename": ["vo_db2.*:%s.*" % db],
                            "skip_create": True, "restore_index": False, "load": False})
    assert refill["collections"][0]["action"] == "skip", "filled: now marked as a data restore of the backup"
    assert deprecated(refill, "skip_create"), "the deprecated boolean still works, with Ansible's deprecation warning"


def test_use_autoindex_keeps_the_metric(call, shapes_backup, stack, scratch_databases, unique):
    name, _backup = shapes_backup
    db = "vo_auto_%s" % unique
    scratch_databases.append(db)
    result = restore(call, {"name": name, "collections": ["vo_db2.docs_varchar"], "rename": ["vo_db2.*:%s.*" % db],
                            "use_autoindex": True, "restore_aliases": False})
    index = compare.client_for(stack, db).describe_index("docs_varchar", "emb")
    assert index["index_type"] == "AUTOINDEX" and index["metric_type"] == "COSINE"
    assert result["collections"][0]["aliases"]["restored"] == []


def test_check_mode_plans_without_creating(call, shapes_backup, stack, milvus_client, unique):
    name, backup = shapes_backup
    db = "vo_plan_%s" % unique
    result = restore(call, {"name": name, "rename": ["default.*:%s.*" % db]}, check=True)
    assert result["status"] == "planned" and result["changed"]
    assert result["backup"]["name"] == name and result["backup"]["backup_id"] == backup["backup"]["backup_id"]
    assert db not in milvus_client.list_databases()
    plan = by_target(result)
    assert plan["%s.catalog" % db]["action"] == "create" and plan["%s.catalog" % db]["segments"] > 0
    # vo_db2 is not renamed, so its collections would land on themselves: conflicts, reported, not fatal.
    assert plan["vo_db2.docs_varchar"]["action"] == "conflict"
    assert "vo_db2.docs_varchar already exists" in plan["vo_db2.docs_varchar"]["reason"]
    assert len(result["conflicts"]) == 3 and any("already exists" in w for w in result["warnings"])
    assert sum(c["objects"] for c in result["collections"]) == backup["totals"]["objects"]
    assert result["staging"]["needed"] is True and staging_left(stack) == []


@pytest.mark.parametrize("params,message", [
    ({"name": "no_such_backup"}, "backup 'no_such_backup' does not exist"),
    ({"name": "x", "suffix": "_a", "rename": ["a:b"]}, "parameters are mutually exclusive: suffix|rename"),
    ({"name": "x", "drop_existing": True, "skip_create": True},
     "parameters are mutually exclusive: replace|drop_existing|skip_create"),
    ({"name": "x", "existing": "drop", "replace": True}, "parameters are mutually exclusive: existing|replace"),
    ({"name": "x", "existing": "replace", "meta_only": True}, "existing=replace and meta_only are mutually exclusive"),
    ({"name": "x", "suffix": "-bad"}, "invalid suffix"),
    ({"name": "x/y"}, "invalid backup name"),
])
def test_bad_input(call, params, message):
    rc, result = call("milvus_restore", params)
    assert rc != 0 and message in result["msg"]


def test_bad_rename_and_unknown_collection(call, shapes_backup):
    name, _backup = shapes_backup
    rc, result = call("milvus_restore", {"name": name, "rename": ["db.*:other.coll"]})
    assert rc != 0 and "invalid rename rule" in result["msg"]
    rc, result = call("milvus_restore", {"name": name, "collections": ["not_in_backup"]})
    assert rc != 0 and "has no collection not_in_backup" in result["msg"]


def test_incomplete_backup_is_refused(call, shapes, backup_store, unique):
    name = "half_%s" % unique
    backup_store.cleanup(name)
    backup_store.write(backup_store.key(name, "binlogs/insert_log/1/2/3/3/100/4"), b"partial")
    backup_store.write(backup_store.key(name, ".vectorops/IN_PROGRESS"), b'{"id": "1"}')
    rc, result = call("milvus_restore", {"name": name, "suffix": "_x"})
    assert rc != 0 and "is incomplete" in result["msg"] and "state=absent" in result["msg"]


def test_unreachable_target(call, shapes_backup):
    name, _backup = shapes_backup
    port = free_loopback_port()
    rc, result = call("milvus_restore", {"name": name, "suffix": "_x", "uri": "http://127.0.0.1:%d" % port, "timeout": 3})
    assert rc != 0 and result["msg"].startswith("cannot reach Milvus at http://127.0.0.1:%d" % port)


def test_newer_milvus_backup_is_refused(call, milvus_client, quick_setup, stack, backup_store, unique):
    from test_milvus_backup import foreign_quick_setup  # pylint: disable=import-outside-toplevel
    name = "newer_%s" % unique
    full = foreign_quick_setup(milvus_client, stack, backup_store, name, level_only=False)
    full["milvus_version"] = "v2.6.0"
    backup_store.write(backup_store.key(name, "meta/full_meta.json"), json.dumps(full).encode())
    rc, result = call("milvus_restore", {"name": name, "suffix": "_x"})
    assert rc != 0 and "comes from Milvus v2.6.0, newer than the target's 2.3.5" in result["msg"]
    assert not milvus_client.has_collection("quick_setup_x")


def test_database_properties_are_recorded_and_restored(call, lite_client, stack, backup_store, unique):
    """A database's properties (replicas, quotas, ...) travel with the backup and are set on a database the
    restore creates; deny flags are left out, with a warning (they would block the import). Milvus 2.3.5
    has no DescribeDatabase (UNIMPLEMENTED), so this runs on Milvus Lite, which has it, with a metadata-only
    backup (Lite has no binlogs); milvus-backup records the same properties in ``database_backups``
    (``core/backup/database_task.go``) and never restores them (``core/restore/database_task.go``)."""
    from pymilvus import DataType, MilvusClient  # pylint: disable=import-outside-toplevel
    source_db, target_db, name = "props_%s" % unique, "props_r_%s" % unique, "docs_%s" % unique
    lite = dict(uri=stack["MILVUS_LITE_URI"], user="", password="")
    lite_client.create_database(source_db, properties={"database.max.collections": "7",
                                                       "database.force.deny.writing": "false"})
    try:
        lite_client.use_database(source_db)
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
        lite_client.create_collection(name, schema=schema)
        backup_name = "props_%s" % unique
        rc, result = call("milvus_backup", dict(lite, name=backup_name, collections=["%s.%s" % (source_db, name)],
                                                strategy="meta_only"))
        assert rc == 0, result.get("msg")
        stored = json.loads(backup_store.read(backup_store.key(backup_name, "manifest.json")))
        assert stored["database_properties"][source_db] == {"database.max.collections": "7",
                                                            "database.force.deny.writing": "false"}
        meta = json.loads(backup_store.read(backup_store.key(backup_name, "meta/backup_meta.json")))
        assert {"key": "database.max.collections", "value": "7"} in meta["database_backups"][0]["properties"]

        rc, restored = call("milvus_restore", dict(lite, name=backup_name, meta_only=True,
                                                   rename=["%s.*:%s.*" % (source_db, target_db)]))
        assert rc == 0, restored.get("msg")
        assert restored["databases_created"] == [{"name": target_db,
                                                  "properties": {"database.max.collections": "7"}}]
        assert any("database.force.deny.writing" in w for w in restored.get("warnings", []))
        described = lite_client.describe_database(target_db)
        assert described.get("database.max.collections") == "7" and "database.force.deny.writing" not in described
    finally:
        lite_client.use_database("default")
        for db in (source_db, target_db):
            if db in lite_client.list_databases():
                lite_client.use_database(db)
                for coll in lite_client.list_collections():
                    lite_client.drop_collection(coll)
                lite_client.use_database("default")
                lite_client.drop_database(db)
