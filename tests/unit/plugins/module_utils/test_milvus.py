import grpc
import pytest
from pymilvus.exceptions import MilvusException
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from ansible_collections.vectorops.milvus.plugins.module_utils import milvus
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    InputError, MilvusConnectionError, MilvusOperationError, NotFoundError)


def params(**kw):
    base = dict(uri="http://127.0.0.1:19530", timeout=5, db_name="default")
    base.update(kw)
    return base


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details):
        super().__init__()
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


def wrapped(code, details):
    """pymilvus raises MilvusException 'Fail connecting...' from the gRPC error."""
    try:
        try:
            raise FakeRpcError(code, details)
        except FakeRpcError as inner:
            message = "Fail connecting to server on x, illegal connection params or server unavailable"
            raise MilvusException(code=2, message=message) from inner  # pylint: disable=bad-exception-cause
    except MilvusException as exc:
        return exc


@pytest.mark.parametrize("kw,message", [
    (dict(uri="127.0.0.1:19530"), "uri must look like"),
    (dict(user="root"), "user and password must be given together"),
    (dict(ca_cert="/nonexistent.pem"), "ca_cert file /nonexistent.pem does not exist"),
])
def test_bad_connection_parameters(kw, message):
    with pytest.raises(InputError, match=message):
        milvus.MilvusConnection(params(**kw))


def test_mutual_tls_needs_key_and_ca(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(InputError, match="client_cert and client_key must be given together"):
        milvus.MilvusConnection(params(client_cert=str(cert)))
    with pytest.raises(InputError, match="also needs ca_cert"):
        milvus.MilvusConnection(params(client_cert=str(cert), client_key=str(cert)))
    conn = milvus.MilvusConnection(params(client_cert=str(cert), client_key=str(cert), ca_cert=str(cert),
                                          server_name="milvus.local"))
    kwargs = conn._client_kwargs  # pylint: disable=protected-access
    assert kwargs["secure"] and kwargs["client_pem_path"] == str(cert) and kwargs["server_name"] == "milvus.local"


def test_token_wins_over_user_password():
    conn = milvus.MilvusConnection(params(token="t", user="u", password="p"))
    kwargs = conn._client_kwargs  # pylint: disable=protected-access
    assert kwargs["token"] == "t" and "password" not in kwargs


def test_connect_errors_name_the_problem():
    conn = milvus.MilvusConnection(params(user="root", password="bad"))
    auth = conn.describe_connect_error(wrapped(grpc.StatusCode.UNAUTHENTICATED, "auth check failure"))
    assert isinstance(auth, MilvusConnectionError) and auth.details["reason"] == "authentication"
    assert "rejected the credentials as user 'root'" in auth.message and "auth check failure" in auth.message
    down = conn.describe_connect_error(wrapped(grpc.StatusCode.UNAVAILABLE, "Connection refused"))
    assert down.details["reason"] == "unreachable"
    assert "cannot reach Milvus at http://127.0.0.1:19530 within 5s: Connection refused" in down.message


def test_a_connection_refused_at_once_does_not_claim_the_whole_timeout():
    conn = milvus.MilvusConnection(params())
    refused = conn.describe_connect_error(wrapped(grpc.StatusCode.UNAVAILABLE, "Connection refused"), elapsed=0.04)
    assert ("cannot reach Milvus at http://127.0.0.1:19530 after 0.0s (it refused or dropped the connection; "
            "timeout 5s): Connection refused") in refused.message
    waited = conn.describe_connect_error(wrapped(grpc.StatusCode.UNAVAILABLE, "deadline"), elapsed=5.01)
    assert "cannot reach Milvus at http://127.0.0.1:19530 within 5s: deadline" in waited.message


class FlakyClientFactory:
    """Stands in for pymilvus.MilvusClient: raises ``failures`` (pymilvus-wrapped gRPC errors) in turn, then
    returns a client. The real failure it models came from CI's fault suite: a channel dropped by the server
    with GOAWAY "Too many pings" while pymilvus opened the next client on it."""

    def __init__(self, *failures):
        self.failures, self.calls = list(failures), []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.failures:
            raise self.failures.pop(0)
        return "client"


def test_a_connection_dropped_while_opening_is_tried_again_within_the_timeout(monkeypatch):
    pauses = []
    monkeypatch.setattr(milvus.time, "sleep", pauses.append)
    factory = FlakyClientFactory(wrapped(grpc.StatusCode.UNAVAILABLE, "Too many pings"))
    monkeypatch.setattr(milvus, "MilvusClient", factory)
    conn = milvus.MilvusConnection(params(timeout=60))
    assert conn.client() == "client" and pauses == [milvus.CONNECT_BACKOFF]
    assert [c["dedicated"] for c in factory.calls] == [True, True]  # never a channel shared with other clients


def test_a_server_that_keeps_refusing_fails_after_the_last_attempt_and_credentials_at_once(monkeypatch):
    pauses = []
    monkeypatch.setattr(milvus.time, "sleep", pauses.append)
    refused = [wrapped(grpc.StatusCode.UNAVAILABLE, "Connection refused") for _attempt in range(milvus.CONNECT_ATTEMPTS)]
    monkeypatch.setattr(milvus, "MilvusClient", FlakyClientFactory(*refused))
    with pytest.raises(MilvusConnectionError, match="it refused or dropped the connection; timeout 60s") as failed:
        milvus.MilvusConnection(params(timeout=60)).client()
    assert failed.value.details["attempts"] == milvus.CONNECT_ATTEMPTS and pauses == [0.5, 1.0]
    del pauses[:]
    monkeypatch.setattr(milvus, "MilvusClient",
                        FlakyClientFactory(wrapped(grpc.StatusCode.UNAUTHENTICATED, "auth check failure")))
    with pytest.raises(MilvusConnectionError, match="rejected the credentials") as failed:
        milvus.MilvusConnection(params(timeout=60, user="root", password="bad")).client()
    assert "attempts" not in failed.value.details and pauses == []


def test_operation_errors():
    conn = milvus.MilvusConnection(params())
    err = conn.operation_error("describe collection x", MilvusException(code=100, message="collection not found"))
    assert isinstance(err, NotFoundError) and "describe collection x: collection not found" == err.message
    err = conn.operation_error("flush", MilvusException(code=65535, message="boom"))
    assert isinstance(err, MilvusOperationError) and "flush failed on Milvus at http://127.0.0.1:19530: boom" == err.message


def test_check_status():
    milvus.check_status("x", common_pb2.Status())
    with pytest.raises(MilvusOperationError, match="import failed: quota"):
        milvus.check_status("import", common_pb2.Status(code=65535, reason="quota"))
    with pytest.raises(NotFoundError):
        milvus.check_status("describe", common_pb2.Status(code=100, reason="collection not found"))


def test_proto_to_dict_uses_milvus_backup_conventions():
    schema = schema_pb2.CollectionSchema(name="c", enable_dynamic_field=True, fields=[
        schema_pb2.FieldSchema(fieldID=100, name="pk", is_primary_key=True, data_type=schema_pb2.DataType.Int64),
        schema_pb2.FieldSchema(fieldID=101, name="v", data_type=schema_pb2.DataType.FloatVector,
                               type_params=[common_pb2.KeyValuePair(key="dim", value="8")])])
    resp = milvus_pb2.DescribeCollectionResponse(schema=schema, collectionID=470613717872541934, shards_num=2)
    result = milvus.proto_to_dict(resp)
    assert result["collectionID"] == 470613717872541934  # an int, not the string json_format produces
    assert result["schema"]["fields"][1] == {"fieldID": 101, "name": "v", "data_type": 101,
                                             "type_params": [{"key": "dim", "value": "8"}]}
    assert result["schema"]["fields"][0]["is_primary_key"] is True
    assert "status" not in result  # unset fields are omitted (Go omitempty)
    assert milvus.data_type_name(21) == "VarChar" and milvus.consistency_level_name(2) == "Bounded"


def test_proto_to_dict_bytes_and_maps():
    value = schema_pb2.ValueField(bytes_data=b"\x00\x01")
    assert milvus.proto_to_dict(value) == {"bytes_data": "AAE="}
    req = milvus_pb2.ImportResponse(tasks=[1, 2])
    assert milvus.proto_to_dict(req) == {"tasks": [1, 2]}


def test_rpc_checks_bare_status_responses(monkeypatch):
    """DDL RPCs return common.Status itself; a failure there must not pass silently."""
    conn = milvus.MilvusConnection(params())

    class Stub:
        def CreateAlias(self, request, timeout):  # noqa: N802 pylint: disable=invalid-name,unused-argument
            return common_pb2.Status(code=1602, error_code=1, reason="alias already exist")

        def GetLoadState(self, request, timeout):  # noqa: N802 pylint: disable=invalid-name,unused-argument
            return milvus_pb2.GetLoadStateResponse(status=common_pb2.Status(code=100, reason="collection not found"))

    monkeypatch.setattr(conn, "stub", lambda db_name=None: Stub())
    with pytest.raises(MilvusOperationError, match="create alias failed.*alias already exist"):
        conn.rpc("create alias", "CreateAlias", milvus_pb2.CreateAliasRequest())
    with pytest.raises(NotFoundError, match="collection not found"):
        conn.rpc("load state", "GetLoadState", milvus_pb2.GetLoadStateRequest())


def test_credentials_in_the_uri_never_show():
    conn = milvus.MilvusConnection(params(uri="https://root:s3cret@milvus.example:443/db1"))
    assert conn.uri == "https://milvus.example:443/db1"
    assert conn._client_kwargs["uri"] == "https://root:s3cret@milvus.example:443/db1"  # pylint: disable=protected-access
    assert "s3cret" not in conn.describe_connect_error(RuntimeError("Fail connecting")).message
    assert milvus.redact_uri("http://h:19530") == "http://h:19530"
