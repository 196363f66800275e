"""milvus_backup and milvus_backup_info against the real Milvus 2.3.5 + SeaweedFS."""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

import milvus_backup_format
from conftest import HERE, free_loopback_port, store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog
from ansible_collections.vectorops.milvus.plugins.module_utils.manifest import go_json

ALL_SHAPES = ["quick_setup", "catalog", "vo_db2.*"]
KEY_RE = re.compile(r"^binlogs/(?:insert_log/(\d+)/(\d+)/(\d+)/(\d+)/(\d+)/(\d+)|delta_log/(\d+)/(\d+)/(\d+)/(\d+)/(\d+))$")


def backup(call, name, **params):
    params.setdefault("collections", ALL_SHAPES)
    rc, result = call("milvus_backup", dict(params, name=name))
    assert rc == 0, result.get("msg")
    return result


def manifest_of(store, name):
    return json.loads(store.read(store.key(name, "manifest.json")))


def stored_binlogs(store, name):
    prefix = store.key(name) + "/"
    return dict((o.key[len(prefix):], o.size) for o in store.list(prefix + "binlogs/"))


def assert_manifest_matches_storage(store, name, milvus_store=None):
    """Every manifest object exists with its size and SHA-256; nothing else is stored."""
    manifest = manifest_of(store, name)
    stored = stored_binlogs(store, name)
    listed = dict((o["key"], o) for o in manifest["objects"])
    assert set(stored) == set(listed)
    for key, entry in listed.items():
        assert stored[key] == entry["size"], key
        assert hashlib.sha256(store.read(store.key(name, key))).hexdigest() == entry["sha256"], key
        match = KEY_RE.match(key)
        assert match, key
        if match.group(1):
            assert match.group(3) == match.group(4), "group id must equal segment id: %s" % key
        else:
            assert match.group(9) == match.group(10), "group id must equal segment id: %s" % key
        if milvus_store is not None:
            assert milvus_store.head(entry["source"]).size == entry["size"]
    return manifest


def test_backup_of_every_shape(shapes_backup, shapes, backup_store, stack):
    name, result = shapes_backup
    assert result["changed"] and result["status"] == "complete" and not result["resumed"]
    by_name = dict(("%s.%s" % (c["db_name"], c["name"]), c) for c in result["collections"])
    assert set(by_name) == set(shapes)
    for label, want in shapes.items():
        # Rows in the backed-up segments: every inserted row until Milvus's auto-compaction applies the
        # deletes (events_auto deletes a quarter of its rows, enough to trigger it at any moment).
        assert want["live"] <= by_name[label]["row_count"] <= want["rows"], label
        if by_name[label]["live_row_count"] is not None:
            assert by_name[label]["live_row_count"] == want["live"], label
    assert by_name["default.catalog"]["partitions"][0]["name"] == "_default"
    assert [p["name"] for p in by_name["default.catalog"]["partitions"]] == ["_default", "p_2023", "p_2024", "p_2025"]
    assert by_name["vo_db2.docs_varchar"]["aliases"] == ["docs_live"]
    assert by_name["vo_db2.events_auto"]["load_state"] == "NotLoad"
    assert sum(w["live"] for w in shapes.values()) <= result["totals"]["rows"] <= sum(w["rows"] for w in shapes.values())
    assert result["copy"]["server_side"] == result["totals"]["objects"]  # same endpoint: no bytes through us
    assert result["consistency"]["consistent"] and result["consistency"]["gc_pause"]["held"] is False
    assert "404" in result["consistency"]["gc_pause"]["reason"]
    milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
    manifest = assert_manifest_matches_storage(backup_store, name, milvus_store)
    assert manifest["totals"] == result["totals"]
    assert set(manifest["checksums"]["sources"]) <= {"read-back", "s3-checksum"}
    assert sum(manifest["checksums"]["sources"].values()) == result["totals"]["objects"]
    deltas = [o for o in manifest["objects"] if o["key"].startswith("binlogs/delta_log/")]
    assert deltas, "deleted rows must travel as delta logs"


def test_meta_files_follow_milvus_backup_format(shapes_backup, backup_store):
    name, _result = shapes_backup
    documents = {}
    for rel, message in milvus_backup_format.META_FILES.items():
        documents[rel] = json.loads(backup_store.read(backup_store.key(name, rel)))
        assert milvus_backup_format.check(documents[rel], message) == [], rel
    full = documents["meta/full_meta.json"]
    assert documents["meta/backup_meta.json"]["name"] == name and "collection_backups" not in documents["meta/backup_meta.json"]
    assert all("partition_backups" not in c for c in documents["meta/collection_meta.json"]["infos"])
    assert all("segment_backups" not in p for p in documents["meta/partition_meta.json"]["infos"])
    rebuilt = catalog.level_files_to_tree(documents["meta/backup_meta.json"], documents["meta/collection_meta.json"],
                                          documents["meta/partition_meta.json"], documents["meta/segment_meta.json"])
    # Compared as Go would serialize both: empty lists omitted.
    assert go_json(rebuilt["collection_backups"]) == full["collection_backups"], "level files reassemble to full_meta"
    manifest = manifest_of(backup_store, name)
    sources = set(o["source"] for o in manifest["objects"])
    for coll in full["collection_backups"]:
        assert isinstance(coll["schema"]["fields"][0]["data_type"], int)
        for seg in catalog.meta_segments(coll):
            assert seg["group_id"] == seg["segment_id"]
            for field in seg.get("binlogs", []) + seg.get("deltalogs", []):
                for log in field["binlogs"]:
                    assert log["log_path"] in sources  # log_path = the original Milvus key
    complete = json.loads(backup_store.read(backup_store.key(name, "COMPLETE")))
    assert complete["manifest_sha256"] == hashlib.sha256(backup_store.read(backup_store.key(name, "manifest.json"))).hexdigest()


def test_backup_info_lists_and_describes(call, shapes_backup):
    name, result = shapes_backup
    rc, listing = call("milvus_backup_info", {})
    assert rc == 0
    entry = [b for b in listing["backups"] if b["name"] == name][0]
    assert entry["status"] == "complete" and entry["written_by"] == "vectorops" and entry["rows"] == result["totals"]["rows"]
    assert entry["milvus_version"].startswith("v2.3.5") and entry["tool_version"] == "0.1.0"
    rc, one = call("milvus_backup_info", {"name": name, "objects": True})
    assert rc == 0 and one["backup"]["complete"]
    assert len(one["backup"]["object_list"]) == result["totals"]["objects"]
    details = dict(("%s.%s" % (c["db_name"], c["name"]), c) for c in one["backup"]["collection_details"])
    assert details["vo_db2.tenants_pk"]["row_count"] == 120
    rc, none = call("milvus_backup_info", {"name": "no_such_backup"})
    assert rc == 0 and none["backup"] is None and none["backups"] == []


def test_rerunning_the_same_name_changes_nothing(call, shapes_backup):
    name, result = shapes_backup
    again = backup(call, name, concurrency=8)
    assert again["changed"] is False and again["existing"] and again["backup"]["backup_id"] == result["backup"]["backup_id"]


@pytest.mark.parametrize("params,expected", [
    ({"databases": ["vo_db2"]}, ["vo_db2.docs_varchar", "vo_db2.events_auto", "vo_db2.tenants_pk"]),
    ({"collections": ["vo_db2.docs_*", "quick_setup"]}, ["default.quick_setup", "vo_db2.docs_varchar"]),
    ({"collections": ["vo_db2.tenants_pk"], "databases": []}, ["vo_db2.tenants_pk"]),
    ({"collections": ["catalog"], "db_name": "default"}, ["default.catalog"]),
])
def test_filters_select_exactly_what_they_name(call, shapes, backup_store, unique, params, expected):
    name = "filter_%s" % unique
    rc, plan = call("milvus_backup", dict(params, name=name, collections=params.get("collections", [])), check=True)
    assert rc == 0 and plan["changed"] and plan["status"] == "planned"
    assert plan["backup"]["name"] == name and plan["backup"]["status"] == "absent" and plan["backup"]["format"] == "binlog"
    assert sorted("%s.%s" % (c["db_name"], c["name"]) for c in plan["collections"]) == expected
    assert not backup_store.has_objects(backup_store.key(name) + "/"), "check mode writes nothing"


def test_check_mode_predicts_the_backup(call, shapes, backup_store, unique):
    name = "predict_%s" % unique
    rc, plan = call("milvus_backup", {"name": name, "collections": ["catalog", "vo_db2.events_auto"]}, check=True)
    assert rc == 0 and not backup_store.has_objects(backup_store.key(name) + "/")
    backup_store.cleanup(name)
    done = backup(call, name, collections=["catalog", "vo_db2.events_auto"])
    for key in ("collections", "segments", "rows", "objects", "bytes"):
        assert plan["totals"][key] == done["totals"][key], key


def test_backup_to_a_second_bucket(call, shapes, stack, unique):
    name = "second_%s" % unique
    result = backup(call, name, collections=["quick_setup"],
                    backup_storage={"bucket": stack["VECTOROPS_STACK_SECOND_BACKUP_BUCKET"], "root_path": "other/root"})
    store = store_for(stack, "BACKUP_STORAGE", stack["VECTOROPS_STACK_SECOND_BACKUP_BUCKET"], "other/root")
    try:
        assert result["backup"]["location"].startswith("s3://milvus-backups-2/other/root/%s/" % name)
        assert_manifest_matches_storage(store, name)
        assert result["copy"]["server_side"] == result["totals"]["objects"]
    finally:
        catalog.delete_backup(store, name)


def test_backup_to_a_local_directory(call, shapes, tmp_path, unique):
    name = "local_%s" % unique
    result = backup(call, name, collections=["catalog"], backup_storage={"type": "local", "path": str(tmp_path)})
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    store = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "t", "backup", True))
    manifest = assert_manifest_matches_storage(store, name)
    assert result["copy"]["streaming"] == result["totals"]["objects"] and result["copy"]["server_side"] == 0
    assert manifest["checksums"]["sources"] == {"streamed": result["totals"]["objects"]}
    assert os.path.isfile(os.path.join(str(tmp_path), "backup", name, "COMPLETE"))
    rc, listing = call("milvus_backup_info", {"backup_storage": {"type": "local", "path": str(tmp_path)}})
    assert rc == 0 and [b["name"] for b in listing["backups"]] == [name]


def test_meta_only(call, shapes, backup_store, unique):
    name = "meta_%s" % unique
    backup_store.cleanup(name)
    result = backup(call, name, collections=["vo_db2.docs_varchar"], strategy="meta_only")
    assert result["totals"]["objects"] == 0 and stored_binlogs(backup_store, name) == {}
    manifest = manifest_of(backup_store, name)
    assert [f["name"] for f in manifest["collections"][0]["schema"]["fields"]] == ["doc_id", "emb", "meta"]


def test_delete_backup(call, shapes, backup_store, unique):
    name = "delete_%s" % unique
    backup(call, name, collections=["quick_setup"])
    rc, planned = call("milvus_backup", {"name": name, "state": "absent"}, check=True)
    assert rc == 0 and planned["changed"] and planned["deleted"]["objects"] > 0
    assert backup_store.exists(backup_store.key(name, "COMPLETE")), "check mode deletes nothing"
    rc, deleted = call("milvus_backup", {"name": name, "state": "absent"})
    assert rc == 0 and deleted["changed"] and deleted["deleted"] == planned["deleted"]
    assert planned["backup"]["status"] == deleted["backup"]["status"] == "complete" and deleted["backup"]["name"] == name
    assert not backup_store.has_objects(backup_store.key(name) + "/")
    rc, again = call("milvus_backup", {"name": name, "state": "absent"})
    assert rc == 0 and again["changed"] is False and again["backup"]["status"] == "absent"


def no_backup_written(store, name):
    return not store.has_objects(store.key(name) + "/") if "/" not in name and ".." not in name else True


@pytest.mark.parametrize("bad_name", ["a/b", "..", "../escape", "has space", "dash-name", "9starts_with_digit", "x" * 129])
def test_invalid_backup_names(call, shapes, backup_store, bad_name):
    rc, result = call("milvus_backup", {"name": bad_name, "collections": ["quick_setup"]})
    assert rc != 0 and result["msg"].startswith("invalid backup name")
    assert result["error"]["type"] == "InputError"


def test_unknown_collection_writes_nothing(call, shapes, backup_store, unique):
    name = "unknown_%s" % unique
    rc, result = call("milvus_backup", {"name": name, "collections": ["quick_setup", "not_there"]})
    assert rc != 0 and result["msg"].startswith("collection 'not_there' does not exist in database 'default'")
    assert not backup_store.has_objects(backup_store.key(name) + "/")


def test_unreachable_storage(call, shapes, unique):
    endpoint = "http://127.0.0.1:%d" % free_loopback_port()
    rc, result = call("milvus_backup", {"name": "unreach_%s" % unique, "collections": ["quick_setup"],
                                        "backup_storage": {"endpoint": endpoint, "bucket": "some-bucket",
                                                           "access_key": "test-access-key",
                                                           "secret_key": "test-secret-key-123"}})
    assert rc != 0 and "cannot reach object storage" in result["msg"] and endpoint in result["msg"]
    assert "\n" not in result["msg"] and result["status"] == "incomplete"
    assert result["backup"] == {"name": "unreach_%s" % unique}, "the storage cannot be read: the name alone"


def test_wrong_storage_credentials(call, shapes, backup_store, unique):
    name = "creds_%s" % unique
    rc, result = call("milvus_backup", {"name": name, "collections": ["quick_setup"],
                                        "backup_storage": {"secret_key": "wrong"}})
    assert rc != 0 and "rejected the credentials" in result["msg"]
    assert not backup_store.exists(backup_store.key(name, "COMPLETE"))


def test_gc_pause_required_but_unsupported_fails_without_completing(call, shapes, backup_store, unique):
    name = "gcreq_%s" % unique
    backup_store.cleanup(name)
    rc, result = call("milvus_backup", {"name": name, "collections": ["quick_setup"], "gc_pause": "require"})
    assert rc != 0 and "gc_pause=require" in result["msg"] and "404" in result["msg"]
    assert not backup_store.exists(backup_store.key(name, "COMPLETE"))
    rc, info = call("milvus_backup_info", {"name": name})
    assert info["backups"][0]["status"] == "incomplete"


def test_inconsistent_binlogs_fail_clearly(call, milvus_client, stack, backup_store, unique):
    """A segment whose field has a missing binlog must not produce a 'complete' backup."""
    from pymilvus import DataType, MilvusClient  # pylint: disable=import-outside-toplevel
    name = "broken_%s" % unique
    coll = "broken_%s" % unique
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    milvus_client.create_collection(coll, schema=schema)
    try:
        milvus_client.insert(coll, [{"pk": i, "v": [i, 1]} for i in range(20)])
        milvus_client.flush(coll)
        cid = milvus_client.describe_collection(coll)["collection_id"]
        milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
        victim = [o.key for o in milvus_store.list("files/insert_log/%d/" % cid) if o.key.split("/")[-2] == "101"][0]
        milvus_store.delete([victim])
        backup_store.cleanup(name)
        rc, result = call("milvus_backup", {"name": name, "collections": [coll]})
        assert rc != 0 and result["error"]["type"] == "ConsistencyError"
        assert "inconsistent binlogs (missing fields [101])" in result["msg"]
        assert not backup_store.exists(backup_store.key(name, "COMPLETE"))
    finally:
        milvus_client.drop_collection(coll)


def test_binlogs_named_by_milvus_leave_an_orphan_out(call, milvus_client, stack, backup_store, unique):
    """An orphan insert log (a DataNode upload retry) beside a real segment: listing the bucket fails
    loudly; asking Milvus which logs the segment holds (REST ``segments/describe``, Milvus >= 2.5.8, as
    milvus-backup's ``core/backup/coll_dml_task.go getSegmentInfoByAPI`` does) copies exactly those and
    the backup restores every row. Milvus 2.3.5 has no REST v2 API: the proxy's answer comes from the
    loopback double in tests/fake_milvus_rest.py, built from the segment's real log ids before the
    orphan is planted; everything else is the real stack."""
    from fake_milvus_rest import FakeProxy  # pylint: disable=import-outside-toplevel
    from pymilvus import DataType, MilvusClient  # pylint: disable=import-outside-toplevel
    coll = "orphan_%s" % unique
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    index = milvus_client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="L2")
    milvus_client.create_collection(coll, schema=schema, index_params=index)  # loaded: the restore loads it too
    proxy = None
    try:
        milvus_client.insert(coll, [{"pk": i, "v": [i, 1]} for i in range(30)])
        milvus_client.flush(coll)
        cid = milvus_client.describe_collection(coll)["collection_id"]
        milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
        logs = {}
        for o in milvus_store.list("files/insert_log/%d/" % cid):
            _c, partition, segment, field, log_id = o.key.split("/")[-5:]
            logs.setdefault(int(segment), {}).setdefault(int(field), []).append(int(log_id))
        answers = dict((sid, dict(segmentID=sid, collectionID=cid, deltaLogs=[],
                                  insertLogs=[dict(fieldID=f, logIDs=ids) for f, ids in sorted(fields.items())]))
                       for sid, fields in logs.items())
        victim = [o for o in milvus_store.list("files/insert_log/%d/" % cid) if o.key.split("/")[-2] == "101"][0]
        orphan = victim.key.rsplit("/", 1)[0] + "/999999999999999999"
        milvus_store.write(orphan, milvus_store.read(victim.key))

        rc, result = call("milvus_backup", {"name": "orphan_list_%s" % unique, "collections": [coll],
                                            "segment_logs": "listing"})
        assert rc != 0 and result["error"]["type"] == "ConsistencyError"
        assert "have different file counts" in result["msg"] and "segment_logs=auto or rest" in result["msg"]

        proxy = FakeProxy(answers)
        name = "orphan_rest_%s" % unique
        rc, result = call("milvus_backup", {"name": name, "collections": [coll], "segment_logs": "rest",
                                            "rest_uri": proxy.uri})
        assert rc == 0, result.get("msg")
        entry = result["collections"][0]
        assert entry["binlog_source"] == "rest" and entry["orphan_binlogs_skipped"] == 1
        assert entry["live_row_count"] == 30
        assert set(r[0] for r in proxy.requests) == {"/v2/vectordb/segments/describe"}
        assert all(r[1] == "Bearer %s:%s" % (stack["MILVUS_USER"], stack["MILVUS_PASSWORD"]) for r in proxy.requests)
        assert sorted(r[2]["segmentIds"][0] for r in proxy.requests) == sorted(logs)
        keys = list(stored_binlogs(backup_store, name))
        assert not [k for k in keys if k.endswith("/999999999999999999")]
        assert "999999999999999999" not in json.dumps(result)

        rc, restored = call("milvus_restore", {"name": name, "collections": [coll], "suffix": "_r"})
        assert rc == 0, restored.get("msg")
        rows = milvus_client.query(coll + "_r", filter="pk >= 0", output_fields=["pk"], consistency_level="Strong")
        assert sorted(r["pk"] for r in rows) == list(range(30))

        rc, auto = call("milvus_backup", {"name": "orphan_auto_%s" % unique, "collections": [coll],
                                          "rest_uri": proxy.uri})
        assert rc != 0 and "different file counts" in auto["msg"], "auto on 2.3.5 must list, not call the API"
    finally:
        if proxy:
            proxy.close()
        for name in (coll, coll + "_r"):
            milvus_client.drop_collection(name)


def test_interrupted_backup_is_incomplete_then_resumes(playbook, call, shapes, backup_store, milvus_env, unique):
    """Kill ansible-playbook mid-copy (throttled so the copy takes a while), then run again."""
    name = "killed_%s" % unique
    backup_store.cleanup(name)
    params = {"name": name, "collections": ["catalog"], "concurrency": 1, "max_bytes_per_second": 20000}
    env = dict(milvus_env, ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH")
               or os.environ["VECTOROPS_COLLECTIONS_DIR"])
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(HERE, "playbooks", "call.yml"),
           "-e", json.dumps({"module": "milvus_backup", "params": params})]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(stored_binlogs(backup_store, name)) < 3:
            assert proc.poll() is None, "the backup finished before it could be interrupted"
            time.sleep(0.2)
        copied_before_kill = len(stored_binlogs(backup_store, name))
        assert copied_before_kill >= 3
        # Kill what a node or pod failure kills: the module process (ansible runs it in its own
        # process group, so it is named in IN_PROGRESS), and ansible-playbook.
        writer = json.loads(backup_store.read(backup_store.key(name, ".vectorops/IN_PROGRESS")))
        os.kill(writer["pid"], signal.SIGKILL)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    rc, info = call("milvus_backup_info", {"name": name})
    entry = info["backups"][0]
    assert entry["status"] == "incomplete" and not entry["complete"] and entry["in_progress"]["host"]
    rc, listing = call("milvus_backup_info", {})
    assert [b["complete"] for b in listing["backups"] if b["name"] == name] == [False]
    result = backup(call, name, collections=["catalog"], concurrency=4)
    assert result["status"] == "complete" and result["resumed"] is True
    assert result["copy"]["reused"] >= copied_before_kill
    assert_manifest_matches_storage(backup_store, name)
    assert not backup_store.exists(backup_store.key(name, ".vectorops/IN_PROGRESS"))
    rc, info = call("milvus_backup_info", {"name": name})
    assert info["backup"]["status"] == "complete"


def test_incomplete_backup_with_on_incomplete_fail(call, shapes, backup_store, unique):
    name = "onfail_%s" % unique
    backup_store.cleanup(name)
    # What a killed run leaves: its claim (a writer that is gone) and part of the data. (A folder with data and no
    # marker at all is not a backup: it is refused, never resumed or deleted.)
    dead = subprocess.Popen(["true"])  # pylint: disable=consider-using-with
    dead.wait()
    backup_store.write(backup_store.key(name, ".vectorops/IN_PROGRESS"), json.dumps(dict(
        name=name, host=socket.gethostname(), pid=dead.pid, run_id="killed", started_at="2026-12-01T00:00:00.000000Z",
        heartbeat_at="2026-12-01T00:00:00.000000Z")).encode("utf-8"))
    backup_store.write(backup_store.key(name, "binlogs/insert_log/1/2/3/3/100/4"), b"partial")
    rc, result = call("milvus_backup", {"name": name, "collections": ["quick_setup"], "on_incomplete": "fail"})
    assert rc != 0 and "is incomplete" in result["msg"] and "on_incomplete=resume" in result["msg"]
    assert "state=absent" in result["msg"]
    done = backup(call, name, collections=["quick_setup"])
    assert done["resumed"] and "binlogs/insert_log/1/2/3/3/100/4" not in stored_binlogs(backup_store, name)


def foreign_quick_setup(milvus_client, stack, backup_store, name, level_only):
    """quick_setup as milvus-backup would have written it (see tests/milvus_backup_fixture.py)."""
    import milvus_backup_fixture  # pylint: disable=import-outside-toplevel
    desc = milvus_client.describe_collection("quick_setup")
    part_id = [s.partition_id for s in milvus_client.list_persistent_segments("quick_setup")][0]
    collection = dict(id=desc["collection_id"], db_name="default", name="quick_setup", dynamic=True,
                      schema_fields=[(100, "id", 5, {}, {"is_primary_key": True}), (101, "vector", 101, {"dim": 5}, {}),
                                     (102, "color", 21, {"max_length": 512}, {})],
                      partitions=[(part_id, "_default")], indexes=[("vector", "AUTOINDEX", "COSINE")])
    segments = dict((s.segment_id, (s.partition_id, s.num_rows))
                    for s in milvus_client.list_persistent_segments("quick_setup"))
    milvus_store = store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files")
    backup_store.cleanup(name)
    return milvus_backup_fixture.write(milvus_store, backup_store, name, collection, segments, level_only=level_only)


@pytest.mark.parametrize("level_only", [False, True], ids=["full_meta", "level_files"])
def test_backup_info_reads_milvus_backup_backups(call, milvus_client, quick_setup, stack, backup_store, unique,
                                                 level_only):
    name = "mbk_%s_%s" % ("level" if level_only else "full", unique)
    foreign_quick_setup(milvus_client, stack, backup_store, name, level_only)
    rc, listing = call("milvus_backup_info", {})
    entry = [b for b in listing["backups"] if b["name"] == name][0]
    assert entry["written_by"] == "milvus-backup" and entry["status"] == "complete"
    assert entry["collections"] == ["default.quick_setup"] and entry["rows"] == 10
    assert entry["milvus_version"] == "v2.3.5" and entry["tool_version"] is None
    rc, one = call("milvus_backup_info", {"name": name})
    detail = one["backup"]["collection_details"][0]
    assert detail["row_count"] == 10 and detail["partitions"][0]["name"] == "_default"
    assert [f["name"] for f in detail["fields"]] == ["id", "vector", "color"]
    assert detail["indexes"][0]["params"]["metric_type"] == "COSINE"


def test_delete_a_milvus_backup_backup(call, milvus_client, quick_setup, stack, backup_store, unique):
    name = "mbk_del_%s" % unique
    foreign_quick_setup(milvus_client, stack, backup_store, name, level_only=False)
    rc, result = call("milvus_backup", {"name": name, "state": "absent"})
    assert rc == 0 and result["changed"] and result["backup"]["status"] == "complete"
    assert not backup_store.has_objects(backup_store.key(name) + "/")


def test_prune_decisions_name_each_backups_format_and_writer(call, quick_setup, stack, unique):
    """milvus_backup_prune on a root of its own: every decision says how the backup stores its rows
    (``format``) and which tool wrote it (``written_by``), as milvus_backup_info's summaries do."""
    root = "prune_%s" % unique
    storage = {"root_path": root}
    store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], root)
    older, newer = "older_%s" % unique, "newer_%s" % unique
    try:
        for name, data_format in ((older, "binlog"), (newer, "logical")):
            rc, made = call("milvus_backup", {"name": name, "collections": [quick_setup], "format": data_format,
                                              "backup_storage": storage})
            assert rc == 0, made.get("msg")
            assert made["backup"]["format"] == data_format and made["backup"]["written_by"] == "vectorops"
        rc, planned = call("milvus_backup_prune", {"keep_last": 1, "backup_storage": storage}, check=True)
        assert rc == 0 and planned["changed"] and planned["deleted"] == [older] and planned["kept"] == [newer]
        decisions = dict((d["name"], d) for d in planned["decisions"])
        assert dict((name, (d["format"], d["written_by"], d["action"])) for name, d in decisions.items()) == {
            older: ("binlog", "vectorops", "delete"), newer: ("logical", "vectorops", "keep")}
        assert sorted(b["name"] for b in catalog.list_backups(store)) == sorted([older, newer]), "check mode deletes nothing"
        rc, pruned = call("milvus_backup_prune", {"keep_last": 1, "backup_storage": storage})
        assert rc == 0 and pruned["changed"] and pruned["deleted"] == [older]
        assert [b["name"] for b in catalog.list_backups(store)] == [newer]
    finally:
        for name in store.list_dirs(store.key() + "/"):
            catalog.delete_backup(store, name)
