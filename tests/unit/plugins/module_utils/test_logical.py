"""The logical format's pure parts: column types, value round trips, cursor filters, the paging rule and
the pinned read timestamp, the format choice and the restore method.

The pinned read (``iterator_session_ts``) exists from Milvus 2.5 on (pymilvus 3.0.2
``client/iterator/query_iterator.py`` ``__setup_ts_by_request`` reads it and sends it back as the
``guarantee_timestamp`` of every page), which cannot run here: :class:`PagingClient` is a test double
of ``MilvusClient.query`` that answers like such a server, and records what the reader sent.
"""

import json
import struct

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import backup, logical
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError, InputError, MilvusOperationError

SCHEMA = {
    "enable_dynamic_field": True,
    "fields": [
        {"fieldID": 100, "name": "doc", "data_type": 21, "is_primary_key": True,
         "type_params": [{"key": "max_length", "value": "32"}]},
        {"fieldID": 101, "name": "emb", "data_type": 101, "type_params": [{"key": "dim", "value": "2"}]},
        {"fieldID": 102, "name": "bits", "data_type": 100, "type_params": [{"key": "dim", "value": "16"}]},
        {"fieldID": 103, "name": "meta", "data_type": 23},
        {"fieldID": 104, "name": "tags", "data_type": 22, "element_type": 5},
        {"fieldID": 105, "name": "sparse", "data_type": 104},
        {"fieldID": 106, "name": "score", "data_type": 11, "nullable": True},
        {"fieldID": 107, "name": "$meta", "data_type": 23, "is_dynamic": True},
    ],
}


def test_rows_survive_parquet_columns_in_milvus_import_types():
    fields = logical.stored_fields(SCHEMA)
    assert [f["name"] for f in fields] == ["doc", "emb", "bits", "meta", "tags", "sparse", "score"]
    schema = logical.arrow_schema(fields, logical.has_dynamic_field(SCHEMA))
    assert [str(f.type) for f in schema] == [
        "string", "list<item: float>", "list<item: uint8>", "string", "list<item: int64>", "string", "double", "string"]
    rows = [{"doc": "a", "emb": [0.5, -1.0], "bits": [b"\x01\xff"], "meta": {"k": [1, 2]}, "tags": [3, 4],
             "sparse": {7: 0.25}, "score": None, "colour": "red"},
            {"doc": "b", "emb": [0.0, 2.0], "bits": b"\x00\x10", "meta": None, "tags": [], "sparse": {},
             "score": 1.5}]
    table = logical.rows_to_table(rows, fields, True, schema)
    assert json.loads(table.column("$meta").to_pylist()[0]) == {"colour": "red"}
    back = logical.table_to_rows(table, fields)
    assert back[0] == {"doc": "a", "emb": [0.5, -1.0], "bits": b"\x01\xff", "meta": {"k": [1, 2]}, "tags": [3, 4],
                       "sparse": {7: 0.25}, "score": None, "colour": "red"}
    assert back[1]["bits"] == b"\x00\x10" and "meta" not in back[1] and back[1]["score"] == 1.5


def response_columns():
    """The columns Milvus answers a query of the two rows above with (``schema_pb2.FieldData``, as in
    milvus-io/milvus ``internal/proxy/task_query.go``; nullable columns as pymilvus ``client/types.py``
    ``HybridExtraList._get_physical_index`` reads them: scalars keep a placeholder, vectors leave null rows out)."""
    from pymilvus.grpc_gen import schema_pb2  # pylint: disable=import-outside-toplevel

    def scalar(name, kind, valid=(), **data):
        return schema_pb2.FieldData(field_name=name, type=kind, valid_data=list(valid), scalars=schema_pb2.ScalarField(**data))

    sparse = [struct.pack("<If", 7, 0.25), b""]
    return [
        scalar("doc", 21, string_data=schema_pb2.StringArray(data=["a", "b"])),
        schema_pb2.FieldData(field_name="emb", type=101, vectors=schema_pb2.VectorField(
            dim=2, float_vector=schema_pb2.FloatArray(data=[0.5, -1.0, 0.0, 2.0]))),
        schema_pb2.FieldData(field_name="bits", type=100, vectors=schema_pb2.VectorField(dim=16, binary_vector=b"\x01\xff\x00\x10")),
        scalar("meta", 23, valid=[True, False], json_data=schema_pb2.JSONArray(data=[b'{"k": [1, 2]}', b""])),
        scalar("tags", 22, array_data=schema_pb2.ArrayArray(element_type=5, data=[
            schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=[3, 4])), schema_pb2.ScalarField()])),
        schema_pb2.FieldData(field_name="sparse", type=104, vectors=schema_pb2.VectorField(
            sparse_float_vector=schema_pb2.SparseFloatArray(contents=sparse, dim=8))),
        scalar("score", 11, valid=[False, True], double_data=schema_pb2.DoubleArray(data=[0.0, 1.5])),
        scalar("$meta", 23, json_data=schema_pb2.JSONArray(data=[b'{"colour": "red"}', b"{}"])),
    ]


def test_a_response_read_as_columns_gives_the_table_its_decoded_rows_give():
    """The export without a content digest never decodes rows (pymilvus makes a dict per row, which costs more
    than the read); its table must hold exactly the cells the row path writes."""
    fields = logical.stored_fields(SCHEMA)
    schema = logical.arrow_schema(fields, True)
    rows = [{"doc": "a", "emb": [0.5, -1.0], "bits": [b"\x01\xff"], "meta": {"k": [1, 2]}, "tags": [3, 4],
             "sparse": {7: 0.25}, "score": None, "colour": "red"},
            {"doc": "b", "emb": [0.0, 2.0], "bits": [b"\x00\x10"], "meta": None, "tags": [], "sparse": {},
             "score": 1.5}]
    columns = response_columns()
    pk = [f for f in fields if f["name"] == "doc"][0]
    assert logical.column_keys(columns, pk) == ["a", "b"]
    table = logical.columns_to_table(columns, fields, True, schema, 2)
    assert table.equals(logical.rows_to_table(rows, fields, True, schema))
    assert table.column("score").to_pylist() == [None, 1.5] and table.column("meta").to_pylist()[1] is None


def _cut_doc(column):
    del column.scalars.string_data.data[-1]


def _cut_emb(column):
    del column.vectors.float_vector.data[-1]


def _cut_sparse(column):
    del column.vectors.sparse_float_vector.contents[-1]


def _extra_flag(column):
    column.valid_data.append(True)


@pytest.mark.parametrize("name,cut,message", [
    ("doc", _cut_doc, "column doc has 1 values where 2 were expected"),
    ("emb", _cut_emb, "column emb has 3 vector values where 4 were expected"),
    ("sparse", _cut_sparse, "column sparse has 1 vectors where 2 were expected"),
    ("score", _extra_flag, "column score has 3 validity flags where 2 were expected"),
], ids=["scalar", "dense_vector", "sparse_vector", "validity"])
def test_a_response_column_that_does_not_add_up_to_its_rows_is_refused_by_name(name, cut, message):
    """Cells shifted by one row would be restored against the wrong primary keys: the export stops instead."""
    fields = logical.stored_fields(SCHEMA)
    columns = response_columns()
    cut([c for c in columns if c.field_name == name][0])
    with pytest.raises(ConsistencyError, match=message + ": the export stopped and nothing was marked complete"):
        logical.columns_to_table(columns, fields, True, logical.arrow_schema(fields, True), 2)


def test_a_nullable_vector_column_leaves_its_null_rows_out_and_they_come_back_null():
    """Milvus 2.6 nullable vectors: the data holds present rows only (pymilvus ``_get_physical_index``)."""
    from pymilvus.grpc_gen import schema_pb2  # pylint: disable=import-outside-toplevel
    field = {"name": "emb", "data_type": "FloatVector"}
    column = schema_pb2.FieldData(field_name="emb", type=101, valid_data=[True, False, True], vectors=schema_pb2.VectorField(
        dim=2, float_vector=schema_pb2.FloatArray(data=[1.0, 2.0, 3.0, 4.0])))
    assert logical.column_array(field, column, 3).to_pylist() == [[1.0, 2.0], None, [3.0, 4.0]]
    assert logical.column_array(field, None, 2).to_pylist() == [None, None]


def test_a_field_type_the_format_does_not_know_is_named():
    fields = [{"name": "s", "data_type": "ArrayOfStruct"}]
    assert logical.unsupported_fields(fields) == ["s (ArrayOfStruct)"]


def test_cursor_filters_cover_every_key():
    int_pk, str_pk = {"name": "id", "data_type": "Int64"}, {"name": "k", "data_type": "VarChar"}
    # Milvus parses -9223372036854775808 as minus an out-of-range literal: the first page asks for both signs.
    assert logical.cursor_filter(int_pk, None) == "id >= 0 or id < 0"
    assert logical.cursor_filter(int_pk, -5) == "id > -5"
    assert logical.cursor_filter(str_pk, None) == 'k >= ""'
    assert logical.cursor_filter(str_pk, 'a"b') == 'k > "a\\"b"'


class PagingClient:
    """MilvusClient.query double: rows 0..n-1 in pages of at most ``short`` rows (Milvus returns a short page
    when one segment's matches run out), an iterator session timestamp on the first call."""

    def __init__(self, n, short, session_ts=0):
        self.n, self.short, self.session_ts = n, short, session_ts
        self.calls = []

    def query(self, name, **kwargs):
        self.calls.append(kwargs)
        result = _Extra()
        result.extra = {"iterator_session_ts": self.session_ts} if self.session_ts else {}
        if kwargs.get("output_fields") == []:
            return result
        flt = kwargs["filter"]
        start = int(flt.split(">")[1].strip()) + 1 if flt.startswith("id > ") else 0
        result.extend({"id": i} for i in range(start, min(self.n, start + min(self.short, kwargs["limit"]))))
        return result


class _Extra(list):
    extra = None


class Conn:
    def __init__(self, client):
        self._client = client

    def client(self, db=None):  # pylint: disable=unused-argument
        return self._client

    def call(self, what, func, *args, **kwargs):  # pylint: disable=unused-argument
        return func(*args, **kwargs)


def test_short_pages_do_not_end_the_read_and_every_page_is_pinned_to_the_session_timestamp():
    client = PagingClient(n=25, short=7, session_ts=4242)
    conn = Conn(client)
    ts, source = logical.read_timestamp(conn, "default", "c")
    assert ts == 4242 and "iterator_session_ts" in source
    reader = logical.Reader(conn, "default", "c", {"name": "id", "data_type": "Int64"}, ts, batch_rows=10)
    keys = [k for _page, page_keys in reader.pages(["*"], "p1") for k in page_keys]
    assert keys == list(range(25))  # a reader that stops at the first short page would stop at 7
    pages = client.calls[1:]
    assert all(c["guarantee_timestamp"] == 4242 and c["iterator"] == "True" and c["partition_names"] == ["p1"]
               for c in pages)


def test_a_server_without_session_timestamp_gives_no_read_timestamp():
    conn = Conn(PagingClient(n=3, short=10))
    ts, source = logical.read_timestamp(conn, "default", "c")
    assert ts is None and "does not pin reads" in source
    reader = logical.Reader(conn, "default", "c", {"name": "id", "data_type": "Int64"}, ts)
    assert [r["id"] for page in reader.pages(["id"]) for r in page[0]] == [0, 1, 2]
    assert "guarantee_timestamp" not in conn.client().calls[-1]


class RateLimitedConn(Conn):
    """A server that answers ``limited`` calls with Milvus's rate-limit error first (managed Milvus limits reads
    and writes per second; the local stack has no quota to hit, hence the double), then serves them."""

    def __init__(self, limited, error="rate limit exceeded[rate=10]"):
        super().__init__(None)
        self.limited, self.error, self.calls = limited, error, 0

    def _answer(self, what, result):
        self.calls += 1
        if self.calls <= self.limited:
            raise MilvusOperationError("%s failed on Milvus at http://127.0.0.1:19530: %s" % (what, self.error),
                                       milvus_code=8)
        return result

    def rpc(self, what, method, request, db_name=None):  # pylint: disable=unused-argument
        from pymilvus.grpc_gen import milvus_pb2  # pylint: disable=import-outside-toplevel
        return self._answer(what, milvus_pb2.QueryResults(fields_data=response_columns()))

    def client(self, db=None):  # pylint: disable=unused-argument
        return self

    def insert(self, name, rows, **kwargs):  # pylint: disable=unused-argument
        return self._answer("insert into default.c", dict(insert_count=len(rows)))


@pytest.fixture(name="slept")
def slept_fixture(monkeypatch):
    delays = []
    monkeypatch.setattr(logical.time, "sleep", delays.append)
    return delays


def test_a_rate_limited_column_read_waits_and_reads_again(slept):
    """The column path sends Query itself, so pymilvus's retry (``decorators.py`` ``retry_on_rpc_failure``, which
    retries rate limits) does not cover it: the export backs off the same way."""
    conn = RateLimitedConn(limited=3)
    reader = logical.Reader(conn, "default", "c", {"name": "doc", "data_type": "VarChar"}, None)
    assert [c.field_name for c in reader._query_columns("", ["*"], None)][:2] == ["doc", "emb"]  # pylint: disable=protected-access
    assert conn.calls == 4 and slept == [0.5, 1.0, 2.0]


def test_other_errors_and_a_limit_that_outlasts_the_back_off_fail_the_read(slept):
    reader = logical.Reader(RateLimitedConn(limited=1, error="collection not loaded"), "default", "c",
                            {"name": "doc", "data_type": "VarChar"}, None)
    with pytest.raises(MilvusOperationError, match="read default.c failed on Milvus at .*: collection not loaded"):
        reader._query_columns("", ["*"], None)  # pylint: disable=protected-access
    assert slept == []
    with pytest.raises(MilvusOperationError, match="rate limit exceeded"):
        logical.call_rate_limited(lambda: RateLimitedConn(limited=99).rpc("read default.c", "Query", None), 4.0)
    assert slept == [0.5, 1.0, 2.0, 4.0]


def test_a_rate_limited_insert_is_counted_and_sent_again(slept):
    conn = RateLimitedConn(limited=2)
    inserter = logical.Inserter(conn, None, None, "default", "c", SCHEMA)
    inserter._insert([{"doc": "a"}], None)  # pylint: disable=protected-access
    assert inserter.retries == 2 and conn.calls == 3 and slept == [0.5, 1.0]


def desc(name, segments):
    return {"db_name": "default", "name": name, "segments": segments}


def test_auto_takes_binlog_only_when_every_collection_allows_it():
    fmt, reasons = backup.choose_format("auto", True, False, [desc("a", []), desc("b", [])])
    assert fmt == "binlog" and reasons["default.a"].startswith("auto: Milvus's bucket")
    fmt, reasons = backup.choose_format("auto", True, True, [desc("a", None)])
    assert (fmt, reasons) == ("logical", {"default.a": "auto: Milvus Lite keeps no binlogs"})
    fmt, reasons = backup.choose_format("auto", False, False, [desc("a", []), desc("b", [])])
    assert fmt == "logical" and "milvus_storage" in reasons["default.b"]
    fmt, reasons = backup.choose_format("auto", True, False, [desc("a", []), desc("b", None)])
    assert fmt == "logical" and reasons["default.a"].startswith("auto: logical like default.b")
    with pytest.raises(InputError, match="format=binlog cannot back up default.a: Milvus Lite keeps no binlogs"):
        backup.choose_format("binlog", True, True, [desc("a", None)])
    assert backup.choose_format("logical", True, False, [desc("a", [])])[0] == "logical"


def test_restore_method_follows_the_bucket_and_the_server():
    assert logical.logical_method("auto", object(), False) == "bulk_import"
    assert logical.logical_method("auto", None, False) == "insert"
    assert logical.logical_method("auto", object(), True) == "insert"
    assert logical.logical_method("insert", object(), False) == "insert"
    with pytest.raises(InputError, match="logical_restore=bulk_import needs Milvus's bucket"):
        logical.logical_method("bulk_import", None, False)
    with pytest.raises(InputError):
        logical.logical_method("bulk_import", object(), True)


def test_milvus_lite_is_told_apart_from_the_pypi_milvus_standalone():
    assert logical.is_milvus_lite("milvus_lite-3.2.2")
    assert not logical.is_milvus_lite("v2.3.5-lite")
    assert not logical.is_milvus_lite("v2.6.8")


def test_file_keys_are_named_after_database_collection_and_partition():
    assert logical.file_key("db1", "docs", "p_eu", 3) == "logical/db1/docs/p_eu/part-00003.parquet"
    assert logical.file_key("db1", "docs", None, 1) == "logical/db1/docs/_all_partitions/part-00001.parquet"
    assert logical.is_export_record(logical.exported_key("db1", "docs"))


def test_the_stability_digest_of_columns_does_not_depend_on_page_boundaries():
    """Milvus ends iterator pages early where a segment's matches run out, so a second read of unchanged rows
    comes in other pages once segments were sealed or compacted (a first version hashed each page's bytes and
    refused an export of an idle collection 5 times). One changed value in any column changes the digest."""
    import pyarrow  # pylint: disable=import-outside-toplevel
    table = pyarrow.table({
        "id": pyarrow.array([1, 2, 3, 4, 5], pyarrow.int64()),
        "vec": pyarrow.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8], [0.9, 1.0]], pyarrow.list_(pyarrow.float32())),
        "tag": pyarrow.array(["a", None, "c", "d", ""], pyarrow.string()),
        "tags": pyarrow.array([["x"], [], None, ["y", "z"], ["w"]], pyarrow.list_(pyarrow.string())),
        "extra": pyarrow.array(['{"k":1}', None, "{}", "[]", "1"], pyarrow.string()),
        "flag": pyarrow.array([True, False, None, True, False], pyarrow.bool_()),
    })

    def digest(splits):
        pages = logical.PageDigest(rows=False)
        start = 0
        for end in splits + [table.num_rows]:
            pages.add(None, table.slice(start, end - start))
            start = end
        return pages.value()

    assert digest([]) == digest([2]) == digest([1, 3, 4]) == digest([4])
    for column, index, value in (("tag", 1, "b"), ("vec", 2, [0.5, 0.61]), ("tags", 3, ["y"]), ("flag", 2, False)):
        values = table.column(column).to_pylist()
        values[index] = value
        changed = table.set_column(table.schema.get_field_index(column), column,
                                   pyarrow.array(values, table.schema.field(column).type))
        pages = logical.PageDigest(rows=False)
        pages.add(None, changed)
        assert pages.value() != digest([]), column
