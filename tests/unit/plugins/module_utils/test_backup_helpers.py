"""Pieces of the backup engine that need no server."""

import time

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, binlog_format, storage
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, MilvusOperationError


def test_rate_limiter_slows_copies_down():
    limiter = backup.RateLimiter(2000)
    start = time.time()
    for _chunk in range(4):
        limiter.acquire(1000)
    assert time.time() - start >= 0.9  # 4000 bytes at 2000 B/s with a 2000-byte burst
    unlimited = backup.RateLimiter(0)
    start = time.time()
    unlimited.acquire(10 ** 12)
    assert time.time() - start < 1


@pytest.mark.parametrize("option,value", [("concurrency", 0), ("consistency_attempts", 0),
                                          ("max_bytes_per_second", -1), ("flush_timeout", 0)])
def test_numeric_options_are_checked(option, value):
    with pytest.raises(InputError, match="%s must be at least" % option):
        backup.run(Context({"name": "x", option: value, "backup_storage": {"type": "local", "path": "/tmp"}}))


def test_check_not_running_refuses_a_live_writer():
    import socket  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils import layout, progress  # pylint: disable=import-outside-toplevel
    fresh = dict(host="elsewhere", pid=1, heartbeat_at=layout.iso(layout.utcnow()))
    with pytest.raises(Exception, match="being written by host elsewhere, pid 1"):
        progress.check_not_running("b", fresh)
    dead_here = dict(host=socket.gethostname(), pid=2 ** 22 + 7, heartbeat_at=layout.iso(layout.utcnow()))
    progress.check_not_running("b", dead_here)
    assert progress.writer_state(dead_here) == (False, "its writer (pid %d on this host) has exited" % (2 ** 22 + 7))
    progress.check_not_running("b", None)


def test_copy_counts_describe_the_objects_in_the_backup():
    copied = {"a": dict(method="server-side"), "b": dict(method="server-side-multipart"),
              "c": dict(method="streaming"), "d": dict(method="reused"), "e": dict(method="reused"),
              "f": dict(method="exported")}
    assert backup.copy_counts(copied) == dict(server_side=2, streaming=1, reused=2, exported=1)
    assert backup.copy_counts({}) == dict(server_side=0, streaming=0, reused=0, exported=0)


# What Milvus 2.3.5 answered to Flush right after a restart on an existing data dir (seen on the
# local stack): data coord still routed to the previous run's data node.
STALE_NODE_ERROR = ("flush default.catalog failed on Milvus at http://127.0.0.1:20988: attempt #0: rpc error: code = "
                    "Unknown desc = node not match[expectedNodeID=4][actualNodeID=5]: attempt #1: session not "
                    "found->datanode-4: node not found[node=4]: unrecoverable error")


@pytest.mark.parametrize("message,retry", [
    (STALE_NODE_ERROR, True),
    ("flush: request is rejected by grpc RateLimiter middleware, please retry later, rate limit exceeded", True),
    ("flush default.gone failed: collection not found[collection=gone]", False),
    ("flush default.catalog failed: permission denied", False),
])
def test_which_flush_failures_are_retried(message, retry):
    assert binlog_format.flush_is_retryable(message) is retry


class FlakyFlushConnection:
    """Stands in for Milvus's Flush RPC only: the stale-node window needs Milvus killed and restarted
    on its data dir, which the shared test stack cannot do mid-suite (the stack's own start-up waits
    the window out). Fails ``failures`` times with the real message, then succeeds."""

    def __init__(self, failures, message=STALE_NODE_ERROR):
        self.failures, self.message, self.flush_calls = failures, message, 0

    def rpc(self, what, method, request, db_name=None):  # pylint: disable=unused-argument
        from pymilvus.grpc_gen import milvus_pb2  # pylint: disable=import-outside-toplevel
        if method == "Flush":
            self.flush_calls += 1
            if self.flush_calls <= self.failures:
                raise MilvusOperationError(self.message)
            resp = milvus_pb2.FlushResponse(db_name=db_name)
            resp.coll_flush_ts["catalog"] = 446521234567890
            resp.coll_segIDs["catalog"].data.extend([13])
            resp.flush_coll_segIDs["catalog"].data.extend([11, 12])
            return resp
        assert method == "GetFlushState"
        return milvus_pb2.GetFlushStateResponse(flushed=True)


def flush_job(conn, tmp_path):
    cfg = storage.normalize_config({"type": "local", "path": str(tmp_path)}, "backup_storage", "backup", allow_local=True)
    store = storage.open_store(cfg)
    return binlog_format.BinlogBackup(backup.BackupJob(conn, None, store, {"name": "b", "strategy": "flush"}))


def test_flush_waits_out_a_restarted_data_node(tmp_path, monkeypatch):
    pauses = []
    monkeypatch.setattr(binlog_format.time, "sleep", pauses.append)
    conn = FlakyFlushConnection(failures=3)
    flush_ts, _seal, at_cut = flush_job(conn, tmp_path)._flush("default", "catalog")
    assert flush_ts == 446521234567890 and conn.flush_calls == 4 and pauses[:3] == [1.0, 2.0, 4.0]
    assert at_cut == {11, 12, 13}, "the segments it sealed and those flushed before it"


def test_flush_gives_up_with_milvus_message(tmp_path, monkeypatch):
    monkeypatch.setattr(binlog_format.time, "sleep", lambda seconds: None)
    conn = FlakyFlushConnection(failures=100)
    with pytest.raises(MilvusOperationError, match="node not match"):
        flush_job(conn, tmp_path)._flush("default", "catalog")
    assert conn.flush_calls == 8
    other = FlakyFlushConnection(failures=1, message="flush default.catalog failed: permission denied")
    with pytest.raises(MilvusOperationError, match="permission denied"):
        flush_job(other, tmp_path)._flush("default", "catalog")
    assert other.flush_calls == 1
