# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Metadata files of a backup (engine side).

milvus-backup's meta files are Go ``encoding/json`` over protobuf structs: proto field names,
integer enums, and ``omitempty`` on everything except ``size``, ``has_index``, ``log_size``,
``state_code``, ``progress`` and ``data``. :func:`go_json` reproduces that, so milvus-backup can
read (and restore) our backups. ``manifest.json`` is ours: every object with size and SHA-256, and
what verification and restore need.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json

from ansible_collections.vectorops.milvus.plugins.module_utils import layout
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import kv_dict

# Fields milvus-backup's generated code emits even when zero (sed-patched in its gen_proto.sh).
ALWAYS_EMITTED = frozenset(["size", "has_index", "log_size", "state_code", "progress", "data"])


def go_json(value):
    """Drop zero values like Go's ``omitempty``, except the always-emitted fields."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            item = go_json(item)
            if key in ALWAYS_EMITTED or not is_zero(item):
                result[key] = item
        return result
    if isinstance(value, list):
        return [go_json(v) for v in value]
    return value


def is_zero(value):
    return value is None or value is False or value == 0 and not isinstance(value, bool) \
        or value in ("", [], {})


def encode(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode("utf-8")


def encode_pretty(obj):
    return json.dumps(obj, indent=1, sort_keys=True).encode("utf-8")


def kv_list(mapping):
    return [dict(key=k, value=v) for k, v in sorted((mapping or {}).items())]


# milvus-backup's CollectionSchema / FieldSchema fields; newer Milvus proto fields it does not know
# stay in manifest.json only.
SCHEMA_KEYS = ("name", "description", "autoID", "fields", "enable_dynamic_field", "properties", "functions",
               "struct_array_fields")
FIELD_KEYS = ("fieldID", "name", "is_primary_key", "description", "data_type", "type_params", "index_params",
              "autoID", "state", "element_type", "default_value", "is_dynamic", "is_partition_key", "nullable",
              "is_function_output", "default_value_base64")


def schema_for_meta(schema_proto):
    """The Milvus schema proto dict in milvus-backup's terms (``default_value_base64`` included)."""
    schema = dict((k, v) for k, v in schema_proto.items() if k in SCHEMA_KEYS)
    fields = []
    for field in schema_proto.get("fields", []):
        field = dict((k, v) for k, v in field.items() if k in FIELD_KEYS)
        if field.get("default_value"):
            field["default_value_base64"] = encode_value_field(field["default_value"])
        fields.append(field)
    schema["fields"] = fields
    return schema


def encode_value_field(value):
    """base64 of a serialized schemapb.ValueField, as milvus-backup stores default values."""
    from pymilvus.grpc_gen import schema_pb2  # pylint: disable=import-outside-toplevel
    message = schema_pb2.ValueField()
    for key, item in value.items():
        if key == "bytes_data":
            item = base64.b64decode(item)
        setattr(message, key, item)
    return base64.b64encode(message.SerializeToString()).decode("ascii")


def index_info(index_proto):
    params = kv_dict(index_proto.get("params"))
    return dict(field_name=index_proto.get("field_name"), index_name=index_proto.get("index_name"),
                index_type=params.get("index_type", ""), params=params, index_id=index_proto.get("indexID", 0))


def segment_backup_info(collection_id, segment):
    """SegmentBackupInfo of one planned segment (see segment_plan.SegmentFiles)."""
    binlogs = [dict(fieldID=field_id, binlogs=[dict(log_path=o.key, log_size=o.size, log_id=int(o.key.rsplit("/", 1)[1]))
                                               for o in objs])
               for field_id, objs in sorted(segment.insert.items())]
    deltalogs = []
    if segment.delta:
        deltalogs = [dict(fieldID=0, binlogs=[dict(log_path=o.key, log_size=o.size, log_id=int(o.key.rsplit("/", 1)[1]))
                                              for o in segment.delta])]
    return dict(segment_id=segment.id, collection_id=collection_id, partition_id=segment.partition_id,
                num_of_rows=segment.num_rows, binlogs=binlogs, deltalogs=deltalogs, size=segment.size,
                group_id=segment.id, is_l0=segment.level == "L0", v_channel=segment.channel,
                storage_version=segment.storage_version)


def collection_backup_info(plan):
    """CollectionBackupInfo of one planned collection (see backup.CollectionPlan)."""
    desc = plan.desc
    proto = desc["describe_proto"]
    partitions = []
    for part in desc["partitions"]:
        segments = [segment_backup_info(desc["id"], s) for s in plan.segments_of(part["id"])]
        partitions.append(dict(partition_id=part["id"], partition_name=part["name"], collection_id=desc["id"],
                               segment_backups=segments, size=sum(s["size"] for s in segments),
                               load_state=part.get("load_state", "")))
    # Collection-wide L0 segments (partition -1, Milvus 2.4+ deletes without a partition) belong to no
    # partition: milvus-backup keeps them in l0_segments, group 0 (core/backup/meta_builder.go), and a
    # milvus-backup restore of this backup without them would bring deleted rows back.
    l0_segments = [dict(segment_backup_info(desc["id"], s), group_id=0) for s in plan.segments_of(layout.COLLECTION_WIDE)]
    return dict(
        id=plan.task_id, state_code=0, progress=0, collection_id=desc["id"], db_name=desc["db_name"],
        collection_name=desc["name"], schema=schema_for_meta(desc["schema_proto"]),
        shards_num=desc["shards_num"], consistency_level=proto.get("consistency_level", 0),
        partition_backups=partitions, backup_timestamp=plan.flush_ts or 0,
        l0_segments=l0_segments,
        size=sum(p["size"] for p in partitions) + sum(s["size"] for s in l0_segments), has_index=bool(desc["index_protos"]),
        index_infos=[index_info(i) for i in desc["index_protos"]], load_state=desc["load_state"],
        backup_physical_timestamp=plan.seal_time or 0, properties=proto.get("properties", []),
        db_id=proto.get("db_id", 0), created_timestamp=proto.get("created_timestamp", 0),
        virtual_channel_names=proto.get("virtual_channel_names", []),
        physical_channel_names=proto.get("physical_channel_names", []), aliases=desc["aliases"])


def database_backups(databases, properties):
    """milvus-backup's ``DatabaseBackupInfo`` list (``core/proto/backup.proto``: db_name, db_id, properties)."""
    entries = []
    for db in databases:
        entry = dict(db_name=db)
        if properties.get(db):
            entry["properties"] = [dict(key=k, value=v) for k, v in sorted(properties[db].items())]
        entries.append(entry)
    return entries


# milvus-backup's BackupInfo.format of a logical backup: milvus-backup refuses formats it does not know
# (core/restore/task.go NewTask) instead of restoring collections without their rows.
LOGICAL_META_FORMAT = "vectorops-logical"


def backup_info(backup_id, name, milvus_version, plans, databases, properties=None, data_format=""):
    collections = [collection_backup_info(p) for p in plans]
    backup_ts = max([p.flush_ts or 0 for p in plans] or [0])
    return dict(id=backup_id, state_code=0, progress=0, name=name, backup_timestamp=backup_ts, format=data_format,
                collection_backups=collections, size=sum(c["size"] for c in collections),
                milvus_version=milvus_version, database_backups=database_backups(databases, properties or {}))


def meta_files(full):
    """{relative key: bytes} of the five milvus-backup meta files (meta_write.go's inverse of levelToTree)."""
    top = dict((k, v) for k, v in full.items() if k != "collection_backups")
    colls, parts, segs = [], [], []
    for coll in full["collection_backups"]:
        colls.append(dict((k, v) for k, v in coll.items() if k != "partition_backups"))
        for part in coll["partition_backups"]:
            parts.append(dict((k, v) for k, v in part.items() if k != "segment_backups"))
            segs.extend(part["segment_backups"])
    return {
        layout.COLLECTION_META: encode(go_json(dict(infos=colls))),
        layout.PARTITION_META: encode(go_json(dict(infos=parts))),
        layout.SEGMENT_META: encode(go_json(dict(infos=segs))),
        layout.FULL_META: encode(go_json(full)),
        layout.BACKUP_META: encode(go_json(top)),
    }


def totals_of(entries, rows=None):
    """The ``totals`` of the manifest and of milvus_backup's and milvus_restore's results: counts over collection
    entries, whose partitions and segments are lists or already counts. ``rows(entry)`` gives an entry's rows
    (default: its ``row_count``, or ``rows`` in a check-mode plan)."""
    def count(value):
        return len(value) if isinstance(value, list) else (value or 0)

    rows = rows or (lambda entry: entry.get("row_count", entry.get("rows", 0)))
    return dict(collections=len(entries),
                partitions=sum(count(e.get("partitions")) for e in entries),
                segments=sum(count(e.get("segments")) for e in entries),
                rows=sum(rows(e) or 0 for e in entries),
                objects=sum(e.get("objects") or 0 for e in entries),
                bytes=sum(e.get("bytes") or 0 for e in entries))


def complete_marker(name, backup_id, manifest_bytes, totals, completed_at):
    return encode_pretty(dict(format=layout.FORMAT, name=name, backup_id=backup_id, completed_at=completed_at,
                              manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
                              objects=totals["objects"], bytes=totals["bytes"]))
