"""milvus_verify on the real stack: backups (exists/checksum), restored collections, Milvus 2.3.5 vs Milvus Lite."""

import json
import random

import pytest
from pymilvus import DataType, MilvusClient

import compare

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog


def checks_named(result, name):
    return [c for c in result["checks"] if c["name"] == name]


@pytest.fixture
def small_backup(call, shapes, backup_store, unique):
    """A fresh backup of catalog that a test may damage."""
    name = "verify_%s" % unique
    backup_store.cleanup(name)
    rc, result = call("milvus_backup", {"name": name, "collections": ["catalog"]})
    assert rc == 0, result.get("msg")
    return name, result


def test_checksum_level_passes_and_is_recorded(call, small_backup, backup_store):
    name, made = small_backup
    rc, result = call("milvus_verify", {"level": "checksum", "name": name}, check=True)
    assert rc == 0 and result["passed"] and result["recorded"] is None, "check mode records nothing"
    assert result["changed"] is True, "check mode says the record would be written"
    assert not backup_store.exists(backup_store.key(name, ".vectorops/VERIFIED"))
    rc, result = call("milvus_verify", {"level": "checksum", "name": name})
    assert rc == 0 and result["passed"] and result["changed"] is True, "the record was written"
    assert backup_store.exists(backup_store.key(name, ".vectorops/VERIFIED"))
    assert checks_named(result, "object_checksums")[0]["actual"] == made["totals"]["objects"]
    assert checks_named(result, "meta_agrees_with_manifest")[0]["passed"] is True
    assert result["recorded"]["level"] == "checksum"
    assert result["durations"]["record"] <= result["durations"]["total"]
    assert result["backup"]["name"] == name and result["backup"]["written_by"] == "vectorops"
    assert result["backup"]["backup_id"] == made["backup"]["backup_id"]
    rc, info = call("milvus_backup_info", {"name": name})
    assert info["backups"][0]["verified_level"] == "checksum" and info["backups"][0]["verified_at"]
    rc, result = call("milvus_verify", {"level": "exists", "name": name, "record": False})
    assert rc == 0 and result["passed"] and result["changed"] is False and result["recorded"] is None
    assert "record" not in result["durations"] and result["durations"]["total"] >= 0


def test_a_corrupted_object_is_named(call, small_backup, backup_store):
    name, _made = small_backup
    manifest = json.loads(backup_store.read(backup_store.key(name, "manifest.json")))
    victim = [o["key"] for o in manifest["objects"] if "/101/" in o["key"]][0]
    data = bytearray(backup_store.read(backup_store.key(name, victim)))
    data[len(data) // 3] ^= 0x55  # same size, different bytes
    backup_store.write(backup_store.key(name, victim), bytes(data))
    rc, exists = call("milvus_verify", {"level": "exists", "name": name})
    assert rc == 0 and exists["passed"], "sizes alone cannot see it"
    rc, result = call("milvus_verify", {"level": "checksum", "name": name})
    assert rc != 0 and victim in result["msg"] and "object_checksums" in result["msg"]
    failed = checks_named(result, "object_checksums")[0]
    assert failed["passed"] is False and victim in failed["detail"]
    rc, report = call("milvus_verify", {"level": "checksum", "name": name, "fail_on_mismatch": False})
    assert rc == 0 and report["passed"] is False and report["summary"]["failed"] == 1


def test_a_missing_object_is_named(call, small_backup, backup_store):
    name, _made = small_backup
    manifest = json.loads(backup_store.read(backup_store.key(name, "manifest.json")))
    victim = manifest["objects"][-1]["key"]
    backup_store.delete([backup_store.key(name, victim)])
    rc, result = call("milvus_verify", {"level": "exists", "name": name})
    assert rc != 0 and "objects_exist" in result["msg"] and victim in result["msg"]


def test_milvus_backup_backups_get_the_checks_they_allow(call, milvus_client, quick_setup, stack, backup_store, unique):
    from test_milvus_backup import foreign_quick_setup  # pylint: disable=import-outside-toplevel
    name = "mbkv_%s" % unique
    foreign_quick_setup(milvus_client, stack, backup_store, name, level_only=False)
    rc, result = call("milvus_verify", {"level": "checksum", "name": name})
    assert rc == 0 and result["passed"]
    skipped = checks_named(result, "object_checksums")[0]
    assert skipped["passed"] is None and "not possible: milvus-backup records no checksums" in skipped["detail"]
    assert checks_named(result, "objects_exist")[0]["passed"] is True


def test_collection_level_after_restore_and_after_a_deleted_row(call, small_backup, stack, scratch_databases, unique):
    name, _made = small_backup
    db = "vo_verify_%s" % unique
    scratch_databases.append(db)
    rc, restored = call("milvus_restore", {"name": name, "rename": ["default.*:%s.*" % db]})
    assert rc == 0, restored.get("msg")
    rc, result = call("milvus_verify", {"level": "collection", "name": name, "rename": ["default.*:%s.*" % db]})
    assert rc == 0 and result["passed"], result["msg"]
    assert result["changed"] is False and result["recorded"] is None, "a collection level writes nothing"
    names = set(c["name"] for c in result["checks"])
    assert {"schema", "partitions", "indexes", "row_count", "pk_fingerprint", "partition_rows_and_pk_fingerprint",
            "golden_query_recall"} <= names
    recall = checks_named(result, "golden_query_recall")[0]
    assert recall["actual"]["min_recall"] == 1.0 and recall["actual"]["queries"] == 5
    client = compare.client_for(stack, db)
    victim = client.query("catalog", filter="pk > 10", output_fields=["pk"], limit=1, consistency_level="Strong")[0]["pk"]
    client.delete("catalog", filter="pk == %d" % victim)
    rc, result = call("milvus_verify", {"level": "collection", "name": name, "rename": ["default.*:%s.*" % db]})
    assert rc != 0
    failed = dict((c["name"], c) for c in result["checks"] if c["passed"] is False)
    assert failed["row_count"]["actual"] == failed["row_count"]["expected"] - 1
    assert failed["pk_fingerprint"]["actual"]["count"] == failed["pk_fingerprint"]["expected"]["count"] - 1
    assert "row_count of %s.catalog" % db in result["msg"] and "pk_fingerprint" in result["msg"]
    assert "partition_rows_and_pk_fingerprint" in failed


def twin_collections(milvus_client, lite_client, name):
    rng = random.Random(3)
    rows = [{"pk": i, "vec": [rng.uniform(-1, 1) for _d in range(4)], "title": "t%03d" % i,
             "meta": {"k": i % 3}} for i in range(150)]
    for client in (milvus_client, lite_client):
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
        schema.add_field("title", DataType.VARCHAR, max_length=16)
        schema.add_field("meta", DataType.JSON)
        index = client.prepare_index_params()
        index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
        client.create_collection(name, schema=schema, index_params=index)
        client.insert(name, rows)
        client.flush(name)
    return rows


def test_compare_milvus_with_milvus_lite(call, milvus_client, lite_client, stack, unique):
    name = "twin_%s" % unique
    rows = twin_collections(milvus_client, lite_client, name)
    try:
        params = {"level": "compare", "source": name, "target": name, "content": True,
                  "target_connection": {"uri": stack["MILVUS_LITE_URI"], "user": "", "password": ""}}
        rc, result = call("milvus_verify", params)
        assert rc == 0 and result["passed"], result["msg"]
        assert [c["name"] for c in result["checks"]] == ["schema", "row_count", "pk_fingerprint", "content_fingerprint"]
        assert checks_named(result, "row_count")[0]["actual"] == 150
        changed = dict(rows[42], vec=[0.5, 0.5, 0.5, 0.5])
        lite_client.upsert(name, [changed])
        rc, result = call("milvus_verify", params)
        assert rc != 0 and "content_fingerprint" in result["msg"]
        assert "default.%s vs default.%s" % (name, name) in result["msg"]
        assert checks_named(result, "pk_fingerprint")[0]["passed"] is True, "same keys, different content"
        assert checks_named(result, "content_fingerprint")[0]["passed"] is False
    finally:
        milvus_client.drop_collection(name)
        lite_client.drop_collection(name)


@pytest.mark.parametrize("params,message", [
    ({"level": "collection"}, "level is collection but all of the following are missing: name"),
    ({"level": "compare", "source": "a"}, "level is compare but all of the following are missing: target"),
    ({"level": "checksum", "name": "nope_missing"}, "backup 'nope_missing' does not exist"),
    ({"level": "collection", "name": "x", "suffix": "_a", "rename": ["a:b"]}, "parameters are mutually exclusive: suffix|rename"),
    ({"level": "collection", "name": "x", "recall_threshold": 1.5}, "recall_threshold must be between 0 and 1"),
])
def test_bad_input(call, params, message):
    rc, result = call("milvus_verify", params)
    assert rc != 0 and message in result["msg"]


def test_verified_record_is_what_catalog_reads(backup_store, small_backup, call):
    name, _made = small_backup
    call("milvus_verify", {"level": "exists", "name": name})
    stored = catalog.read_backup(backup_store, name)
    assert stored.verified["level"] == "exists" and stored.summary()["verified_level"] == "exists"
