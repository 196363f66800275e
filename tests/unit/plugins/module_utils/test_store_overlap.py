"""A backup root that overlaps Milvus's storage is refused before any request (issue 25, finding 5).

With backup_storage at Milvus's own bucket and root, prune listed ``insert_log``, ``stats_log``,
``index_files`` and ``delta_log`` as incomplete backups and deleted 109 of 109 objects.
"""

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, backup_info, retention, storage, \
    store_overlap
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError

# Nothing listens on port 9 (discard): an option check that is not made first ends in a connection error.
ENDPOINT = "http://127.0.0.1:9"


def cfg(bucket="milvus-bucket", root="files", endpoint=ENDPOINT, kind="s3"):
    return dict(type=kind, endpoint=endpoint, bucket=bucket, root_path=root, path="/tmp" if kind == "local" else None)


@pytest.mark.parametrize("milvus_root,backup_root,overlaps", [
    ("files", "files", True),
    ("files", "files/backup", True),
    ("files/a", "files", True),
    ("", "backup", True),
    ("files", "", True),
    ("files", "files2", False),
    ("files2", "files", False),
    ("files", "backup", False),
    ("a/files", "a/backup", False),
    ("/files/", "files", True),
])
def test_roots_overlap_segment_by_segment(milvus_root, backup_root, overlaps):
    assert bool(store_overlap.overlap(cfg(root=milvus_root), cfg(root=backup_root))) is overlaps


def test_other_bucket_endpoint_or_a_local_directory_never_overlap():
    assert store_overlap.overlap(cfg(), cfg(bucket="milvus-backups")) is None
    assert store_overlap.overlap(cfg(), cfg(endpoint="http://127.0.0.1:10")) is None
    assert store_overlap.overlap(cfg(), cfg(kind="local")) is None
    assert store_overlap.overlap(cfg(endpoint=ENDPOINT + "/"), cfg(endpoint=ENDPOINT.upper())) is not None
    assert store_overlap.overlap(None, cfg()) is None


def test_the_message_says_what_overlaps():
    with pytest.raises(InputError) as err:
        store_overlap.check(cfg(root="files"), cfg(root=""))
    assert "backup_storage.root_path '' (the bucket's top) contains Milvus's root path 'files'" in err.value.message
    assert "in bucket 'milvus-bucket' at http://127.0.0.1:9" in err.value.message
    assert "nothing was read or written" in err.value.message


def params(**extra):
    storage_options = dict(endpoint=ENDPOINT, bucket="milvus-bucket", access_key="a", secret_key="b")
    return dict(extra, milvus_storage=dict(storage_options, root_path="files"),
                backup_storage=dict(storage_options, root_path="files"))


def test_stores_from_params_refuses_the_overlap():
    with pytest.raises(InputError, match="is Milvus's own root path 'files'"):
        storage.stores_from_params(params())
    # The backup store inherits Milvus's bucket when it names none: the default root 'backup' is beside 'files'.
    milvus_store, backup_store = storage.stores_from_params(dict(milvus_storage=params()["milvus_storage"],
                                                                 backup_storage={}), need_backup=True)
    assert backup_store.bucket == "milvus-bucket" and backup_store.root == "backup" and milvus_store.root == "files"


@pytest.mark.parametrize("engine,extra", [
    (retention.run, dict(keep_last=1)),
    (backup_info.run, {}),
    (backup.run, dict(name="insert_log", state="absent")),
], ids=["prune", "info", "absent"])
def test_prune_info_and_absent_refuse_before_any_request(engine, extra):
    with pytest.raises(InputError, match="Milvus's binlogs would be read, listed and deleted"):
        engine(Context(params(**extra)))
