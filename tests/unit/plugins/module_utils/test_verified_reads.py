"""Reads that end early or break off are never taken for the whole object (issue 25 #3 and #8).

The bodies here stand in for botocore's StreamingBody only: what a close-delimited response that ends
early, or a connection reset mid-body, hands to the reader. The same faults on the real store, through
a loopback proxy, are in tests/faults/test_broken_reads.py.
"""

import hashlib
import io

import pytest
from botocore.exceptions import ResponseStreamingError

from ansible_collections.vectorops.milvus.plugins.module_utils import storage
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import StorageError


class Resetting(io.BytesIO):
    """Hands out ``good`` bytes, then fails as botocore does when the connection is reset mid-body."""

    def __init__(self, data, good):
        super().__init__(data[:good])
        self.good = good

    def read(self, size=-1):
        data = super().read(size)
        if not data or size is None or size < 0:
            raise ResponseStreamingError(error="Connection broken: IncompleteRead(%d bytes read)" % self.good)
        return data


def test_a_body_that_ends_before_the_object_does_is_refused():
    body = storage.VerifiedBody(io.BytesIO(b"x" * 50), 100, "s3://b/k")
    with pytest.raises(StorageError) as err:
        body.read()
    assert err.value.details["reason"] == "truncated" and "ended after 50 bytes, but the object holds 100" in str(err.value)
    chunked = storage.VerifiedBody(io.BytesIO(b"x" * 50), 100, "s3://b/k")
    assert chunked.read(30) == b"x" * 30 and chunked.read(30) == b"x" * 20
    with pytest.raises(StorageError, match="truncated|ended after 50"):
        chunked.read(30)
    with pytest.raises(StorageError):
        storage.VerifiedBody(io.BytesIO(b"x" * 150), 100, "s3://b/k").read()
    assert storage.VerifiedBody(io.BytesIO(b"x" * 100), 100, "s3://b/k").read() == b"x" * 100


def test_a_broken_stream_is_a_storage_error_not_a_traceback():
    body = storage.VerifiedBody(Resetting(b"y" * 100, 40), 100, "s3://b/k")
    assert body.read(40) == b"y" * 40
    with pytest.raises(StorageError) as err:
        body.read(40)
    assert err.value.details["reason"] == "interrupted" and "broke off after 40 of 100 bytes" in str(err.value)
    assert storage.is_broken_read(err.value)


class FlakyStore(storage.ObjectStore):
    """An object store whose first ``failures`` opens end early (the retry logic of ObjectStore is real)."""

    def __init__(self, data, failures):
        super().__init__({"root_path": ""})
        self.data, self.failures, self.opens = data, failures, 0

    def url(self, key=""):
        return "flaky://%s" % key

    def open(self, key, size=None):
        self.opens += 1
        good = len(self.data) // 2 if self.opens <= self.failures else len(self.data)
        return storage.VerifiedBody(io.BytesIO(self.data[:good]), len(self.data), self.url(key))


def test_whole_object_reads_are_read_again_until_whole(monkeypatch, tmp_path):
    monkeypatch.setattr(storage, "READ_RETRY_DELAYS", [0, 0, 0, 0])
    data = bytes(range(256)) * 100
    store = FlakyStore(data, failures=2)
    assert store.sha256("k") == hashlib.sha256(data).hexdigest() and store.opens == 3
    store = FlakyStore(data, failures=1)
    assert store.read("k") == data and store.opens == 2
    store = FlakyStore(data, failures=3)
    assert store.download("k", str(tmp_path / "f")) == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "f").read_bytes() == data
    hopeless = FlakyStore(data, failures=100)
    with pytest.raises(StorageError, match="ended after"):
        hopeless.sha256("k")
    assert hopeless.opens == 5, "four pauses, then the error"


def test_a_streamed_copy_broken_mid_way_is_copied_again_whole(monkeypatch, tmp_path):
    monkeypatch.setattr(storage, "READ_RETRY_DELAYS", [0, 0, 0, 0])
    data = b"binlog" * 1000
    src = FlakyStore(data, failures=1)
    dst = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))
    result = storage.copy_object(src, "k", dst, "backup/copy", len(data))
    assert result.sha256 == hashlib.sha256(data).hexdigest() and dst.read("backup/copy") == data and src.opens == 2
