# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Connection to a Milvus server (engine side: no Ansible imports).

One :class:`MilvusConnection` per task. It opens one pymilvus ``MilvusClient`` per database, each on
its own (dedicated) gRPC channel, gives access to the raw gRPC stub for calls pymilvus does not
expose, and turns every failure into a :class:`VectoropsError` with a readable message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import time
import traceback

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    InputError,
    MilvusConnectionError,
    MilvusOperationError,
    MissingLibraryError,
    NotFoundError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import wait_until

try:
    import grpc
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException
    from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2
    HAS_PYMILVUS = True
    PYMILVUS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the missing-library unit test
    HAS_PYMILVUS = False
    PYMILVUS_IMPORT_ERROR = traceback.format_exc()
    MilvusException = None

CONNECTION_KEYS = ("uri", "token", "user", "password", "db_name", "ca_cert", "client_cert",
                   "client_key", "server_name", "timeout")
DEFAULT_URI = "http://localhost:19530"
DEFAULT_DB = "default"
# A connection dropped while it is being opened (a server's GOAWAY "Too many pings" for an idle channel, a
# restart) is tried again, at most this many times in all, within the task's timeout.
CONNECT_ATTEMPTS = 3
CONNECT_BACKOFF = 0.5  # seconds before the second attempt; doubled for each further one
IMPORT_DONE, IMPORT_FAILED, IMPORT_FAILED_CLEANED = 6, 1, 7  # common.ImportState of GetImportState
# Milvus status codes that mean "the thing you named does not exist".
NOT_FOUND_CODES = (100, 200, 800)  # collection, partition, database not found


def require_pymilvus():
    if not HAS_PYMILVUS:
        raise MissingLibraryError("pymilvus", PYMILVUS_IMPORT_ERROR)


def grpc_status(exc):
    """Return ``(grpc.StatusCode, details)`` of the first gRPC error in ``exc``'s cause chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "code", None)
        if callable(code) and HAS_PYMILVUS and isinstance(exc, grpc.RpcError):
            details = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
            return code(), details
        exc = exc.__cause__ or exc.__context__
    return None, None


def error_text(exc):
    """The useful part of a pymilvus/gRPC exception, without reprs and tracebacks."""
    status, details = grpc_status(exc)
    if status is not None:
        return "%s: %s" % (status.name, details)
    message = getattr(exc, "message", None)
    return message if message else (str(exc) or type(exc).__name__)


def milvus_code(exc):
    return getattr(exc, "code", None) if MilvusException and isinstance(exc, MilvusException) else None


class MilvusConnection:
    """Lazily connected handle on one Milvus server for one set of credentials."""

    def __init__(self, params):
        require_pymilvus()
        self.params = dict((k, params.get(k)) for k in CONNECTION_KEYS)
        self.full_uri = self.params["uri"] or DEFAULT_URI
        # What messages, results and manifests show: never credentials embedded in the URI.
        self.uri = redact_uri(self.full_uri)
        self.default_db = self.params["db_name"] or DEFAULT_DB
        self.timeout = float(self.params["timeout"] or 30)
        self._clients = {}
        self._client_kwargs = self._build_client_kwargs()

    # ------------------------------------------------------------ connecting
    def _build_client_kwargs(self):
        p = self.params
        if "://" not in self.full_uri:
            raise InputError("uri must look like http://host:19530 or https://host:443, got %r" % self.uri)
        # dedicated: pymilvus otherwise shares one channel among every client of the process with the same
        # address and credentials and, after 30 s idle, repairs it in place; one task's channel is its own.
        kwargs = dict(uri=self.full_uri, timeout=self.timeout, dedicated=True)
        if p["token"]:
            kwargs["token"] = p["token"]
        elif p["user"] or p["password"]:
            if not (p["user"] and p["password"]):
                raise InputError("user and password must be given together (or use token)")
            kwargs["user"], kwargs["password"] = p["user"], p["password"]
        for key in ("ca_cert", "client_cert", "client_key"):
            if p[key] and not os.path.isfile(p[key]):
                raise InputError("%s file %s does not exist" % (key, p[key]))
        if bool(p["client_cert"]) != bool(p["client_key"]):
            raise InputError("client_cert and client_key must be given together for mutual TLS")
        secure = self.full_uri.startswith("https://") or bool(p["ca_cert"] or p["client_cert"])
        if secure:
            kwargs["secure"] = True
            if p["client_cert"]:
                if not p["ca_cert"]:
                    raise InputError("mutual TLS (client_cert/client_key) also needs ca_cert")
                kwargs.update(client_pem_path=p["client_cert"], client_key_path=p["client_key"],
                              ca_pem_path=p["ca_cert"])
            elif p["ca_cert"]:
                kwargs["server_pem_path"] = p["ca_cert"]
            if p["server_name"]:
                kwargs["server_name"] = p["server_name"]
        return kwargs

    def describe_connect_error(self, exc, elapsed=None):
        """A clear message for a failed connection; ``elapsed`` (seconds the attempt took) keeps it honest."""
        who = " as user %r" % self.params["user"] if self.params["user"] and not self.params["token"] else ""
        status, details = grpc_status(exc)
        name = status.name if status is not None else ""
        if name == "UNAUTHENTICATED":
            return MilvusConnectionError(
                "Milvus at %s rejected the credentials%s: %s. Check user/password or token "
                "(MILVUS_USER/MILVUS_PASSWORD/MILVUS_TOKEN)." % (self.uri, who, details),
                reason="authentication")
        if name == "PERMISSION_DENIED":
            return MilvusConnectionError("Milvus at %s denied access%s: %s" % (self.uri, who, details),
                                         reason="authorization")
        if name in ("UNAVAILABLE", "DEADLINE_EXCEEDED") or "Fail connecting" in error_text(exc):
            reason = details or error_text(exc)
            if elapsed is not None and elapsed < 0.9 * self.timeout:
                when = "after %.1fs (it refused or dropped the connection; timeout %gs)" % (elapsed, self.timeout)
            else:
                when = "within %gs" % self.timeout
            return MilvusConnectionError(
                "cannot reach Milvus at %s %s: %s. Check uri (MILVUS_URI), that the server is "
                "running and that TLS settings match the server." % (self.uri, when, reason),
                reason="unreachable")
        if milvus_code(exc) == 800:
            return NotFoundError("database %r does not exist on Milvus at %s" % (self.default_db, self.uri))
        return MilvusConnectionError("cannot connect to Milvus at %s: %s" % (self.uri, error_text(exc)),
                                     reason="other")

    def client(self, db_name=None):
        """The MilvusClient for ``db_name`` (default: the task's db_name)."""
        db = db_name or self.default_db
        if db not in self._clients:
            self._clients[db] = self._open(db)
        return self._clients[db]

    def _open(self, db):
        """A new MilvusClient for ``db``; a connection dropped while opening is tried again (CONNECT_ATTEMPTS)
        as long as the timeout leaves room, anything else fails at once."""
        kwargs = dict(self._client_kwargs, db_name=db)
        started = time.monotonic()
        attempt = 1
        while True:
            try:
                return MilvusClient(**kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                if milvus_code(exc) == 800 or "database not found" in error_text(exc):
                    raise NotFoundError("database %r does not exist on Milvus at %s" % (db, self.uri))
                error = self.describe_connect_error(exc, time.monotonic() - started)
                pause = CONNECT_BACKOFF * 2 ** (attempt - 1)
                if error.details.get("reason") != "unreachable":
                    raise error
                if attempt == CONNECT_ATTEMPTS or time.monotonic() - started + pause > 0.5 * self.timeout:
                    error.details["attempts"] = attempt
                    raise error
            time.sleep(pause)
            attempt += 1

    def connect(self):
        """Open the default database's client now, so connection problems surface first."""
        return self.client()

    def close(self):
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # pylint: disable=broad-except
                pass
        self._clients = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ------------------------------------------------------------ calling
    def call(self, what, func, *args, **kwargs):
        """Run ``func`` and turn any exception into a MilvusOperationError/NotFoundError naming ``what``."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            raise self.operation_error(what, exc)

    def operation_error(self, what, exc):
        status, details = grpc_status(exc)
        if status is not None and status.name == "UNAVAILABLE":
            # The connection was up: Milvus went away (or restarted) during the call.
            return MilvusConnectionError(
                "%s: lost the connection to Milvus at %s (%s). Check that the server is running; a rerun of the "
                "task picks up where this one stopped." % (what, self.uri, details or error_text(exc)),
                reason="unreachable")
        if status is not None and status.name == "UNAUTHENTICATED":
            return self.describe_connect_error(exc)
        if milvus_code(exc) in NOT_FOUND_CODES:
            return NotFoundError("%s: %s" % (what, error_text(exc)))
        return MilvusOperationError("%s failed on Milvus at %s: %s" % (what, self.uri, error_text(exc)))

    def stub(self, db_name=None):
        """Raw gRPC MilvusService stub (auth interceptors included) for calls pymilvus hides."""
        return self.client(db_name)._get_connection()._stub  # pylint: disable=protected-access

    def rpc(self, what, method, request, db_name=None):
        """Call a raw gRPC method, check the embedded status, return the response."""
        stub = self.stub(db_name)
        try:
            response = getattr(stub, method)(request, timeout=self.timeout)
        except Exception as exc:  # pylint: disable=broad-except
            raise self.operation_error(what, exc)
        check_status(what, status_of(response), self.uri)
        return response

    # ------------------------------------------------------------ server facts
    def server_version(self):
        return self.call("get server version", self.client().get_server_version)

    def database_properties(self, db_name):
        """A database's properties (``{key: value}``), or None when the server cannot say (DescribeDatabase
        arrived in Milvus 2.4.3; 2.3 answers UNIMPLEMENTED)."""
        try:
            described = self.call("describe database %s" % db_name, self.client().describe_database, db_name)
        except MilvusOperationError as exc:
            if "UNIMPLEMENTED" in exc.message:
                return None
            raise
        # pymilvus flattens the answer (client/types.py DatabaseInfo.to_dict): "name", then the properties.
        return dict((str(k), str(v)) for k, v in described.items() if k != "name")

    def list_databases(self):
        """Databases on the server; servers without database support report only 'default'."""
        try:
            return sorted(self.call("list databases", self.client().list_databases))
        except MilvusOperationError as exc:
            if "UNIMPLEMENTED" in exc.message:
                return [DEFAULT_DB]
            raise


def status_of(response):
    """The Status of a raw response. DDL calls (CreateCollection, CreateAlias, LoadCollection, ...)
    return a bare common.Status; others carry one in ``.status``."""
    if response is not None and response.DESCRIPTOR.full_name == "milvus.proto.common.Status":
        return response
    return getattr(response, "status", None)


def uri_secret(uri):
    """The password embedded in ``https://user:secret@host:443``, or None."""
    _scheme, sep, rest = (uri or "").partition("://")
    userinfo, at, _host = rest.partition("/")[0].rpartition("@")
    if not (sep and at):
        return None
    return userinfo.partition(":")[2] or None


def redact_uri(uri):
    """``https://user:secret@host:443/db`` -> ``https://host:443/db``."""
    scheme, sep, rest = (uri or "").partition("://")
    if not sep:
        return uri
    host, slash, path = rest.partition("/")
    return "%s://%s%s%s" % (scheme, host.rpartition("@")[2], slash, path)


def check_status(what, status, uri=""):
    """Raise when a raw Milvus response carries a non-success status."""
    if status is None:
        return
    code = getattr(status, "code", 0) or 0
    error_code = getattr(status, "error_code", 0) or 0
    if code == 0 and error_code == 0:
        return
    reason = status.reason or ("error code %s" % (code or error_code))
    if code in NOT_FOUND_CODES or error_code in (4, 28):  # CollectionNotExists, ...
        raise NotFoundError("%s: %s" % (what, reason), milvus_code=code or error_code)
    raise MilvusOperationError("%s failed%s: %s" % (what, " on Milvus at %s" % uri if uri else "", reason),
                               milvus_code=code or error_code)


def kv_dict(pairs):
    """Milvus's key/value lists (``KeyValuePair``: properties, params, stats, infos) as a dict, from protos or
    from their dict form (manifests, milvus-backup's meta); pairs without a key are left out."""
    result = {}
    for pair in pairs or []:
        key, value = (pair.get("key"), pair.get("value")) if isinstance(pair, dict) else (pair.key, pair.value)
        if key:
            result[key] = "" if value is None else value
    return result


def proto_to_dict(message):
    """Proto message -> dict with proto field names, integer enums and integer int64s.

    This is milvus-backup's JSON convention (Go encoding/json over protobuf structs), which
    ``google.protobuf.json_format`` does not produce (it quotes int64 values).
    """
    result = {}
    for field, value in message.ListFields():
        result[field.name] = _proto_value(field, value)
    return result


def _is_repeated(field):
    repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.29; ``label`` is gone in 7
    if repeated is not None:
        return repeated
    return field.label == field.LABEL_REPEATED


def _proto_value(field, value):
    if _is_repeated(field):
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            return dict((k, _proto_scalar(value_field, v)) for k, v in value.items())
        return [_proto_scalar(field, v) for v in value]
    return _proto_scalar(field, value)


def _proto_scalar(field, value):
    if field.message_type is not None:
        return proto_to_dict(value)
    if field.type == field.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    return value


def data_type_name(value):
    """'Int64', 'FloatVector', ... for a schema_pb2.DataType integer."""
    try:
        return schema_pb2.DataType.Name(int(value))
    except (ValueError, TypeError):
        return str(value)


def consistency_level_name(value):
    try:
        return common_pb2.ConsistencyLevel.Name(int(value))
    except (ValueError, TypeError):
        return str(value)


def describe_collection_proto(conn, db_name, collection_name):
    """Raw DescribeCollectionResponse (exact schema, field ids, channels, shards)."""
    request = milvus_pb2.DescribeCollectionRequest(db_name=db_name, collection_name=collection_name)
    return conn.rpc("describe collection %s.%s" % (db_name, collection_name), "DescribeCollection",
                    request, db_name=db_name)


def wait_for_import(conn, db, task, what, deadline, import_timeout):
    """Await one bulk-import task (GetImportState) until it completes, fails (its reason in the message) or
    ``deadline`` (time.time()) passes; ``what`` names the import ("import of segment 7 into db.c")."""
    last = {}

    def finished():
        state = conn.rpc("import state", "GetImportState", milvus_pb2.GetImportStateRequest(task=task), db_name=db)
        last.update(state=common_pb2.ImportState.Name(state.state), info=kv_dict(state.infos))
        if state.state in (IMPORT_FAILED, IMPORT_FAILED_CLEANED):
            reason = last["info"].get("failed_reason") or "no reason"
            raise MilvusOperationError("%s failed (task %s): %s" % (what, task, reason))
        return state.state == IMPORT_DONE and dict(task=task, state="Completed", rows=state.row_count)

    return wait_until(finished, max(0.0, deadline - time.time()),
                      lambda: "%s did not finish within import_timeout=%ss (task %s, state %s, progress %s%%)"
                      % (what, int(import_timeout), task, last.get("state", "unknown"),
                         last.get("info", {}).get("progress_percent", "?")))
