"""milvus_info's failure paths that need no server (the rest runs in tests/integration)."""

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import milvus, storage
from ansible_collections.vectorops.milvus.plugins.modules import milvus_info


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("MILVUS_URI", "MILVUS_TOKEN", "MILVUS_USER", "MILVUS_PASSWORD", "MILVUS_STORAGE_BUCKET",
                 "BACKUP_STORAGE_BUCKET", "BACKUP_STORAGE_TYPE", "BACKUP_STORAGE_PATH", "MILVUS_STORAGE_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def test_missing_pymilvus_is_reported_with_install_hint(run_module, monkeypatch):
    monkeypatch.setattr(milvus, "HAS_PYMILVUS", False)
    monkeypatch.setattr(milvus, "PYMILVUS_IMPORT_ERROR", "ModuleNotFoundError: No module named 'pymilvus'")
    result = run_module(milvus_info.main, {})
    assert result["failed"]
    assert "Failed to import the required Python library (pymilvus)" in result["msg"]
    assert result["error"] == {"type": "MissingLibraryError", "library": "pymilvus"}


def test_missing_boto3_is_reported(run_module, monkeypatch):
    monkeypatch.setattr(storage, "HAS_BOTO3", False)
    result = run_module(milvus_info.main, {"milvus_storage": {"bucket": "b"}})
    assert "Failed to import the required Python library (boto3" in result["msg"]


def test_bad_storage_settings_fail_before_connecting(run_module):
    result = run_module(milvus_info.main, {"backup_storage": {"type": "local"}, "uri": "http://127.0.0.1:1"})
    assert result["failed"] and result["msg"] == ("type is local but all of the following are missing: path found in "
                                                  "backup_storage"), result["msg"]
    assert "error" not in result, "refused by the argument spec, before the engine"


def test_environment_fallbacks_reach_the_engine(run_module, monkeypatch):
    monkeypatch.setenv("MILVUS_URI", "not-a-uri")
    result = run_module(milvus_info.main, {})
    assert result["msg"].startswith("uri must look like http://host:19530")
    monkeypatch.setenv("MILVUS_URI", "http://127.0.0.1:19530")
    monkeypatch.setenv("BACKUP_STORAGE_TYPE", "local")
    result = run_module(milvus_info.main, {})
    assert result["msg"] == "type is local but all of the following are missing: path found in backup_storage"


def test_secrets_are_marked_no_log(run_module, monkeypatch):
    """AnsibleModule collects no_log values; a leaked password would show in module output."""
    from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
    seen = {}
    original = basic.AnsibleModule.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen["no_log_values"] = set(self.no_log_values)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", spy)
    run_module(milvus_info.main, {"uri": "bad", "password": "pw-123", "user": "u", "token": "tok-456",
                                  "milvus_storage": {"bucket": "b", "secret_key": "sk-789", "access_key": "ak"}})
    assert {"pw-123", "tok-456", "sk-789"} <= seen["no_log_values"]
    assert "ak" not in seen["no_log_values"]


def test_partial_results_do_not_clash_with_the_failure_message(run_module):
    """An engine error may carry what was done so far; its own msg must not break fail_json."""
    from ansible_collections.vectorops.milvus.plugins.module_utils.errors import VectoropsError  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.module import run_module as wrapper  # pylint: disable=import-outside-toplevel

    def engine(module):
        raise VectoropsError("the real message", result=dict(msg="stale", failed=False, checks=[1], changed=False))

    result = run_module(lambda: wrapper({}, engine), {})
    assert result["failed"] and result["msg"] == "the real message" and result["checks"] == [1]
