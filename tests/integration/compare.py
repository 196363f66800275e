"""Independent comparison of two collections through pymilvus (used by restore and verify tests)."""

import json
import random

from pymilvus import MilvusClient

MAX_ROWS = 16384  # Milvus's query window


def client_for(stack, db):
    return MilvusClient(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"], db_name=db)


def pk_field(desc):
    return [f for f in desc["fields"] if f.get("is_primary")][0]


def ensure_loaded(client, name):
    if str(client.get_load_state(name)["state"]) != "Loaded" and "Loaded" not in str(client.get_load_state(name)["state"]):
        client.load_collection(name)


def all_rows(client, name, fields):
    desc = client.describe_collection(name)
    pk = pk_field(desc)
    expr = '%s != ""' % pk["name"] if pk["type"].name == "VARCHAR" else "%s >= -9223372036854775807" % pk["name"]
    rows = client.query(name, filter=expr, output_fields=fields, limit=MAX_ROWS, consistency_level="Strong")
    return dict((r[pk["name"]], r) for r in rows)


def schema_view(desc):
    return [(f["name"], f["type"], f.get("params"), bool(f.get("is_primary")), bool(f.get("auto_id")),
             bool(f.get("is_partition_key")), f.get("element_type")) for f in desc["fields"]], desc["enable_dynamic_field"]


def compare(src_client, src_name, dst_client, dst_name, sample=25):
    """Assert: same schema, same live row count, the same primary keys, sampled rows equal in every field."""
    src_desc, dst_desc = src_client.describe_collection(src_name), dst_client.describe_collection(dst_name)
    assert schema_view(src_desc) == schema_view(dst_desc)
    assert src_desc["num_shards"] == dst_desc["num_shards"]
    assert src_desc["consistency_level"] == dst_desc["consistency_level"]
    for client, name in ((src_client, src_name), (dst_client, dst_name)):
        ensure_loaded(client, name)
    pk = pk_field(src_desc)["name"]
    src_rows, dst_rows = all_rows(src_client, src_name, [pk]), all_rows(dst_client, dst_name, [pk])
    assert len(src_rows) == len(dst_rows) and set(src_rows) == set(dst_rows), "primary keys differ"
    keys = sorted(src_rows)
    chosen = random.Random(7).sample(keys, min(sample, len(keys)))
    expr = "%s in %s" % (pk, json.dumps(chosen))
    full_src = dict((r[pk], r) for r in src_client.query(src_name, filter=expr, output_fields=["*"], consistency_level="Strong"))
    full_dst = dict((r[pk], r) for r in dst_client.query(dst_name, filter=expr, output_fields=["*"], consistency_level="Strong"))
    assert full_src == full_dst, "sampled rows differ"
    return len(src_rows)
