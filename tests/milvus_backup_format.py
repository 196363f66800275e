"""milvus-backup's on-storage JSON, encoded from ../shared/reference/milvus-backup.md §3 (fixture).

Keys are proto field names as Go's encoding/json writes them (snake_case except ``fieldID``,
``autoID``, ``errorMessage``), enums are integers, 64-bit ids are JSON numbers, and everything is
``omitempty`` except the always-emitted fields. ``check(document, message)`` returns the list of
violations, empty when the document is what milvus-backup writes and reads.
"""

ALWAYS_EMITTED = {"size", "has_index", "log_size", "state_code", "progress", "data"}

KV = "[KeyValuePair]"
MESSAGES = {
    "BackupInfo": {
        "id": "string", "state_code": "enum", "errorMessage": "string", "start_time": "int", "end_time": "int",
        "progress": "int", "name": "string", "backup_timestamp": "int",
        "collection_backups": "[CollectionBackupInfo]", "size": "int", "milvus_version": "string",
        "rbac_meta": "object", "rpc_channel_info": "object", "database_backups": "[DatabaseBackupInfo]",
        "flush_all_msgs_base64": "map", "control_channel_name": "string", "physical_channel_names": "[string]",
        "format": "string",
    },
    "DatabaseBackupInfo": {"db_name": "string", "db_id": "int", "properties": KV, "ezk": "string"},
    "CollectionBackupInfo": {
        "id": "string", "state_code": "enum", "errorMessage": "string", "start_time": "int", "end_time": "int",
        "progress": "int", "collection_id": "int", "db_name": "string", "collection_name": "string",
        "schema": "CollectionSchema", "shards_num": "int", "consistency_level": "enum",
        "partition_backups": "[PartitionBackupInfo]", "backup_timestamp": "int", "size": "int",
        "has_index": "bool", "index_infos": "[IndexInfo]", "load_state": "string",
        "backup_physical_timestamp": "int", "channel_checkpoints": "map", "l0_segments": "[SegmentBackupInfo]",
        "properties": KV, "db_id": "int", "created_timestamp": "int", "virtual_channel_names": "[string]",
        "physical_channel_names": "[string]", "aliases": "[string]", "snapshot_backup": "object",
    },
    "PartitionBackupInfo": {
        "partition_id": "int", "partition_name": "string", "collection_id": "int",
        "segment_backups": "[SegmentBackupInfo]", "size": "int", "load_state": "string",
    },
    "SegmentBackupInfo": {
        "segment_id": "int", "collection_id": "int", "partition_id": "int", "num_of_rows": "int",
        "binlogs": "[FieldBinlog]", "statslogs": "[FieldBinlog]", "deltalogs": "[FieldBinlog]", "size": "int",
        "group_id": "int", "backuped": "bool", "is_l0": "bool", "v_channel": "string", "storage_version": "int",
    },
    "FieldBinlog": {"fieldID": "int", "binlogs": "[Binlog]"},
    "Binlog": {"entries_num": "int", "timestamp_from": "int", "timestamp_to": "int", "log_path": "string",
               "log_size": "int", "log_id": "int"},
    "IndexInfo": {
        "field_name": "string", "index_name": "string", "index_type": "string", "params": "map", "index_id": "int",
        "field_id": "int", "create_time": "int", "type_params": KV, "index_params": KV, "user_index_params": KV,
        "is_auto_index": "bool", "min_index_version": "int", "max_index_version": "int",
    },
    "CollectionSchema": {
        "name": "string", "description": "string", "autoID": "bool", "fields": "[FieldSchema]",
        "enable_dynamic_field": "bool", "properties": KV, "functions": "[object]", "struct_array_fields": "[object]",
    },
    "FieldSchema": {
        "fieldID": "int", "name": "string", "is_primary_key": "bool", "description": "string", "data_type": "enum",
        "type_params": KV, "index_params": KV, "autoID": "bool", "state": "enum", "element_type": "enum",
        "default_value": "object", "is_dynamic": "bool", "is_partition_key": "bool", "nullable": "bool",
        "default_value_proto": "string", "is_function_output": "bool", "default_value_base64": "string",
    },
    "KeyValuePair": {"key": "string", "value": "string"},
    "CollectionLevelBackupInfo": {"infos": "[CollectionBackupInfo]"},
    "PartitionLevelBackupInfo": {"infos": "[PartitionBackupInfo]"},
    "SegmentLevelBackupInfo": {"infos": "[SegmentBackupInfo]"},
}

# Which message each meta file holds.
META_FILES = {
    "meta/backup_meta.json": "BackupInfo",
    "meta/collection_meta.json": "CollectionLevelBackupInfo",
    "meta/partition_meta.json": "PartitionLevelBackupInfo",
    "meta/segment_meta.json": "SegmentLevelBackupInfo",
    "meta/full_meta.json": "BackupInfo",
}


def is_zero(value):
    return value in (None, False, 0, "", [], {}) and not (value is True)


def check(document, message, path="$"):
    problems = []
    if not isinstance(document, dict):
        return ["%s: %s expected an object, got %r" % (path, message, type(document).__name__)]
    fields = MESSAGES[message]
    for key, value in document.items():
        where = "%s.%s" % (path, key)
        if key not in fields:
            problems.append("%s: %s has no field %r" % (where, message, key))
            continue
        if is_zero(value) and key not in ALWAYS_EMITTED:
            problems.append("%s: zero value %r should be omitted (omitempty)" % (where, value))
        problems.extend(check_value(value, fields[key], where))
    for key in ALWAYS_EMITTED & set(fields):
        if key not in document:
            problems.append("%s: %s.%s must always be present" % (path, message, key))
    return problems


def check_value(value, kind, where):
    if kind.startswith("["):
        if not isinstance(value, list):
            return ["%s: expected a list" % where]
        inner = kind[1:-1]
        result = []
        for i, item in enumerate(value):
            result.extend(check_value(item, inner, "%s[%d]" % (where, i)))
        return result
    if kind in MESSAGES:
        return check(value, kind, where)
    checks = {
        "string": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "enum": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "map": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[kind](value):
        return ["%s: expected %s, got %r" % (where, kind, value)]
    return []
