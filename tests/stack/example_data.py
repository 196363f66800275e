#!/usr/bin/env python
"""Example data for the demo and the tests.

``quick_setup`` is seed 000's collection exactly (10 rows, dim 5, COSINE, VARCHAR ``color``,
dynamic field enabled), created and loaded the way the seed's prepare Job does it. One
difference: Milvus 2.3 only accepts STL_SORT for a scalar index, where the seed (written for a
newer Milvus) asks for AUTOINDEX on ``id``.

``catalog`` is a multi-partition collection (4 partitions, int64 pk, 16-dim L2 vectors, a JSON
and an array field, some deleted rows) so drills cover more than one segment and partition.

Usage: example_data.py [quick_setup] [catalog] [--recreate]   (connection from MILVUS_URI/USER/PASSWORD)
"""

import argparse
import os
import random
import sys

from pymilvus import DataType, MilvusClient

QUICK_SETUP_ROWS = [
    (0, [0.3580376395471989, -0.6023495712049978, 0.18414012509913835, -0.26286205330961354, 0.9029438446296592],
     "pink_8682"),
    (1, [0.19886812562848388, 0.06023560599112088, 0.6976963061752597, 0.2614474506242501, 0.838729485096104],
     "red_7025"),
    (2, [0.43742130801983836, -0.5597502546264526, 0.6457887650909682, 0.7894058910881185, 0.20785793220625592],
     "orange_6781"),
    (3, [0.3172005263489739, 0.9719044792798428, -0.36981146090600725, -0.4860894583077995, 0.95791889146345],
     "pink_9298"),
    (4, [0.4452349528804562, -0.8757026943054742, 0.8220779437047674, 0.46406290649483184, 0.30337481143159106],
     "red_4794"),
    (5, [0.985825131989184, -0.8144651566660419, 0.6299267002202009, 0.1206906911183383, -0.1446277761879955],
     "yellow_4222"),
    (6, [0.8371977790571115, -0.015764369584852833, -0.31062937026679327, -0.562666951622192, -0.8984947637863987],
     "red_9392"),
    (7, [-0.33445148015177995, -0.2567135004164067, 0.8987539745369246, 0.9402995886420709, 0.5378064918413052],
     "grey_8510"),
    (8, [0.39524717779832685, 0.4000257286739164, -0.5890507376891594, -0.8650502298996872, -0.6140360785406336],
     "white_9381"),
    (9, [0.5718280481994695, 0.24070317428066512, -0.3737913482606834, -0.06726932177492717, -0.6980531615588608],
     "purple_4976"),
]
# The seed's search vector: row 0's vector.
QUICK_SETUP_QUERY = QUICK_SETUP_ROWS[0][1]


def connect(db_name="default"):
    return MilvusClient(uri=os.environ.get("MILVUS_URI", "http://127.0.0.1:19530"),
                        user=os.environ.get("MILVUS_USER", ""), password=os.environ.get("MILVUS_PASSWORD", ""),
                        token=os.environ.get("MILVUS_TOKEN", ""), db_name=db_name)


def scalar_index_type(client):
    return "STL_SORT" if client.get_server_version().startswith("v2.3") else "AUTOINDEX"


def load_quick_setup(client, name="quick_setup", recreate=False):
    if client.has_collection(name):
        if not recreate:
            return name
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field(field_name="id", datatype=DataType.INT64, is_primary=True)
    schema.add_field(field_name="vector", datatype=DataType.FLOAT_VECTOR, dim=5)
    schema.add_field(field_name="color", datatype=DataType.VARCHAR, max_length=512)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="id", index_type=scalar_index_type(client))
    index_params.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
    client.create_collection(collection_name=name, schema=schema, index_params=index_params)
    client.insert(collection_name=name,
                  data=[{"id": i, "vector": v, "color": c} for i, v, c in QUICK_SETUP_ROWS])
    client.flush(name)
    return name


def catalog_rows(count, dim=16, seed=7, start=0):
    rng = random.Random(seed)
    rows = []
    for i in range(start, start + count):
        rows.append({"pk": i, "vec": [rng.uniform(-1, 1) for _dim in range(dim)],
                     "title": "item-%05d" % i, "attrs": {"n": i, "even": i % 2 == 0},
                     "tags": ["t%d" % (i % 5), "g%d" % (i % 3)], "price": round(rng.uniform(1, 500), 2)})
    return rows


def load_catalog(client, name="catalog", rows_per_partition=500, recreate=False):
    if client.has_collection(name):
        if not recreate:
            return name
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=16)
    schema.add_field("title", DataType.VARCHAR, max_length=64)
    schema.add_field("attrs", DataType.JSON)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=16)
    schema.add_field("price", DataType.DOUBLE)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="vec", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 16})
    client.create_collection(name, schema=schema, index_params=index_params)
    partitions = ["p_2023", "p_2024", "p_2025"]
    for part in partitions:
        client.create_partition(name, part)
    for n, part in enumerate(["_default"] + partitions):
        client.insert(name, catalog_rows(rows_per_partition, start=n * rows_per_partition, seed=n), partition_name=part)
    client.flush(name)
    # Deleted rows live in delta logs: a backup must carry them and a restore must honour them.
    client.delete(name, filter="pk in [%s]" % ",".join(str(i) for i in range(0, 4 * rows_per_partition, 97)))
    client.flush(name)
    return name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collections", nargs="*", default=["quick_setup"], choices=["quick_setup", "catalog"])
    parser.add_argument("--recreate", action="store_true", help="drop and recreate existing collections")
    args = parser.parse_args(argv)
    client = connect()
    loaders = {"quick_setup": load_quick_setup, "catalog": load_catalog}
    for name in args.collections:
        loaders[name](client, recreate=args.recreate)
        print("loaded %s: %s rows" % (name, client.get_collection_stats(name)["row_count"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
