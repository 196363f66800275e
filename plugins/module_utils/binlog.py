# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Reading Milvus binlog files (storage format v1: insert logs and delta logs), engine side.

A binlog is ``magic (int32 0xfffabc)``, a descriptor event, then data events. Every event starts
with the same 17-byte header ``timestamp uint64, type int8, event length int32, next position
int32`` (little-endian). The descriptor's data is a fixed part (collection, partition, segment
and field ids, start/end timestamps, payload data type), the post-header length of every event
type, and JSON extras. An insert (type 1) or delete (type 2) event's data is its post-header
(start and end timestamp) followed by a Parquet file with one column: the values.
Milvus's own reader is ``internal/storage/binlog_reader.go`` / ``event_reader.go`` /
``event_data.go`` (``DescriptorEventDataFixPart``, ``insertEventData``).

Storage v2 (Milvus 2.6): a segment's insert logs are plain Parquet files per column group (group 0:
RowID, Timestamp, the primary key and short scalars; ``insert_log/C/P/S/<group>/<log>``), each column
tagged with its field id (``PARQUET:field_id``), and delta logs may be Parquet with ``pk``/``ts``
columns; :func:`read_columns` and :func:`delete_records` read both, told apart by the magic bytes.

Delta log values are JSON strings ``{"pk": ..., "ts": ..., "pkType": ...}`` or, from old
versions, ``"pk,ts"`` (``storage.DeleteLog``; Milvus 2.3 ``importutil/binlog_adapter.go
decodeDeleteLog`` accepts both).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import struct

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError, MissingLibraryError

try:
    from pyarrow import parquet
    PYARROW_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported when a binlog is read
    parquet = None
    PYARROW_ERROR = _exc

MAGIC = 0xFFFABC
HEADER = struct.Struct("<QbiI")  # timestamp, type code, event length, next position
DESCRIPTOR_FIX = struct.Struct("<qqqqQQi")  # collection, partition, segment, field, start ts, end ts, data type
DESCRIPTOR_EVENT, INSERT_EVENT, DELETE_EVENT = 0, 1, 2


def read_binlog(data, name="binlog"):
    """(descriptor dict, list of every data value in file order) of one binlog file."""
    if parquet is None:
        raise MissingLibraryError("pyarrow", PYARROW_ERROR)
    data = bytes(data)
    try:
        return _parse(data, name)
    except (struct.error, ValueError, IndexError, OSError) as exc:
        # pyarrow raises ArrowInvalid (a ValueError) or OSError for a damaged Parquet payload.
        raise ConsistencyError("%s is not a readable Milvus binlog: %s" % (name, exc))


def _parse(data, name):
    if len(data) < 4 + HEADER.size or struct.unpack_from("<i", data, 0)[0] != MAGIC:
        raise ValueError("no binlog magic number at the start")
    _ts, code, length, next_pos = HEADER.unpack_from(data, 4)
    if code != DESCRIPTOR_EVENT:
        raise ValueError("the first event is of type %d, not a descriptor" % code)
    fix_at = 4 + HEADER.size
    collection, partition, segment, field, start_ts, end_ts, data_type = DESCRIPTOR_FIX.unpack_from(data, fix_at)
    post_header = data[fix_at + DESCRIPTOR_FIX.size:fix_at + DESCRIPTOR_FIX.size + 8]
    if not post_header or post_header[0] != DESCRIPTOR_FIX.size:
        raise ValueError("unknown descriptor layout (post-header lengths %s)" % list(post_header))
    descriptor = dict(collection_id=collection, partition_id=partition, segment_id=segment, field_id=field,
                      start_timestamp=start_ts, end_timestamp=end_ts, data_type=data_type)
    values = []
    pos = next_pos if next_pos else 4 + length
    while pos < len(data):
        _ts, code, length, next_pos = HEADER.unpack_from(data, pos)
        if length <= HEADER.size or pos + length > len(data):
            raise ValueError("event at byte %d has an impossible length %d" % (pos, length))
        if code not in (INSERT_EVENT, DELETE_EVENT):
            raise ValueError("event at byte %d has type %d, not insert or delete" % (pos, code))
        skip = post_header[code] if code < len(post_header) else 16
        payload = data[pos + HEADER.size + skip:pos + length]
        table = parquet.read_table(io.BytesIO(payload))
        if table.num_columns != 1:
            raise ValueError("event at byte %d has %d columns, expected 1" % (pos, table.num_columns))
        values.extend(table.column(0).to_pylist())
        pos = next_pos if next_pos > pos else pos + length
    return descriptor, values


PARQUET_MAGIC = b"PAR1"


def is_parquet(data):
    return bytes(data[:4]) == PARQUET_MAGIC


def _parquet_table(data, name):
    if parquet is None:
        raise MissingLibraryError("pyarrow", PYARROW_ERROR)
    try:
        return parquet.read_table(io.BytesIO(bytes(data)))
    except (ValueError, OSError) as exc:
        raise ConsistencyError("%s is not a readable Parquet file: %s" % (name, exc))


def column_field_ids(table):
    """{field id: column index} from the columns' ``PARQUET:field_id`` metadata (storage v2)."""
    ids = {}
    for index, field in enumerate(table.schema):
        raw = (field.metadata or {}).get(b"PARQUET:field_id")
        if raw is not None:
            ids[int(raw)] = index
    return ids


def read_columns(data, field_ids, name="insert log"):
    """{field id: values} of one storage v2 (packed Parquet) insert log, for the fields asked for."""
    if not is_parquet(data):
        raise ConsistencyError("%s is recorded as storage v2 but is not a Parquet file" % name)
    table = _parquet_table(data, name)
    found = column_field_ids(table)
    missing = sorted(set(field_ids) - set(found))
    if missing:
        raise ConsistencyError("%s holds no column for field ids %s (it has %s)" % (name, missing, sorted(found)))
    return dict((fid, table.column(found[fid]).to_pylist()) for fid in field_ids)


def delete_records(data, name="delta log"):
    """[(primary key, delete timestamp)] of one delta log file (binlog v1, or Parquet pk/ts)."""
    if is_parquet(data):
        table = _parquet_table(data, name)
        names = table.column_names
        by_id = column_field_ids(table)
        pk_at = names.index("pk") if "pk" in names else by_id.get(0)
        ts_at = names.index("ts") if "ts" in names else by_id.get(1)
        if pk_at is None or ts_at is None:
            raise ConsistencyError("%s is a Parquet delta log without pk and ts columns (it has %s)" % (name, names))
        return [(pk, int(ts)) for pk, ts in zip(table.column(pk_at).to_pylist(), table.column(ts_at).to_pylist())]
    return delete_records_from_values(read_binlog(data, name)[1], name)


def delete_records_from_values(values, name):
    records = []
    for value in values:
        text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        try:
            item = json.loads(text)
        except ValueError:
            item = None
        if isinstance(item, dict) and "pk" in item and "ts" in item:
            records.append((item["pk"], int(item["ts"])))
            continue
        # Old versions: "pk,ts" (int64 primary keys only).
        pk, sep, ts = text.partition(",")
        if not sep:
            raise ConsistencyError("%s holds a delete record Milvus would not read: %r" % (name, text[:80]))
        try:
            records.append((int(pk), int(ts)))
        except ValueError:
            raise ConsistencyError("%s holds a delete record Milvus would not read: %r" % (name, text[:80]))
    return records
