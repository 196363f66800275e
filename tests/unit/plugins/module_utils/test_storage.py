import base64
import hashlib
import io
import os

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import storage
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, NotFoundError, StorageError


def local(tmp_path, root="backup"):
    return storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path), "root_path": root},
                                                       "backup_storage", "backup", allow_local=True))


def test_normalize_s3_defaults_and_scheme():
    cfg = storage.normalize_config({"bucket": "b", "endpoint": "minio:9000", "use_ssl": True, "root_path": "/file/"},
                                   "milvus_storage", "files", allow_local=False)
    assert cfg["endpoint"] == "https://minio:9000"
    assert cfg["root_path"] == "file"
    assert cfg["validate_certs"] is True
    cfg = storage.normalize_config({"bucket": "b", "endpoint": "minio:9000"}, "milvus_storage", "files", False)
    assert cfg["endpoint"] == "http://minio:9000" and cfg["root_path"] == "files"


@pytest.mark.parametrize("params,allow_local,message", [
    ({}, False, "milvus_storage.bucket is required"),
    ({"type": "local"}, True, r"needs milvus_storage.path"),
    ({"type": "local", "path": "/x"}, False, "type=local is not supported"),
    ({"bucket": "b", "access_key": "a"}, False, "access_key and milvus_storage.secret_key must be given together"),
    ({"type": "gcs", "bucket": "b"}, True, "type must be s3 or local"),
])
def test_normalize_rejects_bad_settings(params, allow_local, message):
    with pytest.raises(InputError, match=message):
        storage.normalize_config(params, "milvus_storage", "files", allow_local)


def test_backup_store_inherits_endpoint_and_credentials_from_milvus_store():
    milvus = {"endpoint": "http://minio:9000", "bucket": "milvus", "access_key": "a", "secret_key": "s",
              "validate_certs": False}
    merged = storage.inherit_connection({"type": "s3", "root_path": "backup"}, milvus)
    assert merged["endpoint"] == "http://minio:9000" and merged["bucket"] == "milvus"
    assert merged["access_key"] == "a" and merged["validate_certs"] is False
    own = storage.inherit_connection({"type": "s3", "endpoint": "https://s3.example", "bucket": "bk"}, milvus)
    assert "access_key" not in own or own["access_key"] is None
    assert storage.inherit_connection({"type": "local", "path": "/x"}, milvus) == {"type": "local", "path": "/x"}


def test_stores_from_params_requires_what_the_task_needs():
    with pytest.raises(InputError, match="milvus_storage is required"):
        storage.stores_from_params({}, need_milvus=True)
    with pytest.raises(InputError, match="backup_storage is required"):
        storage.stores_from_params({}, need_backup=True)
    assert storage.stores_from_params({}) == (None, None)


def test_local_store_round_trip(tmp_path):
    store = local(tmp_path)
    key = store.key("b1", "meta", "x.json")
    assert key == "backup/b1/meta/x.json"
    sha = store.write(key, b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    store.write(store.key("b1", "binlogs", "1"), b"12345")
    assert [o.key for o in store.list(store.key("b1") + "/")] == ["backup/b1/binlogs/1", "backup/b1/meta/x.json"]
    assert store.head(key).size == 5 and store.head(store.key("nope")) is None
    assert store.list_dirs(store.key() + "/") == ["b1"]
    assert store.sha256(key) == sha
    assert store.has_objects("backup/b1/") and not store.has_objects("backup/b2/")
    store.delete([key, store.key("b1", "binlogs", "1")])
    assert list(store.list("backup/")) == []
    assert not os.path.exists(os.path.join(str(tmp_path), "backup", "b1")), "empty directories are removed"


def test_local_store_refuses_keys_outside_its_directory(tmp_path):
    with pytest.raises(InputError, match="escapes"):
        local(tmp_path).write("../evil", b"x")


def test_local_store_missing_object_and_directory(tmp_path):
    store = local(tmp_path / "missing")
    with pytest.raises(StorageError, match="does not exist"):
        store.check_bucket()
    with pytest.raises(NotFoundError):
        local(tmp_path).read("backup/none")


def test_local_write_is_atomic(tmp_path):
    store = local(tmp_path)

    class Boom(io.RawIOBase):
        def readable(self):
            return True

        def read(self, size=-1):
            raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        store.upload_stream(store.key("half"), Boom())
    assert store.head(store.key("half")) is None
    assert not [n for n in os.listdir(str(tmp_path / "backup")) if n.startswith(".vectorops-tmp-")]


def test_a_file_written_through_a_hashing_writer_is_uploaded_with_the_hash_of_its_bytes(tmp_path):
    """The logical export hashes a Parquet file while writing it, then uploads it by name (no second read)."""
    parquet = pytest.importorskip("pyarrow.parquet")
    import pyarrow  # pylint: disable=import-outside-toplevel
    path = str(tmp_path / "part.parquet")
    with open(path, "wb") as out:
        sink = storage.HashingWriter(out)
        writer = parquet.ParquetWriter(sink, pyarrow.schema([("k", pyarrow.int64())]))  # it asks the sink to tell()
        for start in (0, 1000):
            writer.write_table(pyarrow.table({"k": list(range(start, start + 1000))}))
        writer.close()
    with open(path, "rb") as f:
        data = f.read()
    assert (sink.size, sink.hasher.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())
    store = local(tmp_path / "store")
    os.makedirs(str(tmp_path / "store"))
    store.upload_file(store.key("logical/part-00001.parquet"), path)
    assert store.read(store.key("logical/part-00001.parquet")) == data
    with pytest.raises(StorageError, match="cannot read .*gone.parquet"):
        store.upload_file(store.key("logical/part-00002.parquet"), str(tmp_path / "gone.parquet"))
    assert store.head(store.key("logical/part-00002.parquet")) is None


def test_streaming_copy_hashes_and_checks_size(tmp_path):
    src, dst = local(tmp_path / "a", root=""), local(tmp_path / "b", root="r")
    os.makedirs(str(tmp_path / "a"))
    data = os.urandom(300000)
    src.write("x/obj", data)
    result = storage.copy_object(src, "x/obj", dst, "r/copy", len(data))
    assert result == storage.CopyResult(len(data), hashlib.sha256(data).hexdigest(), "streamed", "streaming")
    assert dst.read("r/copy") == data
    with pytest.raises(StorageError, match="expected 5"):
        storage.copy_object(src, "x/obj", dst, "r/copy2", 5)


def test_probe_write_leaves_nothing_behind(tmp_path):
    store = local(tmp_path)
    os.makedirs(str(tmp_path / "backup"))
    key = store.probe_write()
    assert key.startswith("backup/.vectorops-probe-")
    assert list(store.list("backup/")) == []


def test_b64_to_hex_ignores_multipart_checksums():
    digest = hashlib.sha256(b"payload").digest()
    assert storage.b64_to_hex(base64.b64encode(digest).decode()) == digest.hex()
    assert storage.b64_to_hex("abc=-3") is None and storage.b64_to_hex(None) is None
