"""Write a backup the way milvus-backup does (fixture for "backups written by milvus-backup").

Built by hand from ../shared/reference/milvus-backup.md §3 (layout, level files, JSON encoding) and
independent of the collection's own writer: the binlogs of a real Milvus collection are copied
into ``binlogs/insert_log/C/P/S/S/F/L`` and ``binlogs/delta_log/C/P/S/S/L`` and the meta files are
written with milvus-backup's field names. No manifest.json, no COMPLETE marker.
``level_only=True`` writes only the four level files (milvus-backup before July 2023).
"""

import json
import re
import uuid

INSERT = re.compile(r"insert_log/(\d+)/(\d+)/(\d+)/(\d+)/(\d+)$")
DELTA = re.compile(r"delta_log/(\d+)/(\d+)/(\d+)/(\d+)$")


def write(milvus_store, backup_store, name, collection, segments, level_only=False, milvus_version="v2.3.5"):
    """``collection``: dict(id, db_name, name, schema_fields=[(fieldID, name, data_type, type_params, extra)],
    dynamic, partitions=[(id, name)], shards, indexes=[(field, index_type, metric)]);
    ``segments``: {segment_id: (partition_id, num_rows)}."""
    cid = collection["id"]
    base = backup_store.key(name) + "/"
    seg_infos = dict((sid, dict(segment_id=sid, collection_id=cid, partition_id=pid, num_of_rows=rows, binlogs=[],
                                deltalogs=[], size=0, group_id=sid))
                     for sid, (pid, rows) in segments.items())
    by_field = {}
    for obj in milvus_store.list(milvus_store.key("insert_log", cid) + "/"):
        m = INSERT.search(obj.key)
        pid, sid, field, log = int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5)
        if sid not in seg_infos:
            continue
        dest = "%sbinlogs/insert_log/%d/%d/%d/%d/%d/%s" % (base, cid, pid, sid, sid, field, log)
        backup_store.write(dest, milvus_store.read(obj.key))
        by_field.setdefault((sid, field), []).append(dict(log_path=obj.key, log_size=obj.size))
        seg_infos[sid]["size"] += obj.size
    for (sid, field), logs in sorted(by_field.items()):
        seg_infos[sid]["binlogs"].append(dict(fieldID=field, binlogs=logs))
    for obj in milvus_store.list(milvus_store.key("delta_log", cid) + "/"):
        m = DELTA.search(obj.key)
        pid, sid, log = int(m.group(2)), int(m.group(3)), m.group(4)
        if sid not in seg_infos:
            continue
        backup_store.write("%sbinlogs/delta_log/%d/%d/%d/%d/%s" % (base, cid, pid, sid, sid, log), milvus_store.read(obj.key))
        if not seg_infos[sid]["deltalogs"]:
            seg_infos[sid]["deltalogs"].append(dict(binlogs=[]))
        seg_infos[sid]["deltalogs"][0]["binlogs"].append(dict(log_path=obj.key, log_size=obj.size))
        seg_infos[sid]["size"] += obj.size
    for seg in seg_infos.values():
        if not seg["deltalogs"]:
            del seg["deltalogs"]
    fields = []
    for field_id, fname, dtype, params, extra in collection["schema_fields"]:
        field = dict(fieldID=field_id, name=fname, data_type=dtype)
        if params:
            field["type_params"] = [dict(key=k, value=str(v)) for k, v in params.items()]
        field.update(extra)
        fields.append(field)
    schema = dict(name=collection["name"], fields=fields)
    if collection.get("dynamic"):
        schema["enable_dynamic_field"] = True
    partitions = []
    for pid, pname in collection["partitions"]:
        segs = [s for s in seg_infos.values() if s["partition_id"] == pid]
        partitions.append(dict(partition_id=pid, partition_name=pname, collection_id=cid, segment_backups=segs,
                               size=sum(s["size"] for s in segs), load_state="Loaded"))
    coll = dict(id=str(uuid.uuid4()), state_code=2, progress=100, collection_id=cid, db_name=collection["db_name"],
                collection_name=collection["name"], schema=schema, shards_num=collection.get("shards", 1),
                consistency_level=2, partition_backups=partitions, size=sum(p["size"] for p in partitions),
                has_index=bool(collection.get("indexes")), load_state="Loaded",
                index_infos=[dict(field_name=f, index_name=f, index_type=t,
                                  params=dict(index_type=t, metric_type=m, params="{}"))
                             for f, t, m in collection.get("indexes", [])])
    top = dict(id=str(uuid.uuid4()), state_code=2, progress=100, name=name, size=coll["size"],
               milvus_version=milvus_version)
    full = dict(top, collection_backups=[coll])

    def put(rel, doc):
        backup_store.write(base + rel, json.dumps(doc).encode())

    put("meta/backup_meta.json", top)
    put("meta/collection_meta.json", dict(infos=[dict((k, v) for k, v in coll.items() if k != "partition_backups")]))
    put("meta/partition_meta.json", dict(infos=[dict((k, v) for k, v in p.items() if k != "segment_backups")
                                                for p in partitions]))
    put("meta/segment_meta.json", dict(infos=[s for p in partitions for s in p["segment_backups"]]))
    if not level_only:
        put("meta/full_meta.json", full)
    return full
