# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The logical backup format (engine side): rows read and written through Milvus's public API.

A logical backup holds, per collection and partition, every live row as Parquet files::

    <root>/<name>/logical/<db>/<collection>/<partition>/part-00001.parquet
    <root>/<name>/logical/<db>/<collection>/EXPORTED.json   this collection's export finished (files, rows, digests)

(names, not ids: Milvus Lite gives its collections and partitions no ids; a partition-key collection
is read in one pass into ``_all_partitions``).

One column per schema field, in the column types Milvus's own Parquet import reads (``importutil``
2.3, ``importv2`` 2.4+): scalars as themselves, JSON as text, arrays as lists, FloatVector as
``list<float32>``, BinaryVector / Float16Vector / BFloat16Vector as ``list<uint8>`` (their bytes),
SparseFloatVector as JSON text, and the dynamic field as JSON text in ``$meta``. So a restore can
either hand the files to Milvus's bulk import (servers whose bucket we can write) or read them back
and ``insert`` them in batches (any server: Milvus Lite, Zilliz Cloud).

Consistent reads: every batch of one collection is read at one MVCC timestamp (the ``iterator`` query
flag with a fixed ``guarantee_timestamp``, as pymilvus's query iterator does; Milvus query nodes read
the segments as of that timestamp, so rows written or deleted later are not seen, in any partition).
The timestamp comes from Milvus's TSO (``AllocTimestamp``, Milvus 2.3 and later), or, on a server without
it, from the iterator's session timestamp (2.4+) or the client's clock minus a margin. Milvus Lite has no MVCC: there the export reads the collection twice and
accepts it only when both reads agree (content fingerprint), else it tries again and finally fails.

Pure conversion and planning functions come first (unit-tested from fixtures); the I/O is in
:class:`Exporter` and :class:`Inserter`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import hashlib
import json
import os
import tempfile
import time

from ansible_collections.vectorops.milvus.plugins.module_utils import fingerprint, layout, manifest
from ansible_collections.vectorops.milvus.plugins.module_utils.describe import CollectionReader, normalize_schema
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    ConsistencyError,
    InputError,
    MilvusOperationError,
    MissingLibraryError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.import_plan import row_check_moment
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import wait_for_import
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import HashingWriter
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import doubling_delays, retry, wait_until

try:
    from pymilvus.grpc_gen import common_pb2, milvus_pb2
except ImportError:  # pragma: no cover - MilvusConnection reports the missing library
    common_pb2 = milvus_pb2 = None
try:
    import pyarrow
    import pyarrow.compute  # noqa: F401  pylint: disable=unused-import  # pyarrow.compute.list_value_length
    from pyarrow import parquet
except ImportError as _exc:  # pragma: no cover - reported when a logical backup is used
    pyarrow = parquet = None
    PYARROW_ERROR = _exc
else:
    PYARROW_ERROR = None

LOGICAL = "logical"  # backup-relative folder of the Parquet files
LOGICAL_METHODS = ("auto", "bulk_import", "insert")  # milvus_restore logical_restore
EXPORTED = "EXPORTED.json"
META_COLUMN = "$meta"
BATCH_ROWS = 4096  # rows per query and per insert (Milvus caps a query at 16384)
FILE_BYTES = 256 * 1024 * 1024  # a Parquet file is closed once its rows reach about this size
MAX_FILE_ROWS = 1000000
EMPTY_COLLECTION_CODE = 26  # pymilvus client/types.py Status.EMPTY_COLLECTION
RATE_LIMIT_PATTERNS = ("rate limit", "ratelimit", "too many requests", "quota")

SCALAR_TYPES = {
    "Bool": "bool_", "Int8": "int8", "Int16": "int16", "Int32": "int32", "Int64": "int64",
    "Float": "float32", "Double": "float64", "VarChar": "string", "String": "string",
}
BYTE_VECTORS = ("BinaryVector", "Float16Vector", "BFloat16Vector")


def require_pyarrow():
    if pyarrow is None:
        raise MissingLibraryError("pyarrow", PYARROW_ERROR)


# ------------------------------------------------------------------ pure: schema and values
def stored_fields(schema_proto):
    """The fields a logical backup stores (normalized, in schema order), without the dynamic field."""
    return [f for f in normalize_schema(schema_proto)["fields"] if not f["is_dynamic"] and f["name"] != META_COLUMN]


def has_dynamic_field(schema_proto):
    return bool(schema_proto.get("enable_dynamic_field")) or any(f.get("is_dynamic") for f in schema_proto.get("fields", []))


def unsupported_fields(fields):
    """Names of fields whose type this format cannot store (with the type), [] when all can be."""
    known = set(SCALAR_TYPES) | set(BYTE_VECTORS) | {"JSON", "Array", "FloatVector", "SparseFloatVector", "Int8Vector"}
    return ["%s (%s)" % (f["name"], f["data_type"]) for f in fields if f["data_type"] not in known]


def arrow_type(field):
    kind = field["data_type"]
    if kind in SCALAR_TYPES:
        return getattr(pyarrow, SCALAR_TYPES[kind])()
    if kind in ("JSON", "SparseFloatVector"):
        return pyarrow.string()
    if kind == "Array":
        return pyarrow.list_(arrow_type(dict(data_type=field["element_type"])))
    if kind == "FloatVector":
        return pyarrow.list_(pyarrow.float32())
    if kind == "Int8Vector":
        return pyarrow.list_(pyarrow.int8())
    if kind in BYTE_VECTORS:
        return pyarrow.list_(pyarrow.uint8())
    raise VectoropsError("field %s has type %s, which the logical format cannot store" % (field["name"], kind),
                         reason="unsupported")


def arrow_schema(fields, dynamic):
    columns = [pyarrow.field(f["name"], arrow_type(f), nullable=True) for f in fields]
    if dynamic:
        columns.append(pyarrow.field(META_COLUMN, pyarrow.string(), nullable=True))
    return pyarrow.schema(columns)


def _vector_bytes(value):
    """pymilvus returns byte vectors as ``[b'...']`` (one bytes object in a list) or bytes."""
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (bytes, bytearray)):
        value = value[0]
    return list(bytes(value))


def to_column_value(field, value):
    """One value as a query returns it -> its Parquet cell."""
    if value is None:
        return None
    kind = field["data_type"]
    if kind == "JSON":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if kind == "SparseFloatVector":
        return json.dumps(dict((str(int(k)), float(v)) for k, v in dict(value).items()), sort_keys=True)
    if kind in BYTE_VECTORS:
        return _vector_bytes(value)
    if kind in ("FloatVector", "Int8Vector", "Array"):
        return list(value)
    return value


def from_column_value(field, value):
    """One Parquet cell -> the value ``insert`` takes."""
    if value is None:
        return None
    kind = field["data_type"]
    if kind == "JSON":
        return json.loads(value)
    if kind == "SparseFloatVector":
        return dict((int(k), float(v)) for k, v in json.loads(value).items())
    if kind == "BinaryVector":
        return bytes(value)
    if kind in ("Float16Vector", "BFloat16Vector"):
        import numpy  # pylint: disable=import-outside-toplevel  # pyarrow depends on it
        dtype = "float16" if kind == "Float16Vector" else "bfloat16"
        return numpy.frombuffer(bytes(value), dtype=dtype)
    return value


def rows_to_table(rows, fields, dynamic, schema):
    """Query rows (dicts; dynamic keys flattened, as pymilvus returns them) -> a pyarrow Table."""
    names = set(f["name"] for f in fields)
    columns = dict((f["name"], []) for f in fields)
    meta = []
    for row in rows:
        for field in fields:
            columns[field["name"]].append(to_column_value(field, row.get(field["name"])))
        if dynamic:
            extra = dict((k, v) for k, v in row.items() if k not in names and k != META_COLUMN)
            extra.update(row.get(META_COLUMN) or {})
            meta.append(json.dumps(extra, sort_keys=True, separators=(",", ":")))
    arrays = [pyarrow.array(columns[f["name"]], type=schema.field(f["name"]).type) for f in fields]
    if dynamic:
        arrays.append(pyarrow.array(meta, type=pyarrow.string()))
    return pyarrow.Table.from_arrays(arrays, schema=schema)


SCALAR_DATA = {
    "Bool": "bool_data", "Int8": "int_data", "Int16": "int_data", "Int32": "int_data", "Int64": "long_data",
    "Float": "float_data", "Double": "double_data", "VarChar": "string_data", "String": "string_data",
}
VECTOR_BYTES_PER_DIM = {"Float16Vector": 2, "BFloat16Vector": 2, "Int8Vector": 1}  # BinaryVector: dim / 8


def _scalar_values(kind, scalars):
    """A ScalarField's values as a Python list (JSON as its canonical text)."""
    if kind == "JSON":
        return [json.dumps(json.loads(b), sort_keys=True, separators=(",", ":")) if b else None
                for b in scalars.json_data.data]
    return list(getattr(scalars, SCALAR_DATA[kind]).data)


def _vector_values(kind, vectors):
    """(flat numpy values, values per row) of a VectorField; SparseFloatVector: (list of rows' texts, None)."""
    import numpy  # pylint: disable=import-outside-toplevel  # pyarrow depends on it
    if kind == "FloatVector":
        return numpy.asarray(vectors.float_vector.data, dtype=numpy.float32), vectors.dim
    if kind == "SparseFloatVector":
        texts = []
        for row in vectors.sparse_float_vector.contents:  # (uint32 index, float32 value) pairs, little endian
            pairs = numpy.frombuffer(row, dtype="<u4").reshape(-1, 2)
            values = pairs[:, 1].copy().view("<f4")
            texts.append(json.dumps(dict((str(int(k)), float(v)) for k, v in zip(pairs[:, 0], values)), sort_keys=True))
        return texts, None
    if kind == "BinaryVector":
        return numpy.frombuffer(vectors.binary_vector, dtype=numpy.uint8), vectors.dim // 8
    data = getattr(vectors, {"Float16Vector": "float16_vector", "BFloat16Vector": "bfloat16_vector",
                             "Int8Vector": "int8_vector"}[kind])
    dtype = numpy.int8 if kind == "Int8Vector" else numpy.uint8
    return numpy.frombuffer(data, dtype=dtype), vectors.dim * VECTOR_BYTES_PER_DIM[kind]


def column_array(field, column, count):
    """One column of a query response (``schema_pb2.FieldData``, as Milvus sends it) -> its Parquet column.

    The same cells as :func:`to_column_value` makes from the rows pymilvus decodes, without decoding rows: scalars
    come as lists, dense vectors as one flat buffer cut into lists by offsets. ``valid_data`` (nullable fields,
    Milvus 2.5+) marks the null rows; scalar columns keep a placeholder there, vector columns leave them out.
    A column whose values do not add up to ``count`` rows is refused (ConsistencyError), never cut or padded.
    """
    import numpy  # pylint: disable=import-outside-toplevel
    kind = field["data_type"]
    kind_type = arrow_type(field)
    if column is None:
        return pyarrow.nulls(count, type=kind_type)
    valid = list(column.valid_data)
    _check_length(field, "validity flags", len(valid), count, allow_none=True)
    if kind in SCALAR_DATA or kind == "JSON":
        values = _scalar_values(kind, column.scalars)
    elif kind == "Array":
        element = field["element_type"]
        values = [_scalar_values(element, cell) for cell in column.scalars.array_data.data]
    else:
        flat, width = _vector_values(kind, column.vectors)
        present_rows = sum(valid) if valid else count
        if width is None:  # sparse: one text per present row
            _check_length(field, "vectors", len(flat), present_rows)
            values = iter(flat)
            return pyarrow.array([next(values) if ok else None for ok in (valid or [True] * count)], type=kind_type)
        _check_length(field, "vector values", len(flat), present_rows * width)
        present = numpy.asarray(valid, dtype=bool) if valid else numpy.ones(count, dtype=bool)
        offsets = numpy.zeros(count + 1, dtype=numpy.int32)
        numpy.cumsum(present * width, out=offsets[1:])
        return pyarrow.ListArray.from_arrays(pyarrow.array(offsets), pyarrow.array(flat, type=kind_type.value_type),
                                             type=kind_type, mask=None if all(present) else pyarrow.array(~present))
    _check_length(field, "values", len(values), count)
    if valid:
        values = [v if ok else None for v, ok in zip(values, valid)]
    return pyarrow.array(values, type=kind_type)


def _check_length(field, what, actual, expected, allow_none=False):
    if actual != expected and not (allow_none and actual == 0):
        raise ConsistencyError("the query response's column %s has %d %s where %d were expected: the export stopped "
                               "and nothing was marked complete" % (field["name"], actual, what, expected))


def column_keys(columns, pk_field):
    """The primary keys of a query response's columns, in row order."""
    column = [c for c in columns if c.field_name == pk_field["name"]]
    return _scalar_values(pk_field["data_type"], column[0].scalars) if column else []


def columns_to_table(columns, fields, dynamic, schema, count):
    """A query response's columns (``fields_data``) of ``count`` rows -> a pyarrow Table."""
    by_name = dict((c.field_name, c) for c in columns)
    arrays = [column_array(f, by_name.get(f["name"]), count) for f in fields]
    if dynamic:
        meta = [c for c in columns if c.is_dynamic or c.field_name == META_COLUMN]
        arrays.append(column_array(dict(name=META_COLUMN, data_type="JSON"), meta[0] if meta else None, count))
    return pyarrow.Table.from_arrays(arrays, schema=schema)


def table_to_rows(table, fields):
    """A pyarrow Table (or record batch) of a logical backup -> rows for ``insert``."""
    data = table.to_pydict()
    count = table.num_rows
    rows = []
    for i in range(count):
        row = {}
        if META_COLUMN in data and data[META_COLUMN][i]:
            row.update(json.loads(data[META_COLUMN][i]))
        for field in fields:
            if field["name"] in data:
                value = from_column_value(field, data[field["name"]][i])
                if value is not None or field.get("nullable"):
                    row[field["name"]] = value
        rows.append(row)
    return rows


def cursor_filter(pk_field, cursor):
    """Filter for the rows after ``cursor`` (primary key order); ``cursor`` None: every row.

    An empty filter with a limit returns nothing on Milvus 2.3.5 when the iterator flag is set, so the
    first page asks for every key instead.
    """
    if pk_field["data_type"] == "Int64":
        # (Milvus reads -9223372036854775808 as minus an out-of-range literal)
        return "%s > %d" % (pk_field["name"], cursor) if cursor is not None else "%s >= 0 or %s < 0" % (
            pk_field["name"], pk_field["name"])
    if cursor is None:
        return '%s >= ""' % pk_field["name"]
    return "%s > %s" % (pk_field["name"], json.dumps(cursor))


ALL_PARTITIONS = "_all_partitions"


def collection_prefix(db, name):
    return "%s/%s/%s/" % (LOGICAL, db, name)


def file_key(db, name, partition, seq):
    return "%s%s/part-%05d.parquet" % (collection_prefix(db, name), partition or ALL_PARTITIONS, seq)


def exported_key(db, name):
    return collection_prefix(db, name) + EXPORTED


def is_export_record(key):
    """An EXPORTED.json record (resume bookkeeping; not a data object of the manifest)."""
    return key.endswith("/" + EXPORTED)


def is_rate_limited(message):
    message = (message or "").lower()
    return any(p in message for p in RATE_LIMIT_PATTERNS)


def call_rate_limited(call, max_backoff=60.0, on_retry=None):
    """``call()``, again after 0.5 s, 1 s, 2 s, ... (up to ``max_backoff``) while Milvus answers that a rate
    limit or quota is hit (managed Milvus limits reads and writes per second); any other error at once."""
    return retry(call, lambda exc: isinstance(exc, MilvusOperationError) and is_rate_limited(exc.message),
                 doubling_delays(0.5, max_backoff), on_retry)


def is_milvus_lite(version_text):
    """Milvus Lite says ``milvus_lite-3.2.2`` (the PyPI ``milvus`` standalone says ``v2.3.5-lite``: a real Milvus)."""
    return (version_text or "").lower().startswith("milvus_lite")


# ------------------------------------------------------------------ reading a collection
class Reader:
    """Pages through one collection in primary key order at one read timestamp."""

    def __init__(self, conn, db, name, pk_field, read_ts, batch_rows=BATCH_ROWS):
        self.conn = conn
        self.db = db
        self.name = name
        self.pk = pk_field
        self.read_ts = read_ts
        self.batch_rows = batch_rows

    def pages(self, output_fields, partition=None, columns=False):
        """(page, primary keys) per page. ``columns``: the page is the response's columns (``fields_data``) as
        Milvus sent them, for :func:`columns_to_table`; else the rows pymilvus decodes (dicts)."""
        cursor = None
        while True:
            expr = cursor_filter(self.pk, cursor)
            if columns:
                page = self._query_columns(expr, output_fields, partition)
                keys = column_keys(page, self.pk)
            else:
                page = list(self._query_rows(expr, output_fields, partition))
                keys = [r[self.pk["name"]] for r in page]
            if not keys:
                return
            yield page, keys
            # Only an empty page ends the read: with reduce_stop_for_best Milvus returns a short page whenever one
            # segment's matches run out, and stopping there would drop the other segments' remaining rows.
            cursor = max(keys)

    def _query_rows(self, expr, output_fields, partition):
        kwargs = dict(filter=expr, limit=self.batch_rows, output_fields=output_fields,
                      consistency_level="Strong", iterator="True", reduce_stop_for_best="True")
        if self.read_ts:
            kwargs["guarantee_timestamp"] = self.read_ts
        if partition is not None:
            kwargs["partition_names"] = [partition]
        client = self.conn.client(self.db)
        return self.conn.call("read %s.%s" % (self.db, self.name), client.query, self.name, **kwargs)

    def _query_columns(self, expr, output_fields, partition):
        """The request pymilvus's ``query`` sends for :meth:`_query_rows` (``client/prepare.py query_request``), its
        columns returned undecoded: pymilvus turns every row into a dict, which costs more than the read."""
        request = milvus_pb2.QueryRequest(
            collection_name=self.name, expr=expr, output_fields=output_fields,
            partition_names=[partition] if partition is not None else [], guarantee_timestamp=self.read_ts or 0,
            use_default_consistency=True, consistency_level=common_pb2.ConsistencyLevel.Strong)
        for key, value in (("limit", str(self.batch_rows)), ("iterator", "True"), ("ignore_growing", "False"),
                           ("reduce_stop_for_best", "True")):
            request.query_params.append(common_pb2.KeyValuePair(key=key, value=value))
        # pymilvus's query retries rate limits (decorators.py retry_on_rpc_failure); the raw call does the same.
        try:
            return call_rate_limited(lambda: self.conn.rpc("read %s.%s" % (self.db, self.name), "Query", request,
                                                           self.db)).fields_data
        except MilvusOperationError as exc:
            if exc.details.get("milvus_code") == EMPTY_COLLECTION_CODE:  # pymilvus: an empty result
                return []
            raise


def read_timestamp(conn, db, name):
    """(MVCC timestamp that every read of one collection is pinned to, or None; where it came from).

    Milvus pins an iterator's reads to the session timestamp it returns with the first page
    (``iterator_session_ts``; pymilvus ``client/iterator/query_iterator.py __setup_ts_by_request``) and
    reads every later page, in every partition, as of that timestamp when it comes back as the
    ``guarantee_timestamp`` of an ``iterator`` query. Servers that return none (Milvus 2.3, Milvus Lite:
    checked on this stack, a query with an old guarantee timestamp still sees newer rows) read the
    current data on every page; the export then has no read timestamp and is accepted only when a
    second read finds the same primary keys with the same contents (see :class:`Exporter`).
    """
    client = conn.client(db)
    res = conn.call("read timestamp of %s.%s" % (db, name), client.query, name, filter="", limit=1,
                    output_fields=[], iterator="True", reduce_stop_for_best="True", consistency_level="Strong")
    server_ts = int((getattr(res, "extra", None) or {}).get("iterator_session_ts", 0) or 0)
    if server_ts > 0:
        return server_ts, "server (iterator_session_ts): every page is read as of it"
    return None, ("none: this server does not pin reads to a timestamp (Milvus 2.3, Milvus Lite); every row was "
                  "read again after the export and matched (keys and contents)")


# ------------------------------------------------------------------ export
class Exporter:
    """Writes one collection's rows as Parquet files into the backup store."""

    def __init__(self, conn, store, paths, batch_rows=BATCH_ROWS, file_bytes=FILE_BYTES,
                 attempts=3, check=None, tmpdir=None):
        require_pyarrow()
        self.conn = conn
        self.store = store
        self.paths = paths
        self.batch_rows = batch_rows
        self.file_bytes = file_bytes
        self.attempts = attempts
        self.check = check or (lambda doing: None)
        self.tmpdir = tmpdir

    def finished(self, db, name):
        """The EXPORTED record of an earlier run, when its files are all still there, intact."""
        key = self.paths.key(exported_key(db, name))
        record = json.loads(self.store.read(key).decode("utf-8"))
        stored = dict((self.paths.relative(o.key), o.size) for o in self.store.list(self.paths.key(collection_prefix(db, name))))
        if all(stored.get(f["key"]) == f["size"] and self.store.sha256(self.paths.key(f["key"])) == f["sha256"]
               for f in record["files"]):
            return record
        return None

    def export(self, desc, watch=(), content=True):
        """Export ``desc``'s collection; returns its record (files, rows, fingerprints, read timestamp, and
        ``found``: the keys of ``watch`` it holds). ``content``: also digest every row (the content fingerprint,
        verification data that costs a JSON encoding per row)."""
        where = (desc["db_name"], desc["name"])
        done = self.finished(*where) if self.store.exists(self.paths.key(exported_key(*where))) else None
        if done is not None:
            done["reused"] = True
            return done
        for attempt in range(1, self.attempts + 1):
            self._clear(where)
            record = self._export_once(desc, set(watch), content)
            record["attempts"] = attempt
            if record["snapshot"]:
                break
            # Not pinned to a timestamp: the pages were read at different moments, and a write meanwhile can be in
            # some pages and not in others (an upsert of two rows, one read before it and one after). The export
            # stands only if a second read finds the same keys with the same contents, page for page.
            keys, contents = self._read_again(desc, content)
            if keys == record["pk_fingerprint"]["collection"] and contents == record["stability_digest"]:
                break
            if attempt == self.attempts:
                self._clear(where)
                raise ConsistencyError(
                    "%s.%s changed while it was exported (%s), %d time(s): this server cannot read a collection as of "
                    "one timestamp (Milvus 2.3, Milvus Lite; Milvus 2.5+ can), so a logical backup needs a pause in "
                    "writes, upserts included; use format=binlog for a hot backup. Nothing was marked complete"
                    % (desc["db_name"], desc["name"], "primary keys %s, then %s" % (
                        record["pk_fingerprint"]["collection"], keys) if keys != record["pk_fingerprint"]["collection"]
                        else "the same primary keys, but rows with other contents: updated or upserted", attempt))
        record["reused"] = False
        self.store.write(self.paths.key(exported_key(*where)), json.dumps(record, sort_keys=True).encode("utf-8"))
        return record

    def _clear(self, where):
        leftovers = [o.key for o in self.store.list(self.paths.key(collection_prefix(*where)))]
        if leftovers:
            self.store.delete(leftovers)

    def _partitions(self, desc):
        """(partition id, name or None for all) to read one by one: partition-key collections in one pass."""
        if desc["schema"].get("partition_key_field"):
            return [(-1, None)]
        return [(p["id"], p["name"]) for p in desc["partitions"]]

    def _pk(self, fields, desc):
        return [f for f in fields if f["name"] == desc["schema"]["primary_field"]][0]

    def _read_again(self, desc, content_digest):
        """(primary keys {count, digest}, stability digest) of the collection now, read as the export read it."""
        fields = stored_fields(desc["schema_proto"])
        dynamic = has_dynamic_field(desc["schema_proto"])
        schema = arrow_schema(fields, dynamic)
        reader = Reader(self.conn, desc["db_name"], desc["name"], self._pk(fields, desc), None, self.batch_rows)
        keys, stability = fingerprint.Digest(), PageDigest(content_digest)
        for _pid, part in self._partitions(desc):
            for page, page_keys in reader.pages(["*"], part, columns=not content_digest):
                self.check("checking the export of %s.%s" % (desc["db_name"], desc["name"]))
                for key in page_keys:
                    keys.add(fingerprint.key_text(key))
                stability.add(page, None if content_digest else self._table(desc, page, fields, dynamic, schema,
                                                                            len(page_keys)))
        return keys.as_dict(), stability.value()

    @staticmethod
    def _table(desc, page, fields, dynamic, schema, rows):
        try:
            return columns_to_table(page, fields, dynamic, schema, rows)
        except ConsistencyError as exc:
            raise ConsistencyError("%s.%s: %s" % (desc["db_name"], desc["name"], exc.message))

    def _export_once(self, desc, watch, content_digest=True):
        db, name = desc["db_name"], desc["name"]
        fields = stored_fields(desc["schema_proto"])
        problems = unsupported_fields(fields)
        if problems:
            raise VectoropsError("%s.%s has field(s) the logical format cannot store: %s" % (db, name, ", ".join(problems)),
                                 reason="unsupported")
        dynamic = has_dynamic_field(desc["schema_proto"])
        schema = arrow_schema(fields, dynamic)
        pk = self._pk(fields, desc)
        read_ts, ts_source = read_timestamp(self.conn, db, name)
        reader = Reader(self.conn, db, name, pk, read_ts, self.batch_rows)
        files, partitions, found = [], {}, []
        total, stability = fingerprint.Digest(), PageDigest(content_digest)
        for pid, part in self._partitions(desc):
            part_digest = fingerprint.Digest()
            writer = _FileWriter(self, schema, (db, name, part), pid)
            # Without the content digest the rows are never decoded: the response's columns become the table.
            for page, keys in reader.pages(["*"], part, columns=not content_digest):
                self.check("exporting %s.%s" % (db, name))
                for key in keys:
                    part_digest.add(fingerprint.key_text(key))
                    if key in watch:
                        found.append(key)
                if content_digest:
                    table = rows_to_table(page, fields, dynamic, schema)
                else:
                    table = self._table(desc, page, fields, dynamic, schema, len(keys))
                stability.add(page, table)
                writer.write(table, len(keys))
            files.extend(writer.close())
            total = total.merge(part_digest)
            if part is not None:
                partitions[part] = part_digest.as_dict()
        return dict(db_name=db, name=name, collection_id=desc["id"], files=files, rows=total.count,
                    pk_fingerprint=dict(collection=total.as_dict(), partitions=partitions),
                    content_fingerprint=stability.content.as_dict() if content_digest else None, read_timestamp=read_ts,
                    read_timestamp_source=ts_source, snapshot=read_ts is not None, columns=[f.name for f in schema],
                    found=found, stability_digest=stability.value())


class PageDigest:
    """What an unpinned export compares with a second read: every row's contents, however the rows came in pages.

    Milvus ends a page early whenever one segment's matches run out (reduce_stop_for_best), so two reads of the
    same rows are paged differently once segments were sealed or compacted in between. Decoded rows (the export's
    content digest) are digested by their canonical JSON, an order-free sum that is also the content fingerprint;
    a page read as columns feeds each column, in key order, into running hashes of its validity, its list lengths
    and its values (fixed-width values as their bytes, others each followed by a separator), which no page
    boundary changes.
    """

    def __init__(self, rows):
        self.rows = rows
        self.content = fingerprint.Digest()
        self.columns = {}  # (column, part) -> sha256 of that part of the column so far

    def add(self, page, table):
        if self.rows:
            for row in page:
                self.content.add(fingerprint.canonical_row(row))
            return
        for name in table.column_names:
            for part, data in column_parts(table.column(name).combine_chunks()):
                self.columns.setdefault((name, part), hashlib.sha256()).update(data)

    def value(self):
        if self.rows:
            return self.content.as_dict()
        total = hashlib.sha256()
        for key in sorted(self.columns):
            total.update(("%s/%s=%s;" % (key[0], key[1], self.columns[key].hexdigest())).encode("utf-8"))
        return total.hexdigest()


def column_parts(array):
    """(part, bytes) of one Arrow column for :class:`PageDigest`: the same bytes, part by part, however its rows
    are split into pages."""
    parts = [("valid", array.is_valid().to_numpy(zero_copy_only=False).tobytes())]
    if pyarrow.types.is_list(array.type):
        parts.append(("lengths", pyarrow.compute.list_value_length(array).fill_null(0)
                      .to_numpy(zero_copy_only=False).tobytes()))
        array = array.flatten()
    kind = array.type
    if pyarrow.types.is_integer(kind) or pyarrow.types.is_floating(kind) or pyarrow.types.is_boolean(kind):
        zero = pyarrow.scalar(False if pyarrow.types.is_boolean(kind) else 0, type=kind)
        parts.append(("values", array.fill_null(zero).to_numpy(zero_copy_only=False).tobytes()))
    elif pyarrow.types.is_string(kind) or pyarrow.types.is_binary(kind):
        parts.append(("values", b"".join((v.encode("utf-8") if isinstance(v, str) else v or b"") + b"\x00"
                                         for v in array.to_pylist())))
    else:
        parts.append(("values", b"".join(json.dumps(v, sort_keys=True, default=str).encode("utf-8") + b"\x00"
                                         for v in array.to_pylist())))
    return parts


class _FileWriter:
    """Parquet files of one partition: written to a local temporary file and hashed on the way, then uploaded
    by file name (multipart, each part read from disk as it is sent); memory is one batch and Parquet's row
    group buffer, whatever the file's size."""

    def __init__(self, exporter, schema, where, pid):
        self.exporter = exporter
        self.schema = schema
        self.where = where  # (db, collection, partition name or None)
        self.pid = pid
        self.seq = 0
        self.files = []
        self._open = None  # [path, file, hashing sink, Parquet writer, rows, bytes]

    def write(self, table, rows):
        if self._open is None:
            handle, path = tempfile.mkstemp(prefix="vectorops-logical-", suffix=".parquet", dir=self.exporter.tmpdir)
            stream = os.fdopen(handle, "wb")
            sink = HashingWriter(stream)
            self._open = [path, stream, sink, parquet.ParquetWriter(sink, self.schema), 0, 0]
        self._open[3].write_table(table)
        self._open[4] += rows
        self._open[5] += table.nbytes
        if self._open[5] >= self.exporter.file_bytes or self._open[4] >= MAX_FILE_ROWS:
            self._finish()

    def _finish(self):
        path, stream, sink, writer, rows, _nbytes = self._open
        self._open = None
        self.seq += 1
        rel = file_key(self.where[0], self.where[1], self.where[2], self.seq)
        try:
            writer.close()
            stream.close()
            self.exporter.store.upload_file(self.exporter.paths.key(rel), path)
        finally:
            os.unlink(path)
        self.files.append(dict(key=rel, partition=self.where[2], partition_id=self.pid, rows=rows, size=sink.size,
                               sha256=sink.hasher.hexdigest()))

    def close(self):
        if self._open is not None:
            self._finish()
        return self.files


# ------------------------------------------------------------------ restore by insert
class Inserter:
    """Inserts a logical backup's files into one collection in batches, resumably.

    ``checkpoint`` is ``{file key: rows inserted}`` of files already complete (kept by the caller in the
    collection's restore marker after each file); on ``resume``, the rows of the first unfinished file
    whose primary keys are already present are skipped, so a run killed mid-batch duplicates nothing.
    """

    def __init__(self, conn, store, paths, db, name, schema_proto, batch_rows=BATCH_ROWS, save=None,
                 check=None, max_backoff=60.0):
        require_pyarrow()
        self.conn = conn
        self.store = store
        self.paths = paths
        self.db = db
        self.name = name
        self.fields = stored_fields(schema_proto)
        self.pk = [f for f in self.fields if f["is_primary"]][0]
        self.batch_rows = batch_rows
        self.save = save or (lambda checkpoint: None)
        self.check = check or (lambda doing: None)
        self.max_backoff = max_backoff
        self.retries = 0

    def run(self, files, checkpoint, resume):
        """Insert every file not in ``checkpoint``; returns (rows inserted by this run, rows skipped)."""
        inserted = skipped = 0
        checkpoint = dict(checkpoint or {})
        for item in files:
            if item["key"] in checkpoint:
                continue
            partition = item.get("partition")
            done, dup = self._file(item, partition, resume)
            inserted += done
            skipped += dup
            resume = resume and dup > 0  # once a batch had none of its keys, later ones cannot have any
            checkpoint[item["key"]] = item["rows"]
            self.save(checkpoint)
        return inserted, skipped

    def _spool(self, item):
        """The file in a local temporary file (Parquet readers seek; S3 bodies do not), checked on the way."""
        handle, path = tempfile.mkstemp(prefix="vectorops-restore-", suffix=".parquet")
        os.close(handle)
        try:
            sha = self.store.download(self.paths.key(item["key"]), path)
        except Exception:
            os.unlink(path)
            raise
        if item.get("sha256") and sha != item["sha256"]:
            os.unlink(path)
            raise ConsistencyError("backup object %s does not match its manifest SHA-256 (%s, manifest %s): the backup "
                                   "is damaged" % (item["key"], sha[:16], item["sha256"][:16]))
        return path

    def _file(self, item, partition, resume):
        path = self._spool(item)
        inserted = skipped = 0
        try:
            source = parquet.ParquetFile(path)
            for batch in source.iter_batches(batch_size=self.batch_rows):
                rows = table_to_rows(batch, self.fields)
                if resume:
                    present = self._present([r[self.pk["name"]] for r in rows], partition)
                    fresh = [r for r in rows if r[self.pk["name"]] not in present]
                    skipped += len(rows) - len(fresh)
                    resume = len(fresh) < len(rows)
                    rows = fresh
                if rows:
                    self.check("inserting into %s.%s" % (self.db, self.name))
                    self._insert(rows, partition)
                    inserted += len(rows)
        finally:
            os.unlink(path)
        return inserted, skipped

    def _present(self, keys, partition):
        client = self.conn.client(self.db)
        kwargs = dict(filter="%s in %s" % (self.pk["name"], json.dumps(keys)), output_fields=[self.pk["name"]],
                      consistency_level="Strong", limit=len(keys))
        if partition:
            kwargs["partition_names"] = [partition]
        rows = self.conn.call("find restored keys in %s.%s" % (self.db, self.name), client.query, self.name, **kwargs)
        return set(r[self.pk["name"]] for r in rows)

    def _insert(self, rows, partition):
        client = self.conn.client(self.db)
        kwargs = dict(partition_name=partition) if partition else {}

        def counted():
            self.retries += 1
        call_rate_limited(lambda: self.conn.call("insert into %s.%s" % (self.db, self.name), client.insert, self.name,
                                                 rows, **kwargs), self.max_backoff, counted)


class LogicalBackup:
    """The logical format of one BackupJob (the interface binlog_format.BinlogBackup also has): rows read
    through the public API into Parquet; the export record gives each plan its rows and verification data."""

    name = "logical"
    prefix = LOGICAL  # where its objects live in the backup folder
    meta_format = manifest.LOGICAL_META_FORMAT  # milvus-backup's meta "format": vectorops.milvus restores it
    needs_segments = False

    def __init__(self, job):
        self.job = job
        self.conn, self.store, self.paths, self.opts = job.conn, job.store, job.paths, job.opts
        self.timer, self.progress, self.copied, self.plans = job.timer, job.progress, job.copied, job.plans

    def preflight(self, selected):
        """Nothing beyond the backup store: rows come through the public API."""

    def start(self, selected):
        """No GC to pause and nothing to flush: a query reads what is written."""

    def planned(self, plan):
        """The read timestamp is the export's, known only once it ran."""

    def predict(self, plan):
        return dict(segments=0, rows=plan.desc["row_count"], objects=0, bytes=0)

    def renew(self):
        """Nothing held on the server."""

    def renew_every(self):
        return 600

    def stop(self):
        """Nothing held on the server."""

    def copy(self):
        """Export every planned collection as Parquet; verification data come from the export."""
        exporter = Exporter(self.conn, self.store, self.paths, attempts=int(self.opts.get("consistency_attempts", 5)),
                            check=self.progress.check)
        fingerprinted = self.opts.get("fingerprint", True)
        for plan in self.plans:
            if fingerprinted:
                with self.timer.phase("golden_queries"):
                    plan.golden = self.job.golden_candidates(plan.desc, plan.skipped)
            watch = set(pk for query in plan.golden for pk, _distance in query["candidates"])
            with self.timer.phase("export"):
                record = exporter.export(plan.desc, watch, content=fingerprinted)
            plan.export = record
            plan.live_rows = record["rows"]
            plan.attempts = record.get("attempts", 0)
            plan.flush_ts = record["read_timestamp"]  # the backup's point in time (None on Milvus Lite)
            plan.log_source = None
            for item in record["files"]:
                self.copied[item["key"]] = dict(size=item["size"], sha256=item["sha256"],
                                                sha256_source="read-back" if record["reused"] else "streamed",
                                                method="reused" if record["reused"] else "exported",
                                                source="query %s" % plan.label)
            skipped = list(plan.skipped)
            golden = []
            if not fingerprinted:
                # The primary keys were digested while exporting (and, unpinned, re-read): recorded for free.
                skipped.append("fingerprint=false: primary-key fingerprint only, no content fingerprint or golden "
                               "queries")
            elif record["reused"]:
                skipped.append("export finished by an earlier, interrupted run: no golden queries")
            else:
                with self.timer.phase("golden_queries"):
                    self.job.confirm_golden(plan)
                golden = fingerprint.golden_queries_at_cut(plan.golden, set(record["found"]))
            plan.verification = dict(
                measured_at=layout.iso(layout.utcnow()), measured_from="export",
                read_timestamp=record["read_timestamp"], pk_fingerprint=record["pk_fingerprint"],
                content_fingerprint=record["content_fingerprint"], golden_queries=golden, skipped=skipped)

    def consistency(self, consistency):
        """The manifest's consistency section: how each collection's rows were read as of one moment."""
        if self.opts["strategy"] == "meta_only":
            return
        pinned = all(p.export["snapshot"] for p in self.plans)
        consistency["strategy"] = "snapshot_read" if pinned else "stable_read"
        consistency["note"] = (
            "logical format: each collection's rows were read as of one timestamp (its read_timestamp), in every "
            "partition, so rows written or deleted during the export are wholly out" if pinned else
            "logical format from a server that does not pin reads to a timestamp (Milvus 2.3, Milvus Lite): each "
            "collection was read again after its export and matched it row for row, keys and contents (it did not "
            "change)")

    def entry(self, plan, partitions):
        """The logical parts of a collection's manifest entry; fills each partition's row count."""
        for part in partitions:
            part["segments"] = []
            part["row_count"] = 0
        if plan.export is None:  # metadata-only
            return dict(logical=None, segments=[], row_count=0, backup_timestamp=0, binlog_source=None,
                        orphan_binlogs_skipped=0, objects=0, bytes=0)
        files = plan.export["files"]
        for part in partitions:
            part["row_count"] = sum(f["rows"] for f in files if f["partition"] == part["name"])
        keys = ("read_timestamp", "read_timestamp_source", "snapshot", "attempts", "columns", "content_fingerprint")
        export = dict((k, plan.export[k]) for k in keys)
        export["files"] = [dict((k, f[k]) for k in ("key", "partition", "rows", "size")) for f in files]
        return dict(logical=export, segments=[], row_count=plan.export["rows"],
                    backup_timestamp=plan.export.get("read_timestamp") or 0, binlog_source=None,
                    orphan_binlogs_skipped=0, objects=len(files), bytes=sum(f["size"] for f in files))


def logical_method(requested, milvus_store, server_is_lite):
    """How a logical backup goes in: Milvus's bulk import of the Parquet files (needs Milvus's bucket) or
    batched inserts (any server)."""
    requested = requested or "auto"
    if requested == "bulk_import" and (milvus_store is None or server_is_lite):
        raise InputError("logical_restore=bulk_import needs Milvus's bucket (milvus_storage) and a server with bulk "
                         "import (not Milvus Lite); use logical_restore=insert or auto")
    if requested == "auto":
        return "bulk_import" if milvus_store is not None and not server_is_lite else "insert"
    return requested


def partition_key_field(src):
    """Name of the partition-key field of a backed-up schema, or None (its rows then name their partition)."""
    return next((f.get("name") for f in src["schema"].get("fields", []) if f.get("is_partition_key")), None)


class LogicalRestore:
    """The logical format of one RestoreJob (the interface binlog_format.BinlogRestore also has): the
    Parquet files go in by Milvus's own bulk import, or by batched inserts into any server."""

    name = "logical"
    index_fallback = True  # another kind of server may know fewer index types (Milvus Lite)
    requires_milvus_storage = False  # insert works without it

    def __init__(self, job):
        self.job = job
        self.conn, self.opts, self.backup = job.conn, job.opts, job.backup
        self.method = None  # metadata only: no rows go in
        if not self.opts.get("meta_only"):
            self.method = logical_method(self.opts.get("logical_restore"), job.milvus_store, job.lite)

    @property
    def reads_milvus_bucket(self):
        """Bulk import reads the files from Milvus's bucket; inserts read them from the backup."""
        return self.method == "bulk_import"

    def preflight(self):
        """Rows through the public API go into any Milvus, older ones included."""

    def check(self, src):
        """Every collection a logical backup holds can be restored."""

    def schema(self, raw, fields):
        """The rows carry their primary keys: a restored auto_id collection keeps them, so its primary key field
        is created without autoID (new inserts then name their keys)."""
        for field in fields:
            if field.get("is_primary_key"):
                field["autoID"] = False
        raw["autoID"] = False

    def check_created(self, db, name, want, have):
        """Rows are matched to fields by name: any field ids do."""

    def marker_fields(self):
        """What a new target's restore marker records: an insert restore's checkpoint (files done)."""
        return dict(method="insert", inserted={}) if self.method == "insert" else {}

    def resumable(self, unfinished, src):
        """Why the unfinished target a dead run left can be resumed rather than restored again, or None."""
        if unfinished.get("method") != "insert":
            return None
        return ("left unfinished by an insert restore that ended (%d of %d files in): inserting goes on from there"
                % (len(unfinished.get("inserted") or {}), len(src.get("files") or [])))

    def expected(self, src):
        if src.get("live_row_count") is not None:
            return src["live_row_count"], True
        return src.get("row_count"), False

    def load(self, plan, db, name, prefix, fields, phases):
        """Put the rows in; what the job needs next (import jobs or insert counts, indexes built, when to count)."""
        outcome = dict(import_jobs=[], inserted=None, indexes=None, moment=row_check_moment([]))
        if not plan["files"]:
            return outcome
        if self.method == "bulk_import":
            with phases.phase("import"):
                outcome["import_jobs"] = self._import_files(plan["source"], plan["files"], db, name, prefix)
            return outcome
        # Inserted rows are checked for by query when a run resumes, which needs the collection indexed and
        # loaded first; a resumed run builds the indexes the dead one did not get to.
        with phases.phase("index"):
            outcome["indexes"] = self.job._indexes(plan["source"], db, name, resume=plan["action"] == "resume")  # pylint: disable=protected-access
        with phases.phase("load"):
            self.job._load(dict(plan["source"], load_state="Loaded"), db, name, True, force=True)  # pylint: disable=protected-access
        with phases.phase("insert"):
            outcome["inserted"] = self._insert_files(plan, db, name, fields)
        outcome["moment"] = "after_load"
        return outcome

    def _import_files(self, src, files, db, name, prefix):
        """Milvus's own Parquet import of a logical backup's files, one job per file, into its partition."""
        timeout = float(self.opts.get("import_timeout", 3600))
        deadline = time.time() + timeout
        partition_key = bool(partition_key_field(src))

        def run(item):
            path = prefix + item["key"]
            request = milvus_pb2.ImportRequest(db_name=db, collection_name=name, files=[path],
                                               partition_name="" if partition_key else (item.get("partition") or ""))
            what = "import of %s into %s.%s" % (item["key"], db, name)
            resp = self.conn.rpc(what, "Import", request, db_name=db)
            tasks = [wait_for_import(self.conn, db, task, what, deadline, timeout) for task in resp.tasks]
            return dict(file=item["key"], stage="logical", partition_name=item.get("partition"), rows=item["rows"],
                        files=[path], options={}, tasks=tasks)

        jobs, errors = [], []
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(self.opts.get("concurrency", 4))) as pool:
            for future in concurrent.futures.as_completed([pool.submit(run, item) for item in files]):
                try:
                    jobs.append(future.result())
                except VectoropsError as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]
        return sorted(jobs, key=lambda j: j["file"])

    def _insert_files(self, plan, db, name, fields):
        """Batched inserts of a logical backup's rows; the checkpoint (files done) lives in the restore marker,
        so a run that dies resumes with the next file and skips the keys of its last batch that went in."""
        src = plan["source"]
        checkpoint = dict((fields or {}).get("inserted") or {})

        def save(done):
            fields["inserted"] = dict(done)
            self.job.save_marker(db, name, fields)

        files = [dict(f, partition=None) if partition_key_field(src) else f for f in plan["files"]]
        inserter = Inserter(self.conn, self.job.backup_store, self.backup.paths, db, name, src["schema"], save=save)
        rows, skipped = inserter.run(files, checkpoint, resume=plan["action"] == "resume")
        self.conn.call("flush %s.%s" % (db, name), self.conn.client(db).flush, name)
        # Inserted rows reach the collection's own index only once their segments are sealed, indexed and handed
        # over; until then Milvus searches them with a temporary index, and a verification right after the
        # restore would measure that one.
        reader = CollectionReader(self.conn, db, name)
        timeout = self.opts.get("index_timeout", 3600)
        wait_until(lambda: reader.unindexed_rows()[0] == 0, timeout,
                   lambda: "the index of %s.%s did not cover its inserted rows within index_timeout=%ss (%s)"
                   % (db, name, timeout, reader.unindexed_rows()[1]), interval=0.5, max_interval=5.0)
        return dict(rows=rows, skipped_present=skipped, files=len(files), files_resumed_after=len(checkpoint),
                    rate_limit_retries=inserter.retries)
