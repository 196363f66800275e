"""milvus_info through ansible-playbook against Milvus 2.3.5 (+ SeaweedFS) and Milvus Lite."""

import json
import os
import re
import subprocess
import sys

import pytest
from pymilvus import DataType, MilvusClient

from conftest import free_loopback_port


def test_quick_setup_info_with_preflight(playbook, quick_setup):
    run = playbook("milvus_info.yml")
    assert run.rc == 0, run.failed_tasks
    coll = run.result("Describe quick_setup with the storage preflight")["collections"][0]
    assert [f["name"] for f in coll["schema"]["fields"]] == ["id", "vector", "color"]
    assert [f["data_type"] for f in coll["schema"]["fields"]] == ["Int64", "FloatVector", "VarChar"]
    assert coll["schema"]["fields"][1]["params"] == {"dim": "5"}
    assert coll["schema"]["fields"][0]["field_id"] == 100
    assert coll["load_state"] == "Loaded" and coll["consistency_level"] == "Bounded"
    assert coll["shards_num"] == 1 and coll["partitions"][0]["name"] == "_default"
    assert {i["index_type"] for i in coll["indexes"]} == {"STL_SORT", "AUTOINDEX"}
    assert coll["segments"] and all(s["state"] == "Flushed" for s in coll["segments"])
    storage = run.result("Describe quick_setup with the storage preflight")["storage"]
    assert storage["milvus_storage"]["collections"][0]["insert_log_found"] is True
    assert storage["backup_storage"]["listable"] is True and storage["backup_storage"]["writable"] is None
    assert "probe_key" not in storage["backup_storage"], "no write check unless asked for"


@pytest.fixture
def s3_request_log(stack):
    """Every request sent to the stack's S3 service through a logging proxy (tests/s3_request_log.py)."""
    from s3_request_log import S3RequestLog  # pylint: disable=import-outside-toplevel
    with S3RequestLog(stack["MILVUS_STORAGE_ENDPOINT"]) as log:
        yield log


def test_milvus_info_sends_no_write_request_to_either_bucket(call, quick_setup, s3_request_log, stack):
    log = s3_request_log
    params = {"collections": ["quick_setup"], "milvus_storage": {"endpoint": log.endpoint},
              "backup_storage": {"endpoint": log.endpoint}}
    both = sorted([stack["MILVUS_STORAGE_BUCKET"], stack["BACKUP_STORAGE_BUCKET"]])
    for check_mode in (False, True):
        log.clear()
        rc, result = call("milvus_info", params, check=check_mode)
        assert rc == 0, result.get("msg")
        assert log.buckets() == both, "both preflights went through the proxy"
        assert log.writes() == [], "check_mode=%s" % check_mode
        assert {method for method, _path, _query in log.requests} <= {"GET", "HEAD"}
        assert result["changed"] is False
        backup = result["storage"]["backup_storage"]
        assert backup["reachable"] and backup["listable"] and backup["writable"] is None and backup["ok"]
        assert result["storage"]["milvus_storage"]["ok"] and result["storage"]["milvus_storage"]["insert_log_present"]

    # The same proxy sees the opt-in write probe: a PUT of the probe object and its deletion, nothing else.
    log.clear()
    rc, result = call("milvus_info", dict(params, storage_write_check=True))
    assert rc == 0, result.get("msg")
    probe = result["storage"]["backup_storage"]["probe_key"]
    assert result["storage"]["backup_storage"]["writable"] is True and probe.startswith("backup/.vectorops-probe-")
    assert [(m, p) for m, p, _q in log.writes()] == [
        ("PUT", "/%s/%s" % (stack["BACKUP_STORAGE_BUCKET"], probe)), ("POST", "/%s" % stack["BACKUP_STORAGE_BUCKET"])]
    assert "delete" in log.writes()[1][2]

    # Asked for in check mode, the write probe is skipped and the result says so.
    log.clear()
    rc, result = call("milvus_info", dict(params, storage_write_check=True), check=True)
    assert rc == 0 and log.writes() == []
    assert result["storage"]["backup_storage"]["writable"] is None
    assert any("storage_write_check was not run: check mode" in w for w in result["warnings"])


def test_milvus_lite(call, lite_client, stack, unique):
    name = "lite_%s" % unique
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=4)
    index = lite_client.prepare_index_params()
    index.add_index(field_name="emb", index_type="AUTOINDEX", metric_type="IP")
    lite_client.create_collection(name, schema=schema, index_params=index)
    lite_client.insert(name, [{"pk": "k%d" % i, "emb": [i, 1, 0, 0], "extra": i} for i in range(7)])
    try:
        rc, result = call("milvus_info", {"uri": stack["MILVUS_LITE_URI"], "user": "", "password": "",
                                          "collections": [name], "segments": True})
        assert rc == 0, result
        assert result["server"]["flavor"] == "milvus-lite"
        coll = result["collections"][0]
        assert coll["row_count_exact"] == 7
        assert coll["schema"]["primary_field"] == "pk" and coll["schema"]["fields"][0]["data_type"] == "VarChar"
        assert coll["indexes"][0]["metric_type"] == "IP"
        assert coll["segments"] is None and "segments" in coll["unavailable"]
    finally:
        lite_client.drop_collection(name)


def failure(call, params):
    rc, result = call("milvus_info", params)
    assert rc != 0 and result["failed"]
    assert "Traceback" not in result["msg"] and "\n" not in result["msg"]
    return result


def test_wrong_password_is_one_clear_message(call, quick_setup):
    result = failure(call, {"password": "not-the-password"})
    assert "rejected the credentials as user 'root'" in result["msg"]
    assert result["error"] == {"type": "MilvusConnectionError", "reason": "authentication"}


def test_a_failure_carries_its_traceback_and_library_versions_but_no_secret(playbook, stack, quick_setup):
    """As amazon.aws's fail_json_aws does: the traceback under ``exception`` and the installed library
    versions, so a bug report has them; the wrong password itself appears nowhere, not even at -vvv.
    ansible-core 2.19 keeps tracebacks out of results unless ANSIBLE_DISPLAY_TRACEBACK asks for them
    (earlier releases print them at -vvv), so the run asks."""
    from importlib import metadata  # pylint: disable=import-outside-toplevel
    secret = "wrong-pw-%s" % "5f1c9e"
    run = playbook("call.yml", {"module": "milvus_info", "params": {"password": secret}}, args=["-vvv"],
                   env={"ANSIBLE_DISPLAY_TRACEBACK": "error"})
    result = run.result("Run milvus_info")
    assert run.rc != 0 and result["failed"] and "rejected the credentials" in result["msg"]
    assert result["exception"].startswith("Traceback") and "MilvusConnectionError" in result["exception"]
    assert result["pymilvus_version"] == metadata.version("pymilvus")
    assert result["boto3_version"] == metadata.version("boto3")
    for text in (json.dumps(run.output), run.stdout, run.stderr):
        assert secret not in text and stack["MILVUS_PASSWORD"] not in text


def test_unreachable_uri_is_one_clear_message(call):
    port = free_loopback_port()
    result = failure(call, {"uri": "http://127.0.0.1:%d" % port, "timeout": 3})
    # nothing listens there: refused at once, and the message says so instead of "within 3s"
    assert re.match(r"cannot reach Milvus at http://127\.0\.0\.1:%d after \d+\.\ds \(it refused or dropped the "
                    r"connection; timeout 3s\)" % port, result["msg"]), result["msg"]
    assert result["error"]["reason"] == "unreachable"


def test_missing_bucket_is_one_clear_message(call, quick_setup):
    result = failure(call, {"collections": ["quick_setup"], "milvus_storage": {"bucket": "no-such-bucket"}})
    assert "bucket 'no-such-bucket' does not exist at http://127.0.0.1:" in result["msg"]
    assert result["error"] == {"type": "StorageError", "reason": "missing_bucket"}
    result = failure(call, {"collections": ["quick_setup"], "backup_storage": {"bucket": "no-such-backups"}})
    assert "bucket 'no-such-backups' does not exist" in result["msg"] and "(backup_storage.bucket)" in result["msg"]


def test_wrong_storage_credentials(call, quick_setup):
    result = failure(call, {"collections": ["quick_setup"], "milvus_storage": {"secret_key": "wrong"}})
    assert "rejected the credentials" in result["msg"] and "milvus_storage.access_key/secret_key" in result["msg"]


def test_unknown_collection(call):
    result = failure(call, {"collections": ["no_such_collection"]})
    assert result["msg"].startswith("collection 'no_such_collection' does not exist in database 'default'")


def test_wrong_root_path_is_reported_as_a_problem(call, quick_setup):
    rc, result = call("milvus_info", {"collections": ["quick_setup"], "milvus_storage": {"root_path": "wrong-root"}})
    assert rc == 0
    check = result["storage"]["milvus_storage"]
    assert check["ok"] is False and check["insert_log_present"] is False
    assert "quick_setup has 1 flushed segment(s)" in check["problems"][0]
    assert "minio.bucketName and minio.rootPath" in check["problems"][0]
    assert any("flushed segment" in w for w in result.get("warnings", []))


def test_ansible_doc_renders_every_option_with_description_and_examples(milvus_env):
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"]
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    env = dict(milvus_env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    text = subprocess.run([ansible_doc, "vectorops.milvus.milvus_info"], env=env, capture_output=True, text=True,
                          check=True).stdout
    import json  # pylint: disable=import-outside-toplevel
    doc = json.loads(subprocess.run([ansible_doc, "--json", "vectorops.milvus.milvus_info"], env=env,
                                    capture_output=True, text=True, check=True).stdout)
    options = doc["vectorops.milvus.milvus_info"]["doc"]["options"]
    for name in ("uri", "token", "user", "password", "db_name", "ca_cert", "client_cert", "client_key",
                 "server_name", "timeout", "milvus_storage", "backup_storage", "collections", "databases"):
        assert name in options and options[name]["description"], name
        assert name in text
    assert set(options["backup_storage"]["suboptions"]) >= {"type", "path", "bucket", "endpoint", "secret_key"}
    assert "EXAMPLES:" in text and "vectorops.milvus.milvus_info:" in text


@pytest.mark.parametrize("role", ["dr_drill", "backup_schedule"])
def test_ansible_doc_renders_the_roles(milvus_env, role):
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"]
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    env = dict(milvus_env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    import json  # pylint: disable=import-outside-toplevel
    doc = json.loads(subprocess.run([ansible_doc, "-t", "role", "--json", "vectorops.milvus.%s" % role], env=env,
                                    capture_output=True, text=True, check=True).stdout)
    options = doc["vectorops.milvus.%s" % role]["entry_points"]["main"]["options"]
    assert options and all(name.startswith(role + "_") and spec["description"] for name, spec in options.items())


@pytest.mark.parametrize("module,params", [
    ("milvus_backup", {"name": "never_written", "collections": ["quick_setup"]}),
    ("milvus_backup_info", {}),
    ("milvus_backup_prune", {"keep_last": 1}),
    ("milvus_restore", {"name": "never_written"}),
    ("milvus_verify", {"level": "checksum", "name": "never_written"}),
])
def test_every_module_names_a_missing_backup_bucket_with_its_error_type_and_versions(call, quick_setup, module,
                                                                                     params):
    """The failure result is the same in every module: one line naming the bucket, ``error.type``, and the
    library versions for a bug report."""
    from importlib import metadata  # pylint: disable=import-outside-toplevel
    rc, result = call(module, dict(params, backup_storage={"bucket": "no-such-bucket"}))
    assert rc != 0 and result["failed"] and "\n" not in result["msg"]
    assert "bucket 'no-such-bucket' does not exist" in result["msg"], result["msg"]
    assert result["error"]["type"] == "StorageError" and result["error"]["reason"] == "missing_bucket"
    assert result["pymilvus_version"] == metadata.version("pymilvus")
    assert result["boto3_version"] == metadata.version("boto3")
