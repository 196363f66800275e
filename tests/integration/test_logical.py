"""The logical format on the real stack: Milvus 2.3.5 -> Milvus Lite and Milvus Lite -> Milvus 2.3.5.

Rows go out through the public query API into Parquet and come back by Milvus's bulk import (2.3.5,
whose bucket we have) or by batched inserts (Milvus Lite, which has no bucket and no Import). Each
round trip is checked independently of the engine: row counts, every primary key, the content
fingerprint (every field of every row, dynamic fields included) and, for seed 000's quick_setup, the
top-3 COSINE search.
"""

import json
import random

import pytest
from pymilvus import DataType, MilvusClient

import compare
from test_dr_drill import drill, drill_root  # noqa: F401  pylint: disable=unused-import

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, fingerprint
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection

QUICK_SETUP_QUERY = [0.3580376395471989, -0.6023495712049978, 0.18414012509913835, -0.26286205330961354,
                     0.9029438446296592]


def lite_params(stack):
    return dict(uri=stack["MILVUS_LITE_URI"], user="", password="")


def milvus_params(stack):
    return dict(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"])


def content_of(params, name, db="default"):
    """(row count, content fingerprint, PK set) of a collection, read with the engine's own reader."""
    with MilvusConnection(dict(params, timeout=60)) as conn:
        conn.connect()
        client = conn.client(db)
        compare.ensure_loaded(client, name)
        desc = client.describe_collection(name)
        pk = compare.pk_field(desc)["name"]
        content = fingerprint.content_fingerprint(conn, db, name)
        keys = set(r[pk] for r in fingerprint.iterate(conn, db, name, [pk]))
    return content["count"], content["digest"], keys


def top3(client, name):
    compare.ensure_loaded(client, name)
    hits = client.search(name, data=[QUICK_SETUP_QUERY], limit=3, output_fields=["color"],
                         search_params={"metric_type": "COSINE"})[0]
    return [(h["id"], round(h["distance"], 5)) for h in hits]


def create_rich(client, name, seed=3):
    """Partitions, deletes, VARCHAR primary key, JSON, an INT64 array, a dynamic field; returns the deleted keys."""
    if client.has_collection(name):
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("doc", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    schema.add_field("score", DataType.DOUBLE)
    index = client.prepare_index_params()
    index.add_index("emb", index_type="FLAT", metric_type="COSINE")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rng = random.Random(seed)
    for part in ("p_eu", "p_us"):
        client.create_partition(name, part)
    for part, count in (("_default", 700), ("p_eu", 400), ("p_us", 300)):
        client.insert(name, [{"doc": "%s-%04d" % (part, i), "emb": [rng.uniform(-1, 1) for _d in range(8)],
                              "meta": {"i": i, "part": part, "nested": {"ok": i % 2 == 0}},
                              "tags": [i % 3, i % 5], "score": i / 7.0, "region": part.upper(), "rank": i}
                             for i in range(count)], partition_name=part)
    deleted = ["_default-%04d" % i for i in range(0, 700, 10)] + ["p_eu-%04d" % i for i in range(50)]
    client.delete(name, ids=deleted)
    return set(deleted)


def test_quick_setup_milvus_to_lite_keeps_rows_and_search(
        call, stack, milvus_client, lite_client, quick_setup, backup_store, unique):
    name = "logical_qs_%s" % unique
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", {"name": name, "collections": [quick_setup], "format": "logical"})
    assert rc == 0, made.get("msg")
    assert made["backup"]["format"] == "logical" and made["collections"][0]["format_reason"] == "format=logical"
    entry = made["collections"][0]
    # Milvus 2.3.5 does not pin reads to a timestamp: the export was re-checked instead (logical.read_timestamp).
    assert entry["logical"]["snapshot"] is False and entry["logical"]["read_timestamp"] is None
    assert made["consistency"]["strategy"] == "stable_read"
    assert entry["segments"] == [] and entry["live_row_count"] == 10
    target = "qs_from_235_%s" % unique
    rc, restored = call("milvus_restore", dict(lite_params(stack), name=name, rename=["%s:%s" % (quick_setup, target)]))
    assert rc == 0, restored.get("msg")
    assert restored["backup"]["format"] == "logical" and restored["logical_restore"] == "insert"
    got = restored["collections"][0]
    assert got["method"] == "insert" and got["rows_restored"] == 10 and got["rows_match"]
    assert top3(lite_client, target) == top3(milvus_client, quick_setup)
    src = content_of(milvus_params(stack), quick_setup)
    assert content_of(lite_params(stack), target) == src
    assert entry["logical"]["content_fingerprint"]["digest"] == src[1]
    lite_client.drop_collection(target)


def test_rich_collection_lite_to_milvus_by_bulk_import_and_by_insert(
        call, stack, milvus_client, lite_client, backup_store, unique):
    source = "rich_lite_%s" % unique
    deleted = create_rich(lite_client, source)
    name = "logical_lite_%s" % unique
    backup_store.cleanup(name)
    # format=auto with milvus_storage configured (the stack's environment): Milvus Lite still gets logical.
    rc, made = call("milvus_backup", dict(lite_params(stack), name=name, collections=[source]))
    assert rc == 0, made.get("msg")
    entry = made["collections"][0]
    assert made["backup"]["format"] == "logical" and entry["format_reason"] == "auto: Milvus Lite keeps no binlogs"
    assert entry["logical"]["snapshot"] is False and entry["live_row_count"] == 1400 - len(deleted)
    assert sorted(p["name"] for p in entry["partitions"]) == ["_default", "p_eu", "p_us"]
    src = content_of(lite_params(stack), source)
    assert src[0] == 1400 - len(deleted) and not deleted & src[2]
    for method in ("bulk_import", "insert"):
        target = "rich_%s_%s" % (method, unique)
        rc, restored = call("milvus_restore", {"name": name, "rename": ["%s:%s" % (source, target)],
                                               "logical_restore": method})
        assert rc == 0, restored.get("msg")
        got = restored["collections"][0]
        assert got["method"] == method and got["rows_restored"] == src[0] and got["rows_match"]
        if method == "bulk_import":
            assert len(got["import_jobs"]) == 3 and restored["staging"]["needed"]
        assert content_of(milvus_params(stack), target) == src, method
        per_partition = dict((p, milvus_client.query(target, filter="", output_fields=["count(*)"], partition_names=[p],
                                                     consistency_level="Strong")[0]["count(*)"])
                             for p in ("_default", "p_eu", "p_us"))
        assert per_partition == {"_default": 630, "p_eu": 350, "p_us": 300}
        milvus_client.drop_collection(target)
    lite_client.drop_collection(source)


def test_rich_collection_milvus_to_lite_and_auto_picks_binlog_on_milvus(
        call, stack, milvus_client, lite_client, backup_store, unique):
    source = "rich_m_%s" % unique
    deleted = create_rich(milvus_client, source)
    milvus_client.flush(source)
    auto_name = "auto_m_%s" % unique
    backup_store.cleanup(auto_name)
    rc, auto = call("milvus_backup", {"name": auto_name, "collections": [source]})
    assert rc == 0, auto.get("msg")
    assert auto["backup"]["format"] == "binlog"
    assert auto["collections"][0]["format_reason"] == "auto: Milvus's bucket and segments are readable"
    name = "logical_m_%s" % unique
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", {"name": name, "collections": [source], "format": "logical"})
    assert rc == 0, made.get("msg")
    src = content_of(milvus_params(stack), source)
    assert src[0] == 1400 - len(deleted) and made["collections"][0]["live_row_count"] == src[0]
    target = "rich_from_235_%s" % unique
    rc, restored = call("milvus_restore", dict(lite_params(stack), name=name, rename=["%s:%s" % (source, target)]))
    assert rc == 0, restored.get("msg")
    assert content_of(lite_params(stack), target) == src
    # Everything else reads the logical backup: info shows the format, verify checks checksums and the
    # restored collection against the backup's fingerprints.
    rc, info = call("milvus_backup_info", {"name": name})
    assert rc == 0 and info["backup"]["format"] == "logical"
    rc, verified = call("milvus_verify", {"name": name, "level": "checksum"})
    assert rc == 0 and verified["passed"], verified.get("msg")
    rc, verified = call("milvus_verify", dict(lite_params(stack), name=name, level="collection",
                                              collections=[source], rename=["%s:%s" % (source, target)]))
    assert rc == 0 and verified["passed"], verified.get("msg")
    lite_client.drop_collection(target)
    milvus_client.drop_collection(source)


@pytest.mark.parametrize("direction", ["milvus_to_lite", "lite_to_milvus"])
def test_an_export_without_content_digest_writes_the_columns_milvus_sent_and_restores_the_same_rows(
        call, stack, milvus_client, lite_client, backup_store, unique, direction):
    """fingerprint=false: the export turns each response's columns into Parquet without decoding rows
    (logical.columns_to_table); the rows that come back must be those of the source, on both servers."""
    from_lite = direction == "lite_to_milvus"
    source_client, source_params = (lite_client, lite_params(stack)) if from_lite else (milvus_client, milvus_params(stack))
    target_params = milvus_params(stack) if from_lite else lite_params(stack)
    source = "cols_%s_%s" % (direction[:1], unique)
    deleted = create_rich(source_client, source)
    name = "logical_cols_%s_%s" % (direction[:1], unique)
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", dict(source_params, name=name, collections=[source], format="logical",
                                          fingerprint=False))
    assert rc == 0, made.get("msg")
    entry = made["collections"][0]
    assert entry["logical"]["content_fingerprint"] is None
    # The primary keys were digested during the export anyway: recorded, so milvus_verify can check them.
    assert entry["verification"]["pk_fingerprint"]["collection"]["count"] == 1400 - len(deleted)
    assert entry["verification"]["golden_queries"] == 0 and "fingerprint=false" in entry["verification"]["skipped"][-1]
    src = content_of(source_params, source)
    assert src[0] == 1400 - len(deleted) and not deleted & src[2]
    target = "cols_back_%s_%s" % (direction[:1], unique)
    target_client = milvus_client if from_lite else lite_client
    rc, restored = call("milvus_restore", dict(target_params, name=name, rename=["%s:%s" % (source, target)],
                                               logical_restore="bulk_import" if from_lite else "insert"))
    assert rc == 0, restored.get("msg")
    assert restored["collections"][0]["rows_restored"] == src[0]
    assert content_of(target_params, target) == src
    verify = dict(target_params, name=name, level="collection", collections=[source],
                  rename=["%s:%s" % (source, target)])
    rc, verified = call("milvus_verify", verify)
    checks = dict((c["name"], c["passed"]) for c in verified["checks"] if c["collection"] == "default.%s" % target)
    assert rc == 0 and checks["pk_fingerprint"] is True and checks["golden_query_recall"] is None, verified.get("msg")
    target_client.delete(target, ids=[sorted(src[2])[0]])
    rc, verified = call("milvus_verify", verify)
    assert rc != 0 and "pk_fingerprint" in verified["msg"], "a missing row must fail the recorded PK fingerprint"
    target_client.drop_collection(target)
    source_client.drop_collection(source)


def test_a_corrupted_parquet_file_is_named_by_verify_and_its_restore_creates_nothing(
        call, stack, lite_client, milvus_client, backup_store, unique):
    source = "rich_c_%s" % unique
    create_rich(lite_client, source)
    name = "logical_c_%s" % unique
    backup_store.cleanup(name)
    rc, made = call("milvus_backup", dict(lite_params(stack), name=name, collections=[source]))
    assert rc == 0, made.get("msg")
    backup = catalog.read_backup(backup_store, name)
    victim = [o["key"] for o in backup.manifest["objects"] if o["key"].endswith(".parquet")][1]
    data = bytearray(backup_store.read(backup.paths.key(victim)))
    data[len(data) // 2] ^= 0x5A
    backup_store.write(backup.paths.key(victim), bytes(data))
    rc, verified = call("milvus_verify", {"name": name, "level": "checksum"})
    assert rc != 0 and victim in verified["msg"]
    for params in (dict(lite_params(stack), logical_restore="insert"), {"logical_restore": "bulk_import"}):
        target = "rich_dmg_%s" % unique
        rc, failed = call("milvus_restore", dict(params, name=name, rename=["%s:%s" % (source, target)]))
        assert rc != 0 and "backup object %s does not match its manifest SHA-256" % victim in failed["msg"]
        assert not lite_client.has_collection(target) and not milvus_client.has_collection(target)
    lite_client.drop_collection(source)


@pytest.mark.parametrize("check", [True])
def test_check_mode_of_a_logical_backup_writes_nothing(call, stack, lite_client, backup_store, unique, check):
    source = "rich_chk_%s" % unique
    create_rich(lite_client, source)
    name = "logical_chk_%s" % unique
    rc, planned = call("milvus_backup", dict(lite_params(stack), name=name, collections=[source]), check=check)
    assert rc == 0 and planned["status"] == "planned" and planned["backup"]["format"] == "logical"
    assert planned["collections"][0]["format"] == "logical"
    assert not catalog.read_backup(backup_store, name).exists
    lite_client.drop_collection(source)


def test_the_migrate_playbook_moves_a_collection_from_lite_to_milvus_and_compares_it(
        playbook, stack, lite_client, milvus_client, backup_store, unique):
    source = "rich_mig_%s" % unique
    create_rich(lite_client, source)
    name = "migrate_%s" % unique
    backup_store.cleanup(name)
    run = playbook("vectorops.milvus.migrate", {
        "migrate_source": lite_params(stack),
        "migrate_target": milvus_params(stack),
        "migrate_collections": [source], "migrate_backup_name": name})
    assert run.rc == 0, run.failed_tasks or run.stderr[-2000:]
    restored = run.result("Restore into the target")
    assert restored["backup"]["format"] == "logical" and restored["logical_restore"] == "bulk_import"
    compared = run.result("Compare every migrated collection (rows, primary keys, contents)")["results"][0]
    assert compared["passed"] and [c["name"] for c in compared["checks"]] == [
        "schema", "row_count", "pk_fingerprint", "content_fingerprint"]
    assert content_of(milvus_params(stack), source) == content_of(lite_params(stack), source)
    again = playbook("vectorops.milvus.migrate", {
        "migrate_source": lite_params(stack), "migrate_target": milvus_params(stack),
        "migrate_collections": [source], "migrate_backup_name": name})
    assert again.rc == 0 and again.result("Restore into the target")["collections"][0]["action"] == "skip"
    milvus_client.drop_collection(source)
    lite_client.drop_collection(source)


def test_a_drill_restores_a_logical_backup_into_another_server(call, playbook, stack, milvus_client, lite_client,
                                                               drill_root, tmp_path, unique):
    """The dr_drill role with a logical backup of Milvus 2.3.5 and dr_drill_target_connection on Milvus Lite: the
    scratch copies are restored by insert on the other server, verified there against the backup, and removed."""
    root, _store = drill_root
    source = "rich_drill_%s" % unique
    create_rich(milvus_client, source)
    rc, made = call("milvus_backup", {"name": "drill_logical_%s" % unique, "collections": [source], "format": "logical"},
                    env={"BACKUP_STORAGE_ROOT_PATH": root})
    assert rc == 0, made.get("msg")
    run = drill(playbook, root, tmp_path, dr_drill_backup="latest", dr_drill_collections=[source],
                dr_drill_name="other_server", dr_drill_target_connection=lite_params(stack))
    assert run.rc == 0, run.failed_tasks
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["passed"] is True, report["error"]
    assert [(c["rows_expected"], c["rows_restored"]) for c in report["collections"]] == [(made["totals"]["rows"],) * 2]
    assert "insert" in report["phases"] and report["verification"]["failed"] == 0
    names = [c["name"] for c in report["checks"] if c["passed"]]
    assert "pk_fingerprint" in names and "golden_query_recall" in names
    assert [n for n in lite_client.list_collections() if "_drill_" in n] == []
    assert not [n for n in milvus_client.list_collections() if n.startswith(source + "_drill_")]
    milvus_client.drop_collection(source)
