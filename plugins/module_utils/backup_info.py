# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""milvus_backup_info's engine: the backups in a store, or one backup's details (ours or milvus-backup's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, layout
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import kv_dict
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import stores_from_params


def describe_backup(backup, include_objects=False):
    """Summary plus per-collection details of one backup (ours or milvus-backup's)."""
    result = backup.summary()
    collections = []
    if backup.manifest:
        for coll in backup.manifest.get("collections", []):
            collections.append(dict(
                db_name=coll["db_name"], name=coll["name"], id=coll["id"], row_count=coll.get("row_count"),
                live_row_count=coll.get("live_row_count"), load_state=coll.get("load_state"),
                aliases=coll.get("aliases", []), objects=coll.get("objects"), bytes=coll.get("bytes"),
                backup_time=coll.get("backup_time"), shards_num=coll.get("shards_num"),
                consistency_level=coll.get("consistency_level"),
                fields=[dict(name=f.get("name"), field_id=f.get("fieldID", 0), data_type=f.get("data_type"))
                        for f in coll["schema"].get("fields", [])],
                indexes=[dict(field_name=i.get("field_name"), index_name=i.get("index_name"),
                              params=kv_dict(i.get("params")))
                         for i in coll.get("indexes", [])],
                partitions=[dict(name=p["name"], id=p["id"], row_count=p.get("row_count"),
                                 segments=len(p.get("segments") or []))
                            for p in coll.get("partitions", [])]))
        for key in ("consistency", "checksums", "totals"):
            result[key] = backup.manifest.get(key)
        if include_objects:
            result["object_list"] = backup.manifest.get("objects", [])
    elif backup.meta():
        for coll in backup.meta().get("collection_backups", []):
            segments = catalog.meta_segments(coll)
            collections.append(dict(
                db_name=coll.get("db_name") or "default", name=coll.get("collection_name"),
                id=coll.get("collection_id"), row_count=sum(s.get("num_of_rows", 0) for s in segments),
                live_row_count=None, load_state=coll.get("load_state"), aliases=coll.get("aliases", []),
                objects=sum(len(b.get("binlogs", [])) for s in segments
                            for b in (s.get("binlogs", []) or []) + (s.get("deltalogs", []) or [])),
                bytes=coll.get("size"), shards_num=coll.get("shards_num"),
                backup_time=layout.iso(layout.hybrid_ts_to_datetime(coll.get("backup_timestamp"))),
                consistency_level=coll.get("consistency_level"),
                fields=[dict(name=f.get("name"), field_id=f.get("fieldID", 0), data_type=f.get("data_type"))
                        for f in (coll.get("schema") or {}).get("fields", [])],
                indexes=[dict(field_name=i.get("field_name"), index_name=i.get("index_name"), params=i.get("params", {}))
                         for i in coll.get("index_infos", []) or []],
                partitions=[dict(name=p.get("partition_name"), id=p.get("partition_id"),
                                 row_count=sum(s.get("num_of_rows", 0) for s in p.get("segment_backups", []) or []),
                                 segments=len(p.get("segment_backups", []) or []))
                            for p in coll.get("partition_backups", []) or []]))
    result["collection_details"] = collections
    return result


def run(ctx):
    """milvus_backup_info's engine: read-only, so check mode changes nothing either.

    A damaged backup is reported (status ``corrupt`` or ``unreadable`` and its ``problems``), never a failure:
    this is where a person looks to find out what is wrong. Folders that are not backups are in ``not_backups``.
    """
    params = ctx.params
    _milvus_store, store = stores_from_params(params, need_backup=True)
    store.check_bucket()
    result = dict(changed=False, location=store.url(catalog.root_prefix(store)), not_backups=[])
    if params.get("name"):
        backup = catalog.read_backup(store, params["name"])
        if backup.is_backup:
            result["backup"] = describe_backup(backup, params.get("objects"))
            result["backups"] = [backup.summary()]
        else:
            result["backup"], result["backups"] = None, []
            if backup.exists:
                result["not_backups"] = [dict(name=backup.name, location=store.url(backup.paths.prefix),
                                              reason=catalog.NOT_A_BACKUP)]
    else:
        result["backups"], result["not_backups"] = catalog.scan(store)
        result["backup"] = None
    return result
