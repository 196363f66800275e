# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Everything Milvus says about a collection, read through the raw gRPC API (engine side).

Raw responses keep what pymilvus's dictionaries drop or reshape (field ids, exact type
parameters, index parameter lists, channel names), which a backup needs to recreate a collection
exactly. Servers that lack an RPC (Milvus Lite has no segment API) get ``None`` for that item and
the reason under ``unavailable``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    MilvusOperationError,
    NotFoundError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import (
    consistency_level_name,
    data_type_name,
    describe_collection_proto,
    kv_dict,
    proto_to_dict,
)

try:
    from pymilvus.grpc_gen import common_pb2, milvus_pb2
except ImportError:  # pragma: no cover - MilvusConnection reports the missing library first
    common_pb2 = milvus_pb2 = None

DYNAMIC_FIELD_NAME = "$meta"
INDEX_NOT_FOUND_CODE = 700  # IndexNotExist (Milvus pkg/util/merr)


def load_state_name(value):
    name = common_pb2.LoadState.Name(int(value))
    return name[len("LoadState"):] if name.startswith("LoadState") else name


def segment_state_name(value):
    return common_pb2.SegmentState.Name(int(value))


def segment_level_name(value):
    try:
        return common_pb2.SegmentLevel.Name(int(value))
    except ValueError:
        return str(value)


def unimplemented(exc):
    return "UNIMPLEMENTED" in getattr(exc, "message", str(exc))


def normalize_field(field):
    """User-facing view of one proto FieldSchema dict."""
    params = kv_dict(field.get("type_params"))
    result = dict(
        name=field.get("name"),
        field_id=field.get("fieldID", 0),
        data_type=data_type_name(field.get("data_type", 0)),
        description=field.get("description", ""),
        is_primary=bool(field.get("is_primary_key")),
        auto_id=bool(field.get("autoID")),
        is_partition_key=bool(field.get("is_partition_key")),
        is_clustering_key=bool(field.get("is_clustering_key")),
        is_dynamic=bool(field.get("is_dynamic")),
        nullable=bool(field.get("nullable")),
        params=params,
        element_type=data_type_name(field["element_type"]) if field.get("element_type") else None,
    )
    if "default_value" in field:
        result["default_value"] = list(field["default_value"].values())[0] if field["default_value"] else None
    return result


def normalize_schema(schema):
    fields = [normalize_field(f) for f in schema.get("fields", [])]
    primary = [f["name"] for f in fields if f["is_primary"]]
    partition_key = [f["name"] for f in fields if f["is_partition_key"]]
    return dict(
        description=schema.get("description", ""),
        auto_id=any(f["auto_id"] for f in fields if f["is_primary"]),
        enable_dynamic_field=bool(schema.get("enable_dynamic_field")),
        primary_field=primary[0] if primary else None,
        partition_key_field=partition_key[0] if partition_key else None,
        fields=fields,
        vector_fields=[f["name"] for f in fields if f["data_type"].endswith("Vector")],
    )


def normalize_index(index):
    """User-facing view of one proto IndexDescription dict."""
    params = kv_dict(index.get("params"))
    # Build parameters come nested ({"params": "{\"nlist\": 128}"}, how pymilvus's ORM sends them) or as
    # flat pairs ({"nlist": "128"}, how MilvusClient sends them): the index is the same either way.
    extra = dict((k, v) for k, v in params.items() if k not in ("index_type", "metric_type", "params"))
    try:
        nested = json.loads(params["params"]) if params.get("params") else {}
    except ValueError:
        nested = {}
    if isinstance(nested, dict):
        extra.update(nested)
    return dict(
        index_name=index.get("index_name"),
        field_name=index.get("field_name"),
        index_id=index.get("indexID"),
        index_type=params.get("index_type"),
        metric_type=params.get("metric_type"),
        params=extra,
        state=common_pb2.IndexState.Name(index.get("state", 0)),
        indexed_rows=index.get("indexed_rows", 0),
        total_rows=index.get("total_rows", 0),
        pending_index_rows=index.get("pending_index_rows", 0),
    )


class CollectionReader:
    """Reads one collection; each method is one question to the server."""

    def __init__(self, conn, db_name, name):
        self.conn = conn
        self.db = db_name
        self.name = name
        self.label = "%s.%s" % (db_name, name)

    def rpc(self, what, method, request):
        return self.conn.rpc("%s of %s" % (what, self.label), method, request, db_name=self.db)

    def describe(self):
        return proto_to_dict(describe_collection_proto(self.conn, self.db, self.name))

    def partitions(self):
        resp = self.rpc("show partitions", "ShowPartitions",
                        milvus_pb2.ShowPartitionsRequest(db_name=self.db, collection_name=self.name))
        names = list(resp.partition_names)
        ids = list(resp.partitionIDs) or [0] * len(names)  # Milvus Lite names its partitions but gives no ids
        return [dict(name=n, id=i) for n, i in zip(names, ids)]

    def indexes(self):
        try:
            resp = self.rpc("describe index", "DescribeIndex",
                            milvus_pb2.DescribeIndexRequest(db_name=self.db, collection_name=self.name))
        except (MilvusOperationError, NotFoundError) as exc:
            # 700 is Milvus's IndexNotExist (pkg/util/merr); the texts are older servers' and Milvus Lite's.
            text = exc.message.lower()
            if exc.details.get("milvus_code") in (INDEX_NOT_FOUND_CODE, 25) or "indexnotexist" in text or any(
                    t in text for t in ("index not found", "index doesn't exist", "no index on collection")):
                return []
            raise
        return [proto_to_dict(d) for d in resp.index_descriptions]

    def load_state(self, partition=None):
        request = milvus_pb2.GetLoadStateRequest(db_name=self.db, collection_name=self.name,
                                                 partition_names=[partition] if partition else [])
        return load_state_name(self.rpc("get load state", "GetLoadState", request).state)

    def row_count(self, partition=None):
        """Rows in flushed + growing segments (Milvus ``num_entities``; deletes not subtracted)."""
        if partition:
            resp = self.rpc("get partition statistics", "GetPartitionStatistics",
                            milvus_pb2.GetPartitionStatisticsRequest(db_name=self.db, collection_name=self.name,
                                                                     partition_name=partition))
        else:
            resp = self.rpc("get collection statistics", "GetCollectionStatistics",
                            milvus_pb2.GetCollectionStatisticsRequest(db_name=self.db, collection_name=self.name))
        return int(kv_dict(proto_to_dict(resp).get("stats")).get("row_count", 0))

    def count_rows(self, partition=None):
        """Exact number of live rows (deletes applied), ``count(*)`` with Strong consistency.

        Needs the collection (or partition) to be loaded.
        """
        client = self.conn.client(self.db)
        kwargs = dict(filter="", output_fields=["count(*)"], consistency_level="Strong")
        if partition:
            kwargs["partition_names"] = [partition]
        rows = self.conn.call("count rows of %s" % self.label, client.query, self.name, **kwargs)
        return int(rows[0]["count(*)"])

    def unindexed_rows(self):
        """(rows a search does not reach through the collection's own indexes yet, what they are): flushed rows
        still waiting for their index (DescribeIndex), and rows a query node serves from growing segments
        (GetQuerySegmentInfo; Milvus searches those with a temporary index until the sealed, indexed segment takes
        over). A server that cannot say (Milvus Lite has no query segment info) counts as covered."""
        pending, detail = 0, []
        for index in self.indexes():
            left = max(int(index.get("pending_index_rows", 0) or 0),
                       int(index.get("total_rows", 0) or 0) - int(index.get("indexed_rows", 0) or 0))
            if left > 0:
                pending += left
                detail.append("%d row(s) not yet in index %s" % (left, index.get("index_name")))
        try:
            resp = self.rpc("list query segments", "GetQuerySegmentInfo",
                            milvus_pb2.GetQuerySegmentInfoRequest(dbName=self.db, collectionName=self.name))
        except (MilvusOperationError, NotFoundError):
            resp = None
        growing = sum(s.num_rows for s in (resp.infos if resp is not None else [])
                      if s.state == common_pb2.SegmentState.Growing)
        if growing:
            pending += growing
            detail.append("%d row(s) in growing segments" % growing)
        return pending, "; ".join(detail)

    def segments(self):
        """Persistent (sealed/flushed) segments, from the proxy's GetPersistentSegmentInfo."""
        resp = self.rpc("list segments", "GetPersistentSegmentInfo",
                        milvus_pb2.GetPersistentSegmentInfoRequest(dbName=self.db, collectionName=self.name))
        # storage_version and insert_channel exist from Milvus 2.5/2.6 on (0 and "" before).
        return [dict(id=s.segmentID, partition_id=s.partitionID, num_rows=s.num_rows,
                     state=segment_state_name(s.state), level=segment_level_name(s.level),
                     storage_version=int(getattr(s, "storage_version", 0) or 0),
                     channel=getattr(s, "insert_channel", "") or "")
                for s in resp.infos]


def describe_collection(conn, db_name, name, exact_count=True, segments=False, partition_details=True):
    """A collection's full description.

    Keys ``schema_proto`` and ``index_protos`` carry the raw proto dicts (milvus-backup naming)
    for backups; user-facing output drops them (see :func:`public_view`).
    """
    reader = CollectionReader(conn, db_name, name)
    desc = reader.describe()
    schema_proto = desc.get("schema", {})
    unavailable = {}
    result = dict(
        db_name=db_name,
        name=name,
        id=desc.get("collectionID", 0),
        description=schema_proto.get("description", ""),
        schema=normalize_schema(schema_proto),
        shards_num=desc.get("shards_num", 0),
        consistency_level=consistency_level_name(desc.get("consistency_level", 0)),
        properties=kv_dict(desc.get("properties")),
        virtual_channels=desc.get("virtual_channel_names", []),
        aliases=sorted(desc.get("aliases", [])),
        created_timestamp=desc.get("created_timestamp", 0),
        schema_proto=schema_proto,
        describe_proto=dict((k, v) for k, v in desc.items() if k not in ("schema", "status")),
    )
    index_protos = reader.indexes()
    result["index_protos"] = index_protos
    result["indexes"] = [normalize_index(i) for i in index_protos]
    result["load_state"] = reader.load_state()
    result["row_count"] = reader.row_count()
    result["row_count_exact"] = None
    if exact_count and result["load_state"] == "Loaded":
        result["row_count_exact"] = reader.count_rows()
    elif exact_count:
        unavailable["row_count_exact"] = "collection is not loaded (count(*) needs a loaded collection)"
    partitions = reader.partitions()
    if partition_details:
        for part in partitions:
            part["row_count"] = reader.row_count(part["name"])
            part["load_state"] = reader.load_state(part["name"])
    result["partitions"] = partitions
    result["segments"] = None
    if segments:
        try:
            result["segments"] = reader.segments()
        except MilvusOperationError as exc:
            if not unimplemented(exc):
                raise
            unavailable["segments"] = "the server does not implement GetPersistentSegmentInfo"
    result["unavailable"] = unavailable
    return result


def public_view(description):
    """Drop the raw proto payloads from a :func:`describe_collection` result."""
    return dict((k, v) for k, v in description.items()
                if k not in ("schema_proto", "index_protos", "describe_proto"))
