"""Collections of every shape backups and restores must handle, created on the real Milvus 2.3.5.

Database ``default``: ``quick_setup`` (seed 000: dynamic field, COSINE) and ``catalog``
(4 partitions, JSON, array, deleted rows). Database ``vo_db2``: ``docs_varchar`` (VARCHAR primary
key, dynamic fields, JSON, HNSW/COSINE, alias ``docs_live``), ``events_auto`` (auto_id, partitions,
INT64 array, deleted rows, not loaded) and ``tenants_pk`` (partition key, 4 partitions).

``expected()`` describes what each collection holds, so tests compare restored data to it.
"""

import random

from pymilvus import DataType, MilvusClient

import example_data

DB2 = "vo_db2"


def create_all(client_default, client_db2):
    for name in client_db2.list_collections():  # the database belongs to the tests: start empty
        fresh(client_db2, name)
    example_data.load_quick_setup(client_default, recreate=True)
    example_data.load_catalog(client_default, recreate=True)
    create_docs_varchar(client_db2)
    create_events_auto(client_db2)
    create_tenants_pk(client_db2)


def fresh(client, name):
    if client.has_collection(name):
        for alias in client.describe_collection(name)["aliases"]:  # list_aliases ignores db_name (pymilvus 3)
            client.drop_alias(alias)
        client.drop_collection(name)


def create_docs_varchar(client):
    fresh(client, "docs_varchar")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("doc_id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("meta", DataType.JSON)
    index = client.prepare_index_params()
    index.add_index(field_name="emb", index_type="HNSW", metric_type="COSINE", params={"M": 8, "efConstruction": 64})
    client.create_collection("docs_varchar", schema=schema, index_params=index, consistency_level="Strong")
    rng = random.Random(11)
    client.insert("docs_varchar", [{"doc_id": "doc-%04d" % i, "emb": [rng.uniform(-1, 1) for _d in range(8)],
                                    "meta": {"lang": ["en", "de", "fr"][i % 3], "len": i},
                                    "author": "a%d" % (i % 7), "score": i / 10.0} for i in range(300)])
    client.flush("docs_varchar")
    client.create_alias("docs_varchar", "docs_live")


def create_events_auto(client):
    fresh(client, "events_auto")
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    schema.add_field("event_id", DataType.INT64, is_primary=True, auto_id=True)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("kind", DataType.VARCHAR, max_length=16)
    schema.add_field("nums", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    index = client.prepare_index_params()
    index.add_index(field_name="emb", index_type="FLAT", metric_type="L2")
    client.create_collection("events_auto", schema=schema, index_params=index)
    client.create_partition("events_auto", "p1")
    client.create_partition("events_auto", "p2")
    rng = random.Random(5)
    for part in ("_default", "p1", "p2"):
        client.insert("events_auto", [{"emb": [rng.random() for _d in range(4)], "kind": "%s-%d" % (part, i % 4),
                                       "nums": list(range(i % 5))} for i in range(70)], partition_name=part)
    client.flush("events_auto")
    client.delete("events_auto", filter='kind in ["_default-3", "p1-3", "p2-3"]')
    client.flush("events_auto")
    client.release_collection("events_auto")


def create_tenants_pk(client):
    fresh(client, "tenants_pk")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("tenant", DataType.INT64, is_partition_key=True)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=4)
    index = client.prepare_index_params()
    index.add_index(field_name="emb", index_type="IVF_FLAT", metric_type="IP", params={"nlist": 8})
    client.create_collection("tenants_pk", schema=schema, index_params=index, num_partitions=4)
    rng = random.Random(3)
    client.insert("tenants_pk", [{"pk": i, "tenant": i % 6, "emb": [rng.random() for _d in range(4)]} for i in range(120)])
    client.flush("tenants_pk")


def expected():
    """Per ``db.collection``: rows inserted and live rows after deletes. Rows in the persisted segments lie
    in between: Milvus's compaction drops deleted rows whenever it runs."""
    catalog_deleted = len(range(0, 2000, 97))
    return {
        "default.quick_setup": dict(rows=10, live=10),
        "default.catalog": dict(rows=2000, live=2000 - catalog_deleted),
        DB2 + ".docs_varchar": dict(rows=300, live=300),
        DB2 + ".events_auto": dict(rows=210, live=210 - 3 * len([i for i in range(70) if i % 4 == 3])),
        DB2 + ".tenants_pk": dict(rows=120, live=120),
    }
