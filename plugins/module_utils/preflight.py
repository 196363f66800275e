# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Storage preflight shared by every module (engine side).

The checks match real failure modes: the wrong bucket or root path for Milvus ("no binlog to
import" in milvus-backup's tracker), and a backup destination that cannot be listed or written.
Only the write check (opt-in) sends a write request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def milvus_storage_preflight(store, collections=()):
    """Check that ``store`` is where Milvus keeps the binlogs of ``collections``.

    Raises StorageError when the bucket is missing, unreachable or refuses the credentials.
    A root path that does not hold the binlogs of flushed collections is reported in
    ``problems`` (``ok: false``): the bucket works, but it is not Milvus's.
    """
    store.check_bucket()
    insert_root = store.key("insert_log") + "/"
    result = dict(location=store.url(store.key()), root_path=store.root, reachable=True,
                  insert_log_present=store.has_objects(insert_root), collections=[], problems=[])
    for coll in collections:
        segments = coll.get("segments")
        flushed = None if segments is None else len([s for s in segments if s["state"] == "Flushed"])
        found = store.has_objects(store.key("insert_log", coll["id"]) + "/")
        result["collections"].append(dict(db_name=coll["db_name"], name=coll["name"], id=coll["id"],
                                          flushed_segments=flushed, insert_log_found=found))
        if flushed and not found:
            result["problems"].append(
                "collection %s.%s has %d flushed segment(s) but %s holds no binlogs for it: milvus_storage.bucket "
                "and milvus_storage.root_path must equal Milvus's minio.bucketName and minio.rootPath"
                % (coll["db_name"], coll["name"], flushed, store.url(store.key("insert_log", coll["id"]) + "/")))
    result["ok"] = not result["problems"]
    return result


def backup_storage_preflight(store, write_check=False):
    """Check that ``store`` exists and may be listed; with ``write_check``, also that it accepts writes.

    Without ``write_check`` only read requests are sent (HEAD bucket, one-key LIST). The write check
    writes, reads back and removes a small probe object; ``writable`` is null when it did not run.
    """
    store.check_bucket()
    store.has_objects(store.key() + "/" if store.key() else "")  # raises StorageError when listing is refused
    result = dict(location=store.url(store.key()), root_path=store.root, reachable=True, listable=True,
                  writable=None, ok=True)
    if write_check:
        result.update(writable=True, probe_key=store.probe_write())
    return result
